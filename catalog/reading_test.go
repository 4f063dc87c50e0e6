package catalog_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// secret is what must never come out of Paved: it stands for the webhook
// CA's private key, /etc/shadow or /etc/passwd.
const secret = "-----BEGIN EC PRIVATE KEY----- not-for-your-eyes"

func policy(rules catalog.ReadingRules, kinds ...catalog.KindRule) *catalog.Policy {
	return catalog.NewPolicy(catalog.Options{Reading: rules, Rules: kinds})
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func component(description string) string {
	return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: leaky\n  description: " + description +
		"\nspec: {type: service, lifecycle: production, owner: team-a}\n"
}

// refresh registers target and reads it once with p; it returns what the
// refresh said and every entity stored, as JSON text, to grep for secrets.
func refresh(t *testing.T, p *catalog.Policy, typ, target string) (catalog.RefreshResult, error, string) {
	t.Helper()
	ctx := context.Background()
	store := catalog.NewStore(testsupport.OpenDB(t, database.SQLite))
	in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{Git: catalog.NewGitFetcher()}, Policy: p, Log: testsupport.DiscardLogger()}
	loc, err := store.CreateLocation(ctx, typ, target)
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Refresh(ctx, loc, true)
	page, qerr := store.QueryEntities(ctx, catalog.Query{})
	if qerr != nil {
		t.Fatal(qerr)
	}
	var all strings.Builder
	for _, e := range page.Items {
		b, _ := json.Marshal(e)
		all.Write(b)
	}
	return res, err, all.String()
}

// Placeholders in a file location are read only inside the allowed
// directories: not an absolute path elsewhere, not ../ out of it.
func TestPlaceholdersStayInsideAllowedDirectories(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "catalog")
	secretFile := writeFile(t, filepath.Join(root, "data", "webhook-ca-key.pem"), secret)
	for name, placeholder := range map[string]string{
		"Absolute":    "{$text: " + secretFile + "}",
		"FileURL":     "{$text: 'file://" + secretFile + "'}",
		"ClimbingOut": "{$text: ../../data/webhook-ca-key.pem}",
	} {
		t.Run(name, func(t *testing.T) {
			file := writeFile(t, filepath.Join(allowed, name, "catalog-info.yaml"), component(placeholder))
			res, err, stored := refresh(t, policy(catalog.ReadingRules{Allow: []catalog.ReadAllow{{Dir: allowed}}}), catalog.LocationFile, file)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "outside the allowed directories") || strings.Contains(res.Problems[0], "not-for-your-eyes") {
				t.Errorf("problems = %q, want the placeholder refused by the reading rules", res.Problems)
			}
			if strings.Contains(stored, "not-for-your-eyes") {
				t.Errorf("the secret reached a stored entity: %s", stored)
			}
		})
	}
	// Inside the allowed directory, a placeholder still works.
	writeFile(t, filepath.Join(allowed, "ok", "description.txt"), "hello")
	file := writeFile(t, filepath.Join(allowed, "ok", "catalog-info.yaml"), component("{$text: ./description.txt}"))
	if res, err, stored := refresh(t, policy(catalog.ReadingRules{Allow: []catalog.ReadAllow{{Dir: allowed}}}), catalog.LocationFile, file); err != nil ||
		len(res.Problems) != 0 || !strings.Contains(stored, `"description":"hello"`) {
		t.Errorf("allowed placeholder: %+v %v %s", res, err, stored)
	}
}

// A remote catalog file cannot make Paved read its own files.
func TestRemoteFileCannotReadLocalFiles(t *testing.T) {
	secretFile := writeFile(t, filepath.Join(t.TempDir(), "webhook-ca-key.pem"), secret)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(component("{$text: 'file://" + secretFile + "'}")))
	}))
	defer srv.Close()
	rules := catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: "127.0.0.1"}}, Networks: []string{"127.0.0.0/8"}}
	res, err, stored := refresh(t, policy(rules), catalog.LocationURL, srv.URL+"/catalog-info.yaml")
	if err != nil || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "not allowed") || strings.Contains(stored, "not-for-your-eyes") {
		t.Errorf("refresh = %+v, %v; stored %s", res, err, stored)
	}
}

