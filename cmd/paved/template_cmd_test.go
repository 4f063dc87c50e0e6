package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTemplate copies a compat template into a new directory.
func copyTemplate(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "scaffolder", "actions", "fetch", "testdata", "compat", name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTemplateRender(t *testing.T) {
	dir := copyTemplate(t, "basics")
	values := writeFile(t, t.TempDir(), "values.yaml", "name: orders\n")
	out := filepath.Join(t.TempDir(), "out")
	if _, err := runPaved(t, nil, "template", "render", "--values", values, "--out", out, dir); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(out, "orders", "main.go")); err != nil || !strings.Contains(string(data), "orders listens on 8080") {
		t.Fatalf("orders/main.go = %q, %v", data, err)
	}
	if _, err := runPaved(t, nil, "template", "render", "--values", values, "--out", out, dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("render into a non-empty directory: %v", err)
	}
}

// tests/NAME.values.yaml beside a template are rendered and compared with
// tests/NAME/; --update writes them; a change in the skeleton fails the
// test naming the file and line.
func TestTemplateTest(t *testing.T) {
	dir := copyTemplate(t, "basics")
	writeFile(t, dir, "tests/payments.values.yaml", "name: payments\n")
	if out, err := runPaved(t, nil, "template", "test", "--update", dir); err != nil || !strings.Contains(out, "updated payments") {
		t.Fatalf("--update: %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tests", "payments", "payments", "main.go")); err != nil {
		t.Fatalf("expected files not written: %v", err)
	}
	if out, err := runPaved(t, nil, "template", "test", dir); err != nil || !strings.Contains(out, "ok   payments") {
		t.Fatalf("test: %q, %v", out, err)
	}
	writeFile(t, dir, "skeleton/.dockerignore", "bin/\ndist/\n")
	out, err := runPaved(t, nil, "template", "test", dir)
	if err == nil || !strings.Contains(out, `.dockerignore: line 2: rendered "dist/", expected ""`) {
		t.Fatalf("after a change: %q, %v", out, err)
	}
}

// A template of the catalog renders by its reference, with the files
// beside the file it was registered from.
func TestTemplateRenderByRef(t *testing.T) {
	dir := copyTemplate(t, "basics")
	data := t.TempDir()
	config := writeFile(t, t.TempDir(), "paved.yaml", "catalog:\n  reading:\n    allow: [{dir: "+dir+"}]\n")
	if out, err := runPaved(t, nil, "catalog", "import", "--config", config, "--data-dir", data, filepath.Join(dir, "template.yaml")); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	values := writeFile(t, t.TempDir(), "values.yaml", "name: orders\n")
	out := filepath.Join(t.TempDir(), "out")
	if msg, err := runPaved(t, nil, "template", "render", "--config", config, "--data-dir", data, "--values", values, "--out", out, "template:default/basics"); err != nil {
		t.Fatalf("render by ref: %v\n%s", err, msg)
	}
	if data, err := os.ReadFile(filepath.Join(out, "orders", "main.go")); err != nil || !strings.Contains(string(data), "orders listens on 8080") {
		t.Fatalf("orders/main.go = %q, %v", data, err)
	}
	if _, err := runPaved(t, nil, "template", "render", "--data-dir", data, "--out", t.TempDir(), "template:default/nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown template: %v", err)
	}
}
