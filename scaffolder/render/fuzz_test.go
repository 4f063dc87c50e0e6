package render

import "testing"

// FuzzRender: any template text renders or fails with an error, never a
// panic, within the engine's bounds.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{"${{ values.name | upper }}", "{% for x in values.list %}${{ x }}{% endfor %}",
		"${{ github.sha }}", "{% raw %}${{ x }}{% endraw %}", "${{ values | dump(2) }}", "{% if %}", "${{ 'a' | parseEntityRef }}",
		"${{ values.repoUrl | parseRepoUrl }}", "${{ {a: 1} }}", "${{ range(5) | join(',') }}"} {
		f.Add(seed)
	}
	scope := map[string]any{"values": map[string]any{"name": "svc", "list": []any{"a", "b"}, "repoUrl": "github.com?owner=o&repo=r"}}
	e := &Engine{}
	f.Fuzz(func(t *testing.T, src string) {
		out, _, err := e.Render(src, scope, Options{})
		if err == nil && len(out) > MaxOutput {
			t.Fatalf("%d bytes of output", len(out))
		}
		_, _ = e.Input(map[string]any{"v": src}, scope)
	})
}