// URL reads obey the host rules, the network rules at dial time and the
// redirect rules.
func TestURLReadingRules(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch {
		case r.URL.Path == "/redirect-away":
			http.Redirect(w, r, "http://localhost:1/elsewhere.yaml", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/loop"):
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
		default:
			w.Write([]byte(component("plain")))
		}
	}))
	defer srv.Close()
	host := "127.0.0.1"
	tests := []struct {
		Name  string
		Rules catalog.ReadingRules
		Path  string
		Want  string // in the refresh error; "" for success
	}{
		{"NoRules", catalog.ReadingRules{}, "/catalog-info.yaml", "host " + strings.TrimPrefix(srv.URL, "http://") + " is not allowed"},
		{"LoopbackRefusedAtDial", catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: host}}}, "/catalog-info.yaml", "dialing 127.0.0.1 is not allowed"},
		{"PathOutsidePrefix", catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: host, Paths: []string{"/team-a/"}}}, Networks: []string{"127.0.0.1/32"}}, "/team-a/../catalog-info.yaml", "is not allowed"},
		{"RedirectToOtherHost", catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: host}}, Networks: []string{"127.0.0.0/8"}}, "/redirect-away", "redirect: reading http://localhost:1/elsewhere.yaml is not allowed"},
		{"TooManyRedirects", catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: host}}, Networks: []string{"127.0.0.0/8"}}, "/loop", "stopped after 5 redirects"},
		{"Allowed", catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: host}}, Networks: []string{"127.0.0.0/8"}}, "/catalog-info.yaml", ""},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			_, err, stored := refresh(t, policy(tt.Rules), catalog.LocationURL, srv.URL+tt.Path)
			switch {
			case tt.Want == "" && (err != nil || !strings.Contains(stored, "leaky")):
				t.Errorf("refresh: %v, stored %s", err, stored)
			case tt.Want != "" && (err == nil || !strings.Contains(err.Error(), tt.Want)):
				t.Errorf("refresh error = %v, want it to say %q", err, tt.Want)
			}
		})
	}
}

// Git clones dial through the same checks.
func TestGitReadingRules(t *testing.T) {
	srv := testsupport.NewGitServer(t)
	srv.CreateRepo(t, "shop")
	pushFiles(t, srv, "shop", map[string]string{"catalog-info.yaml": component("from git")})
	target := strings.Replace(srv.RepoURL("shop"), "://", "://"+srv.User+":"+srv.Token+"@", 1) + "/catalog-info.yaml"
	_, err, _ := refresh(t, policy(catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: "127.0.0.1"}}}), catalog.LocationURL, target)
	if err == nil || !strings.Contains(err.Error(), "dialing 127.0.0.1 is not allowed") || strings.Contains(err.Error(), srv.Token) {
		t.Errorf("clone from a loopback host without networks: %v, want refused at dial without the token", err)
	}
	if _, err, stored := refresh(t, policy(catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: "127.0.0.1"}}, Networks: []string{"127.0.0.0/8"}}), catalog.LocationURL, target); err != nil || !strings.Contains(stored, "from git") {
		t.Errorf("allowed clone: %v, %s", err, stored)
	}
}

func TestAddrAllowed(t *testing.T) {
	p := policy(catalog.ReadingRules{Networks: []string{"10.1.0.0/16"}})
	for addr, allowed := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true, "10.1.2.3": true,
		"127.0.0.1": false, "::1": false, "169.254.169.254": false, "fe80::1": false, "0.0.0.0": false, "::": false,
		"10.2.0.1": false, "192.168.1.1": false, "172.16.0.1": false, "100.64.0.1": false, "fd00::1": false, "::ffff:127.0.0.1": false,
	} {
		if err := p.AddrAllowed(netip.MustParseAddr(addr)); (err == nil) != allowed {
			t.Errorf("AddrAllowed(%s) = %v, want allowed %v", addr, err, allowed)
		}
	}
}

// Kind rules reject entities of kinds a location may not provide, naming
// the rule that would allow them, and keep the others.
func TestKindRules(t *testing.T) {
	dir := t.TempDir()
	template := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: sneaky}\nspec: {type: service, steps: []}\n"
	file := writeFile(t, filepath.Join(dir, "catalog-info.yaml"), component("ok")+"---\n"+template)
	rules := catalog.ReadingRules{Allow: []catalog.ReadAllow{{Dir: dir}}}
	res, err, stored := refresh(t, policy(rules, catalog.KindRule{Allow: []string{"Component"}}), catalog.LocationFile, file)
	if err != nil || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "kind Template is not allowed from location file:"+file) ||
		!strings.Contains(res.Problems[0], "catalog.rules: [{allow: [Template]}]") || strings.Contains(stored, "sneaky") || !strings.Contains(stored, "leaky") {
		t.Errorf("refresh = %+v, %v, stored %s", res, err, stored)
	}
	// A rule for this location's targets allows Templates from it.
	perLocation := catalog.KindRule{Allow: []string{"Template"}, Locations: []catalog.LocationPattern{{Type: "file", Target: dir + "/*"}}}
	if res, err, stored := refresh(t, policy(rules, catalog.KindRule{Allow: []string{"Component"}}, perLocation), catalog.LocationFile, file); err != nil ||
		len(res.Problems) != 0 || !strings.Contains(stored, "sneaky") {
		t.Errorf("with a per-location rule: %+v, %v", res, err)
	}
}

