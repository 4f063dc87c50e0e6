package render

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	scope := map[string]any{"values": map[string]any{"name": "svc", "enabled": true, "list": []any{"a", "b"},
		"repoUrl": "github.com?owner=acme&repo=svc", "owner": "team-a", "ratio": 0.25, "port": float64(8080)}}
	tests := []struct {
		name, src, want string
		warns           int
	}{
		{"Filter", "${{ values.name | upper }}", "SVC", 0},
		{"BoolAsJavaScript", "${{ values.enabled }}", "true", 0},
		{"ListAsJavaScript", "${{ values.list }}", "a,b", 0},
		{"Numbers", "${{ values.port }} ${{ values.ratio }}", "8080 0.25", 0},
		{"GitHubExpressionIsEmpty", "sha: ${{ github.sha }}\n", "sha: \n", 1},
		// Empty as on Backstage, and (unlike Backstage) a warning.
		{"MissingAttributeIsEmpty", "[${{ values.missing.sub }}]", "[]", 1},
		{"EachUndefinedOutputWarnsOnce", "${{ values.nmae }}{% for x in values.list %}${{ values.nmae }}{% endfor %}", "", 2},
		{"DefaultedUndefinedDoesNotWarn", "${{ values.missing | default('x') }}", "x", 0},
		{"UndefinedIsFalse", "{% if values.missing %}x{% else %}y{% endif %}", "y", 0},
		{"LoopVariable", "{% for x in values.list %}${{ x }};{% endfor %}", "a;b;", 0},
		{"TrailingNewlineKept", "a\n", "a\n", 0},
		{"Raw", "{% raw %}${{ github.sha }}{% endraw %}", "${{ github.sha }}", 0},
		{"ParseRepoUrl", "${{ values.repoUrl | parseRepoUrl | pick('repo') }}", "svc", 0},
		{"ProjectSlug", "${{ values.repoUrl | projectSlug }}", "acme/svc", 0},
		{"ParseEntityRef", "${{ 'component:prod/x' | parseEntityRef | pick('namespace') }}", "prod", 0},
		{"ParseEntityRefDefaults", `${{ values.owner | parseEntityRef({ defaultKind: "group", defaultNamespace: "ns" }) | pick('kind') }}`, "group", 0},
		{"Dump", "${{ values.list | dump }}", `["a","b"]`, 0},
		{"EscapedDelimiters", "${{ '${{' }} github.sha }}", "${{ github.sha }}", 0},
	}
	e := &Engine{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns, err := e.Render(tt.src, scope, Options{})
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.src, err)
			}
			if got != tt.want || len(warns) != tt.warns {
				t.Fatalf("Render(%q) = %q with warnings %v; want %q with %d", tt.src, got, warns, tt.want, tt.warns)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	e := &Engine{}
	_, _, err := e.Render("a\n${{ values.name | nosuch }}\n", map[string]any{"values": map[string]any{"name": "x"}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "line") {
		t.Fatalf("err = %v, want a located error", err)
	}
}

func TestInput(t *testing.T) {
	scope := map[string]any{
		"parameters": map[string]any{"name": "svc", "port": int64(8080), "tags": []any{"a", "b"}, "owner": "group:team-a"},
		"steps":      map[string]any{"publish": map[string]any{"output": map[string]any{"remoteUrl": "https://git/x"}}},
	}
	in := map[string]any{
		"name":     "${{ parameters.name }}",
		"port":     "${{ parameters.port }}",
		"tags":     "${{ parameters.tags }}",
		"missing":  "${{ parameters.nope }}",
		"text":     "svc-${{ parameters.name }}",
		"url":      "${{ steps['publish'].output.remoteUrl }}",
		"broken":   "${{ parameters.name | nosuch }}",
		"nested":   map[string]any{"list": []any{"${{ parameters.port }}", "x"}},
		"constant": int64(3),
	}
	got, _ := (&Engine{}).Input(in, scope)
	want := map[string]any{"name": "svc", "port": int64(8080), "tags": []any{"a", "b"}, "text": "svc-svc",
		"url": "https://git/x", "broken": "${{ parameters.name | nosuch }}", "nested": map[string]any{"list": []any{int64(8080), "x"}}, "constant": int64(3)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Input = %#v\nwant %#v", got, want)
	}
}

func TestRenderErrorNamesTheLine(t *testing.T) {
	_, _, err := (&Engine{}).Render("a\nb ${{ values.name | nosuch }}\n", map[string]any{"values": map[string]any{"name": "x"}}, Options{})
	var re *Error
	if !errors.As(err, &re) || re.Line != 2 {
		t.Fatalf("err = %#v, want an *Error on line 2", err)
	}
}

func TestRenderBounds(t *testing.T) {
	e := &Engine{}
	if out, _, err := e.Render("{% for i in range(3) %}${{ i }}{% endfor %}", nil, Options{}); err != nil || out != "012" {
		t.Fatalf("range(3) = %q, %v", out, err)
	}
	if _, _, err := e.Render("{% for i in range(100000000) %}{% endfor %}", nil, Options{}); err == nil {
		t.Fatal("range(1e8) rendered; want it refused")
	}
	for _, src := range []string{"{% macro f() %}${{ f() }}{% endmacro %}${{ f() }}", "{% include '/template' %}", "{% include 'x' %}"} {
		if _, _, err := e.Render(src, nil, Options{}); err == nil || len(err.Error()) > 1000 {
			t.Fatalf("%s: %.200v (%d bytes); want it refused in a short message", src, err, len(fmt.Sprint(err)))
		}
	}
	if out, _, err := e.Render("{% macro greet(n) %}hi ${{ n }}{% endmacro %}${{ greet('a') }} ${{ greet('b') }}", nil, Options{}); err != nil || out != "hi a hi b" {
		t.Fatalf("macros: %q, %v", out, err)
	}
	spin := "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
	if _, _, err := e.Render(spin, nil, Options{}); err == nil || !strings.Contains(err.Error(), "loop iterations") {
		t.Fatalf("10^8 silent iterations: %v, want the loop budget", err)
	}
	huge := "{% for i in range(1000) %}{% for j in range(900) %}xxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}"
	if _, _, err := e.Render(huge, nil, Options{}); err == nil || !strings.Contains(err.Error(), "MiB") {
		t.Fatalf("2 GB of output: %v, want the output limit", err)
	}
}
