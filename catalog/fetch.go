package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Fetcher reads the bytes at a target: an absolute file path or a URL.
type Fetcher interface {
	Fetch(ctx context.Context, target string) ([]byte, error)
}

// sessioner is a Fetcher that caches, and hands out a fresh cache per
// refresh.
type sessioner interface {
	Session() Fetcher
}

// session returns the fetcher to use for one refresh.
func session(f Fetcher) Fetcher {
	if s, ok := f.(sessioner); ok {
		return s.Session()
	}
	return f
}

// Session gives the git fetcher a fresh clone cache for one refresh.
func (f Fetchers) Session() Fetcher {
	if f.Git != nil {
		f.Git = session(f.Git)
	}
	return f
}

// Fetchers routes a target to the fetcher of its scheme. Plain http(s)
// URLs are read with the catalog's own client, which obeys the Policy in
// the context (see netsafe.go).
type Fetchers struct {
	// Git reads repository URLs; nil turns git targets off.
	Git Fetcher
}

// Fetch reads target: file paths from disk, git repository URLs through Git,
// other http(s) URLs with a GET. At most MaxDocumentBytes are read.
func (f Fetchers) Fetch(ctx context.Context, target string) ([]byte, error) {
	switch {
	case isGitTarget(target):
		if f.Git == nil {
			return nil, fmt.Errorf("git locations are not configured")
		}
		return f.Git.Fetch(ctx, target)
	case strings.HasPrefix(target, "http://"), strings.HasPrefix(target, "https://"):
		return f.fetchHTTP(ctx, target)
	case strings.HasPrefix(target, BuiltinScheme+":"):
		return readBuiltin(policyFrom(ctx).builtin, target)
	case strings.HasPrefix(target, "file://"):
		u, err := url.Parse(target)
		if err != nil {
			return nil, err
		}
		return readLimited(u.Path)
	}
	return readLimited(target)
}

// BuiltinScheme is the URL scheme of the files Paved ships:
// embedded:///go-service/template.yaml.
const BuiltinScheme = "embedded"

// builtinPath is the path inside the built-in files of an embedded URL.
func builtinPath(target string) (string, error) {
	u, err := url.Parse(target)
	p := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(u.Path, "/")), "/")
	if err != nil || u.Scheme != BuiltinScheme || u.Host != "" || !fs.ValidPath(p) {
		return "", fmt.Errorf("%s is not an %s:///PATH URL", target, BuiltinScheme)
	}
	return p, nil
}

func readBuiltin(files fs.FS, target string) ([]byte, error) {
	p, err := builtinPath(target)
	if err != nil {
		return nil, err
	}
	if files == nil {
		return nil, fmt.Errorf("%s: this build has no built-in files", target)
	}
	fh, err := files.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return limitRead(fh, target)
}

func readLimited(p string) ([]byte, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return limitRead(fh, p)
}

func limitRead(r io.Reader, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, MaxDocumentBytes)
	}
	return data, nil
}

// fetchTimeout bounds one plain HTTP read.
const fetchTimeout = time.Minute

func (f Fetchers) fetchHTTP(ctx context.Context, target string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	if c, ok := policyFrom(ctx).credentialFor(req.URL); ok && req.URL.User == nil {
		c.authorize(req)
	}
	resp, err := safeClient.Do(req)
	if err != nil {
		return nil, redactErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", redactURL(target), resp.Status)
	}
	return limitRead(resp.Body, redactURL(target))
}

// redactErr hides credentials in a *url.Error's URL.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, redactURL(ue.URL), ue.Err)
	}
	return err
}

// guarded reads only what its policy allows, with the policy in the
// context, so the dialer and redirects obey it too.
type guarded struct {
	policy *Policy
	inner  Fetcher
}

func (g guarded) Fetch(ctx context.Context, target string) ([]byte, error) {
	if err := g.policy.CheckTarget(target); err != nil {
		return nil, err
	}
	return g.inner.Fetch(withPolicy(ctx, g.policy), target)
}

// isGitTarget reports whether target names a file inside a git repository:
// "<repository URL ending in .git>/<path in the repository>".
func isGitTarget(target string) bool {
	_, _, ok := splitGitTarget(target)
	return ok
}

// splitGitTarget splits "https://host/org/repo.git/dir/catalog-info.yaml"
// into the repository URL and the path inside it (catalog-info.yaml when
// the target is the repository itself).
func splitGitTarget(target string) (repo, file string, ok bool) {
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") && !strings.HasPrefix(target, "file://") {
		return "", "", false
	}
	i := strings.Index(target, ".git/")
	switch {
	case i >= 0:
		return target[:i+4], strings.TrimPrefix(target[i+4:], "/"), true
	case strings.HasSuffix(target, ".git"):
		return target, "catalog-info.yaml", true
	}
	return "", "", false
}

// resolveTarget resolves ref (from a Location entity or a placeholder)
// against the target of the file that contains it.
func resolveTarget(base, ref string) string {
	if strings.Contains(ref, "://") || filepath.IsAbs(ref) && !strings.Contains(base, "://") {
		return ref
	}
	if repo, file, ok := splitGitTarget(base); ok {
		return repo + "/" + strings.TrimPrefix(path.Join(path.Dir(file), ref), "/")
	}
	if u, err := url.Parse(base); err == nil && u.Scheme != "" {
		r, err := url.Parse(ref)
		if err == nil {
			return u.ResolveReference(r).String()
		}
	}
	return filepath.Join(filepath.Dir(base), ref)
}