// A file that is not a catalog file is reported as such, by line, never
// quoted.
func TestNotACatalogFileIsNotQuoted(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "shadow"), "root:$6$not-for-your-eyes:19000:0:99999:7:::\n---\nnot-for-your-eyes\n")
	res, err, _ := refresh(t, policy(catalog.ReadingRules{Allow: []catalog.ReadAllow{{Dir: dir}}}), catalog.LocationFile, file)
	if err != nil || len(res.Problems) != 2 || !strings.Contains(res.Problems[0], "line 1: not a catalog entity") || !strings.Contains(res.Problems[1], "a YAML string") ||
		strings.Contains(res.Problems[1], "not-for-your-eyes") || strings.Contains(res.Problems[0], "not-for-your-eyes") {
		t.Errorf("refresh = %+v, %v", res, err)
	}
}

func TestCheckTargetNamesTheRule(t *testing.T) {
	err := policy(catalog.ReadingRules{}).CheckTarget("/etc/shadow")
	if paved.ErrorCode(err) != paved.CodeForbidden || !strings.Contains(err.Error(), "allow it with catalog.reading.allow: [{dir: /etc}]") {
		t.Errorf("CheckTarget(/etc/shadow) = %v", err)
	}
	err = policy(catalog.ReadingRules{}).CheckTarget("https://user:hunter2@git.example.com/org/repo.git/catalog-info.yaml")
	if paved.ErrorCode(err) != paved.CodeForbidden || !strings.Contains(err.Error(), "{host: git.example.com}") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("CheckTarget(url) = %v", err)
	}
	if err := policy(catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: "*.example.com"}}}).CheckTarget("https://git.example.com:8443/x.yaml"); err != nil {
		t.Errorf("wildcard host: %v", err)
	}
	if err := policy(catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: "*.example.com"}}}).CheckTarget("https://example.com.evil.io/x.yaml"); err == nil {
		t.Error("a look-alike host passed the wildcard")
	}
	withPort := policy(catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: "git.example.com:8443"}}})
	if err := withPort.CheckTarget("https://git.example.com:8443/x.yaml"); err != nil {
		t.Errorf("host:port rule, same port: %v", err)
	}
	if err := withPort.CheckTarget("https://git.example.com/x.yaml"); err == nil {
		t.Error("a host:port rule allowed another port")
	}
	if err := policy(catalog.ReadingRules{}).CheckTarget("ftp://example.com/x"); paved.ErrorCode(err) != paved.CodeForbidden {
		t.Errorf("ftp: %v", err)
	}
}

// Integrations authenticate reads, so locations need no user info: a git
// clone with the generic git integration, and a raw file with GitHub's and
// GitLab's token headers.
func TestIntegrations(t *testing.T) {
	srv := testsupport.NewGitServer(t)
	srv.CreateRepo(t, "shop")
	pushFiles(t, srv, "shop", map[string]string{"catalog-info.yaml": component("from git")})
	host := strings.TrimPrefix(strings.TrimPrefix(srv.RepoURL("shop"), "http://"), "https://")
	host = host[:strings.Index(host, "/")]
	rules := catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: "127.0.0.1"}}, Networks: []string{"127.0.0.0/8"}}
	withGit := catalog.NewPolicy(catalog.Options{Reading: rules, Integrations: catalog.Integrations{Git: []catalog.Integration{{Host: host, Username: srv.User, Password: srv.Token}}}})
	if _, err, stored := refresh(t, withGit, catalog.LocationURL, srv.RepoURL("shop")+"/catalog-info.yaml"); err != nil || !strings.Contains(stored, "from git") {
		t.Errorf("clone with the git integration: %v", err)
	}
	if _, err, _ := refresh(t, policy(rules), catalog.LocationURL, srv.RepoURL("shop")+"/catalog-info.yaml"); err == nil {
		t.Error("clone without credentials succeeded; the test server should demand them")
	}

	var got http.Header
	raw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Write([]byte(component("raw")))
	}))
	defer raw.Close()
	rawHost := strings.TrimPrefix(raw.URL, "http://")
	for _, tt := range []struct {
		Name         string
		In           catalog.Integrations
		Header, Want string
	}{
		{"GitHub", catalog.Integrations{GitHub: []catalog.Integration{{Host: rawHost, Token: "ghp_x"}}}, "Authorization", "token ghp_x"},
		{"GitLab", catalog.Integrations{GitLab: []catalog.Integration{{Host: "127.0.0.1", Token: "glpat_x"}}}, "Private-Token", "glpat_x"},
	} {
		t.Run(tt.Name, func(t *testing.T) {
			p := catalog.NewPolicy(catalog.Options{Reading: rules, Integrations: tt.In})
			if _, err, _ := refresh(t, p, catalog.LocationURL, raw.URL+"/catalog-info.yaml"); err != nil || got.Get(tt.Header) != tt.Want {
				t.Errorf("refresh: %v; %s = %q, want %q", err, tt.Header, got.Get(tt.Header), tt.Want)
			}
		})
	}
}
