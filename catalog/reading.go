package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/paved-dev/paved"
)

// ReadingRules say what ingestion may read, following Backstage's
// backend.reading.allow: hosts (with optional path prefixes) for url
// locations and placeholders, directories for file locations, and the
// private networks fetches may reach. With none, nothing is read.
type ReadingRules struct {
	Allow []ReadAllow `yaml:"allow"`
	// Networks are address ranges (CIDR) that fetches may dial although
	// they are loopback, private or link-local: an internal git server.
	Networks []string `yaml:"networks"`
}

// ReadAllow allows one host or one directory.
type ReadAllow struct {
	// Host is host or host:port; *.example.com allows every subdomain.
	Host string `yaml:"host"`
	// Paths are URL path prefixes on Host; none allows every path.
	Paths []string `yaml:"paths"`
	// Dir is an absolute directory file locations may read, with
	// everything below it.
	Dir string `yaml:"dir"`
}

// KindRule allows entity kinds, from every location or from those matching
// Locations (Backstage's catalog.rules).
type KindRule struct {
	Allow     []string          `yaml:"allow"`
	Locations []LocationPattern `yaml:"locations"`
}

// LocationPattern matches registered locations by type and target; a
// target ending in * matches every target with that prefix.
type LocationPattern struct {
	Type   string `yaml:"type"`
	Target string `yaml:"target"`
}

// validate checks the rules; fields are named as in the config file.
func (r ReadingRules) validate(d *paved.Details) {
	for i, a := range r.Allow {
		field := fmt.Sprintf("catalog.reading.allow[%d]", i)
		switch {
		case (a.Host == "") == (a.Dir == ""):
			d.Add(field, "give a host or a dir")
		case a.Dir != "" && !filepath.IsAbs(a.Dir):
			d.Add(field+".dir", "%q is not an absolute path", a.Dir)
		case a.Host != "" && strings.ContainsAny(a.Host, "/@ "):
			d.Add(field+".host", "%q is not a host or host:port (put paths under paths)", a.Host)
		}
		for j, p := range a.Paths {
			if !strings.HasPrefix(p, "/") {
				d.Add(fmt.Sprintf("%s.paths[%d]", field, j), "%q does not start with /", p)
			}
		}
	}
	for i, n := range r.Networks {
		if _, err := netip.ParsePrefix(n); err != nil {
			d.Add(fmt.Sprintf("catalog.reading.networks[%d]", i), "%q is not a CIDR range such as 10.0.0.0/8", n)
		}
	}
}

func validateKindRules(rules []KindRule, d *paved.Details) {
	for i, r := range rules {
		field := fmt.Sprintf("catalog.rules[%d]", i)
		if len(r.Allow) == 0 {
			d.Add(field+".allow", "name at least one kind")
		}
		for j, l := range r.Locations {
			if l.Type != LocationFile && l.Type != LocationURL {
				d.Add(fmt.Sprintf("%s.locations[%d].type", field, j), "%q is not file or url", l.Type)
			}
		}
	}
}

// Policy is the compiled reading rules: what one ingester may read and
// accept. The zero Policy reads nothing and dials no private address.
type Policy struct {
	hosts []ReadAllow
	dirs  []string
	nets  []netip.Prefix
	rules []KindRule
	creds map[string]credential
	// builtin are the files Paved itself ships (the golden-path
	// templates), read as embedded:/// URLs; nil has none.
	builtin fs.FS
}

// WithBuiltin returns the policy with files Paved ships, readable as
// embedded:///PATH (always allowed: they are part of the binary).
func (p *Policy) WithBuiltin(files fs.FS) *Policy {
	c := *p
	c.builtin = files
	return &c
}

