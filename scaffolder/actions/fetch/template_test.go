package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/fetch"
	"github.com/paved-dev/paved/scaffolder/render"
)

// skeleton writes files (slash path → content) into a new directory.
func skeleton(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs fetch:template on the skeleton in dir with input, into a new
// workspace, and returns the workspace and the log.
func run(t *testing.T, dir string, input map[string]any) (string, string, error) {
	t.Helper()
	ws := t.TempDir()
	root, err := os.OpenRoot(ws)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var log bytes.Buffer
	call := &scaffolder.Call{Input: input, Workspace: root, Log: slog.New(slog.NewTextHandler(&log, nil)),
		Files: func(_ context.Context, url string) (fs.FS, error) {
			if url != "./skeleton" {
				t.Fatalf("url %q", url)
			}
			return os.DirFS(dir), nil
		}}
	_, err = fetch.Template{Render: &render.Engine{}}.Run(context.Background(), call)
	return ws, log.String(), err
}

func read(t *testing.T, ws, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(ws, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(data)
}

func exists(ws, name string) bool {
	_, err := os.Lstat(filepath.Join(ws, filepath.FromSlash(name)))
	return err == nil
}

func TestFetchTemplate(t *testing.T) {
	dir := skeleton(t, map[string]string{
		"${{ values.name }}/main.go": "package main // ${{ values.name }}\n",
		".dockerignore":              "bin/\n",
		"{% if values.gha %}.github{% endif %}/workflows/ci.yaml": "sha: ${{ github.sha }}\n",
		"ci/raw.yaml": "sha: ${{ github.sha }}\n",
		"README.md":   "# ${{ values.name | upper }}\n",
		"logo.png":    "\x89PNG\r\n\x1a\n\x00${{ values.name }}",
	})
	ws, log, err := run(t, dir, map[string]any{"url": "./skeleton", "targetPath": "./out",
		"values": map[string]any{"name": "svc", "gha": false}, "copyWithoutTemplating": []any{"ci"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"out/svc/main.go":   "package main // svc\n",
		"out/.dockerignore": "bin/\n",
		"out/ci/raw.yaml":   "sha: ${{ github.sha }}\n", // copyWithoutTemplating: a directory's pattern covers its files
		"out/README.md":     "# SVC\n",
		"out/logo.png":      "\x89PNG\r\n\x1a\n\x00${{ values.name }}", // binary: byte for byte
	} {
		if got := read(t, ws, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if exists(ws, "out/workflows/ci.yaml") || exists(ws, "out/.github") {
		t.Error("a path that renders to start with / (a left-out .github) was written")
	}
	if strings.Contains(log, "github.sha") {
		t.Errorf("log warns about a file that was not rendered: %s", log)
	}

	// The same skeleton with the workflow in: its ${{ github.sha }} renders
	// empty, as on Backstage, and the log says so.
	ws, log, err = run(t, dir, map[string]any{"url": "./skeleton", "values": map[string]any{"name": "svc", "gha": true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, ws, ".github/workflows/ci.yaml"); got != "sha: \n" {
		t.Errorf("workflow = %q", got)
	}
	if !strings.Contains(log, "github.sha") || !strings.Contains(log, "{% raw %}") {
		t.Errorf("log = %s, want a warning about ${{ github.sha }}", log)
	}
}

func TestFetchTemplateFileExtension(t *testing.T) {
	dir := skeleton(t, map[string]string{"go.mod.njk": "module ${{ values.name }}\n", "Makefile": "run:\n\t${{ keep }}\n"})
	ws, _, err := run(t, dir, map[string]any{"url": "./skeleton", "templateFileExtension": true, "values": map[string]any{"name": "svc"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, ws, "go.mod"); got != "module svc\n" {
		t.Errorf("go.mod = %q", got)
	}
	if got := read(t, ws, "Makefile"); got != "run:\n\t${{ keep }}\n" {
		t.Errorf("Makefile = %q, want it copied as is", got)
	}
}

func TestFetchTemplateRefuses(t *testing.T) {
	evil := skeleton(t, map[string]string{"${{ values.path }}": "x"})
	linked := skeleton(t, map[string]string{"a.txt": "a"})
	if err := os.Symlink("/etc/passwd", filepath.Join(linked, "passwd")); err != nil {
		t.Fatal(err)
	}
	broken := skeleton(t, map[string]string{"docs/index.md": "line 1\n${{ values.name | nosuch }}\n"})
	tests := []struct {
		name, dir string
		values    map[string]any
		field     string
		line      int
	}{
		{"PathLeavesTheWorkspace", evil, map[string]any{"path": "../../escaped"}, "../../escaped", 0},
		{"SymbolicLink", linked, nil, "passwd", 0},
		{"RenderError", broken, map[string]any{"name": "x"}, "docs/index.md", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.dir, map[string]any{"url": "./skeleton", "values": tt.values})
			var pe *paved.Error
			if !errors.As(err, &pe) || pe.Code != paved.CodeInvalid || len(pe.Details) == 0 || pe.Details[0].Field != tt.field || pe.Details[0].Line != tt.line {
				t.Fatalf("err = %v (%+v), want invalid naming %q line %d", err, pe, tt.field, tt.line)
			}
		})
	}
}
