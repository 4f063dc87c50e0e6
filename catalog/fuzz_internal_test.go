package catalog

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzPlaceholderTarget resolves placeholder targets against a file inside
// an allowed directory: whatever the placeholder says, a target the policy
// accepts is inside that directory or on the allowed host.
func FuzzPlaceholderTarget(f *testing.F) {
	for _, seed := range []string{"./x.md", "../../../etc/passwd", "/etc/shadow", "file:///etc/shadow", "https://evil.example/x",
		"..", "a/../../b", "//evil.example/x", "https://docs.example.com/../x", "~/x", "\x00", "%2e%2e/x"} {
		f.Add("/srv/catalog/team/catalog-info.yaml", seed)
		f.Add("https://docs.example.com/catalog/catalog-info.yaml", seed)
	}
	p := NewPolicy(Options{Reading: ReadingRules{Allow: []ReadAllow{{Dir: "/srv/catalog"}, {Host: "docs.example.com", Paths: []string{"/catalog/"}}}}})
	f.Fuzz(func(t *testing.T, base, ref string) {
		target := resolveTarget(base, ref)
		if p.CheckTarget(target) != nil {
			return
		}
		inside := func(path string) {
			abs, _ := filepath.Abs(path)
			if !strings.HasPrefix(abs, "/srv/catalog/") && abs != "/srv/catalog" {
				t.Fatalf("%q from %q resolved to %q, outside the allowed directory, and was allowed", ref, base, abs)
			}
		}
		switch {
		case !strings.Contains(target, "://"):
			inside(target)
		case strings.HasPrefix(target, "file://"):
			u, err := url.Parse(target)
			if err != nil {
				t.Fatalf("%q was allowed but does not parse: %v", target, err)
			}
			inside(u.Path)
		default:
			u, err := url.Parse(target)
			if err != nil || !strings.EqualFold(u.Hostname(), "docs.example.com") || !strings.HasPrefix(filepathSlashClean(u.Path), "/catalog/") {
				t.Fatalf("%q from %q resolved to %q and was allowed", ref, base, target)
			}
		}
	})
}