// NewPolicy compiles validated options. Without kind rules, the built-in
// kinds are allowed from every location.
func NewPolicy(o Options) *Policy {
	p := &Policy{rules: o.Rules, creds: o.Integrations.credentials()}
	for _, a := range o.Reading.Allow {
		if a.Dir != "" {
			p.dirs = append(p.dirs, realDir(a.Dir))
		} else {
			p.hosts = append(p.hosts, ReadAllow{Host: strings.ToLower(a.Host), Paths: a.Paths})
		}
	}
	for _, n := range o.Reading.Networks {
		if pr, err := netip.ParsePrefix(n); err == nil {
			p.nets = append(p.nets, pr.Masked())
		}
	}
	if len(p.rules) == 0 {
		var kinds []string
		for k := range Kinds() {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		p.rules = []KindRule{{Allow: kinds}}
	}
	return p
}

// WithDir returns a copy of p that may also read dir: the CLI's import of
// a local file allows its directory for that import only.
func (p *Policy) WithDir(dir string) *Policy {
	out := *p
	out.dirs = append(slices.Clip(p.dirs), realDir(dir))
	return &out
}

// realDir is dir made absolute, cleaned and with symlinks resolved (when
// it exists), so that a link cannot lead a read outside it.
func realDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// errNotAllowed is the class of every refusal to read.
var errNotAllowed = errors.New("not allowed by catalog.reading")

// CheckTarget reports whether target (a file path, a file:// URL, an
// http(s) URL or a git target) may be read; a refusal is a CodeForbidden
// error naming the rule that would allow it.
func (p *Policy) CheckTarget(target string) error {
	if !strings.Contains(target, "://") {
		return p.checkFile(target)
	}
	u, err := url.Parse(target)
	if err != nil {
		return paved.Errorf(paved.CodeInvalid, "%s is not a URL", redactURL(target))
	}
	switch u.Scheme {
	case "file":
		return p.checkFile(u.Path)
	case "http", "https":
		return p.checkURL(u)
	case BuiltinScheme:
		return nil
	}
	return paved.Errorf(paved.CodeForbidden, "reading %s:// URLs is not supported: %w", u.Scheme, errNotAllowed)
}

// checkFile allows a path inside an allowed directory, after resolving
// symlinks and "..".
func (p *Policy) checkFile(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	real := abs
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		real = r
	} else if !errors.Is(err, os.ErrNotExist) {
		return paved.Errorf(paved.CodeForbidden, "reading %s: %v", abs, err)
	}
	for _, d := range p.dirs {
		if real == d || strings.HasPrefix(real, d+string(filepath.Separator)) || d == string(filepath.Separator) {
			return nil
		}
	}
	return paved.Errorf(paved.CodeForbidden, "reading %s is %w: it is outside the allowed directories (%s); allow it with catalog.reading.allow: [{dir: %s}]",
		abs, errNotAllowed, listOrNone(p.dirs), filepath.Dir(abs))
}

// checkURL allows a URL whose host (and path) an allow entry names.
func (p *Policy) checkURL(u *url.URL) error {
	host := strings.ToLower(u.Host)
	for _, a := range p.hosts {
		if hostMatches(a.Host, host, strings.ToLower(u.Hostname())) && pathAllowed(a.Paths, u.Path) {
			return nil
		}
	}
	return paved.Errorf(paved.CodeForbidden, "reading %s is %w: host %s is not allowed; allow it with catalog.reading.allow: [{host: %s}]",
		redactURL(u.String()), errNotAllowed, u.Host, u.Host)
}

// hostMatches matches a rule's host against a URL's host:port and host;
// a rule without a port allows every port.
func hostMatches(rule, hostPort, hostname string) bool {
	target := hostname
	if _, _, err := net.SplitHostPort(rule); err == nil {
		target = hostPort
	}
	if suffix, ok := strings.CutPrefix(rule, "*."); ok {
		return strings.HasSuffix(target, "."+suffix)
	}
	return target == rule
}

func pathAllowed(prefixes []string, path string) bool {
	if len(prefixes) == 0 {
		return true
	}
	clean := "/" + strings.TrimPrefix(filepathSlashClean(path), "/")
	for _, pre := range prefixes {
		if strings.HasPrefix(clean, pre) {
			return true
		}
	}
	return false
}

// filepathSlashClean cleans a URL path, so /allowed/../secret does not
// pass as /allowed.
func filepathSlashClean(p string) string {
	return filepath.ToSlash(filepath.Clean("/" + p))
}

// AddrAllowed reports whether a fetch may dial ip: public addresses, and
// loopback, private, link-local or unspecified ones only inside an allowed
// network.
func (p *Policy) AddrAllowed(ip netip.Addr) error {
	ip = ip.Unmap()
	if !special(ip) {
		return nil
	}
	for _, n := range p.nets {
		if n.Contains(ip) {
			return nil
		}
	}
	return fmt.Errorf("dialing %s is %w: a loopback, private or link-local address; allow its range in catalog.reading.networks", ip, errNotAllowed)
}

// cgnat is the shared address space (RFC 6598), private in practice.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func special(ip netip.Addr) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || cgnat.Contains(ip)
}

// KindAllowed reports whether an entity of kind may come from loc; a
// refusal names the rule that would allow it.
func (p *Policy) KindAllowed(kind string, loc *Location) error {
	for _, r := range p.rules {
		if !slices.ContainsFunc(r.Allow, func(k string) bool { return strings.EqualFold(k, kind) }) {
			continue
		}
		if len(r.Locations) == 0 || slices.ContainsFunc(r.Locations, func(l LocationPattern) bool { return l.matches(loc) }) {
			return nil
		}
	}
	return paved.Errorf(paved.CodeForbidden, "kind %s is not allowed from location %s:%s; allow it with catalog.rules: [{allow: [%s]}]",
		kind, loc.Type, redactURL(loc.Target), kind)
}

func (l LocationPattern) matches(loc *Location) bool {
	if loc == nil || l.Type != loc.Type {
		return false
	}
	if prefix, ok := strings.CutSuffix(l.Target, "*"); ok {
		return strings.HasPrefix(loc.Target, prefix)
	}
	return l.Target == loc.Target
}

func listOrNone(dirs []string) string {
	if len(dirs) == 0 {
		return "none configured"
	}
	return strings.Join(dirs, ", ")
}
