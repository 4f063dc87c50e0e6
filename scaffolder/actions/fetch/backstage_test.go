package fetch_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/fetch"
	"github.com/paved-dev/paved/scaffolder/render"
)

// The same templates and values through real Backstage's dry run
// (@backstage/plugin-scaffolder-backend 4.2.0 from npm) and through Paved's
// fetch:template produce the same files, byte for byte. Each directory of
// testdata/compat is a template.yaml, its values.yaml and its skeleton/.
func TestFetchTemplateMatchesBackstage(t *testing.T) {
	cases, err := filepath.Glob("testdata/compat/*/template.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	b := testsupport.StartBackstage(t)
	for _, tplPath := range cases {
		dir := filepath.Dir(tplPath)
		var entity map[string]any
		readYAML(t, tplPath, &entity)
		if !onlyFetchTemplate(t, entity) {
			continue // compared through the dry-run API (portal's TestDryRunMatchesBackstage)
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var values map[string]any
			readYAML(t, filepath.Join(dir, "values.yaml"), &values)
			want := backstageDryRun(t, b, dir, entity, values)
			got := pavedRender(t, dir, entity, values)
			compareTrees(t, got, want)
		})
	}
}

// onlyFetchTemplate reports whether every step of the template is a
// fetch:template, which this package's test can run on its own.
func onlyFetchTemplate(t *testing.T, entity map[string]any) bool {
	tpl, err := scaffolder.ParseTemplate(entity)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tpl.Steps {
		if s.Action != "fetch:template" {
			return false
		}
	}
	return true
}

func readYAML(t *testing.T, p string, v any) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

// backstageDryRun posts the template, values and the case's files to
// Backstage's dry-run endpoint and returns the files it wrote.
func backstageDryRun(t *testing.T, b *testsupport.BackstageBackend, dir string, entity, values map[string]any) map[string]string {
	t.Helper()
	var contents []any
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		contents = append(contents, map[string]any{"path": filepath.ToSlash(rel), "base64Content": base64.StdEncoding.EncodeToString(data)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := b.DryRun(t, map[string]any{"template": entity, "values": values, "secrets": map[string]any{}, "directoryContents": contents})
	for _, l := range out["log"].([]any) {
		if body, _ := l.(map[string]any)["body"].(map[string]any); body["status"] == "failed" {
			t.Fatalf("Backstage's dry run failed: %v", body["message"])
		}
	}
	files := map[string]string{}
	for _, f := range out["directoryContents"].([]any) {
		m := f.(map[string]any)
		data, err := base64.StdEncoding.DecodeString(m["base64Content"].(string))
		if err != nil {
			t.Fatal(err)
		}
		files[m["path"].(string)] = string(data)
	}
	return files
}

// pavedRender runs the template's fetch:template steps as Paved's runner
// will: step input evaluated with the parameters, then the action.
func pavedRender(t *testing.T, dir string, entity, values map[string]any) map[string]string {
	t.Helper()
	tpl, err := scaffolder.ParseTemplate(entity)
	if err != nil {
		t.Fatal(err)
	}
	engine := &render.Engine{HostType: func(host string) (string, bool) { return "github", host == "github.com" }}
	ws := t.TempDir()
	root, err := os.OpenRoot(ws)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, step := range tpl.Steps {
		if step.Action != "fetch:template" {
			t.Fatalf("step %s: only fetch:template steps are compared", step.ID)
		}
		input, _ := engine.Input(step.Input, map[string]any{"parameters": values})
		call := &scaffolder.Call{Input: input.(map[string]any), Workspace: root, Log: slog.New(slog.DiscardHandler),
			Files: func(_ context.Context, url string) (fs.FS, error) {
				return os.DirFS(filepath.Join(dir, filepath.FromSlash(path.Clean(url)))), nil
			}}
		if _, err := (fetch.Template{Render: engine}).Run(context.Background(), call); err != nil {
			t.Fatalf("step %s: %v", step.ID, err)
		}
	}
	files := map[string]string{}
	err = filepath.WalkDir(ws, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(ws, p)
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func compareTrees(t *testing.T, got, want map[string]string) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		g, inGot := got[n]
		w, inWant := want[n]
		switch {
		case !inGot:
			t.Errorf("%s: Backstage wrote it, Paved did not", n)
		case !inWant:
			t.Errorf("%s: Paved wrote it, Backstage did not", n)
		case g != w:
			t.Errorf("%s differs:\n%s", n, lineDiff(g, w))
		}
	}
}

// lineDiff shows the lines that differ, Paved's first.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			fmt.Fprintf(&b, "  line %d\n    paved:     %q\n    backstage: %q\n", i+1, gl, wl)
		}
	}
	return b.String()
}
