package catalog_test

import (
	"context"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/testsupport"
)

func templateFrom(location string) map[string]any {
	return map[string]any{"metadata": map[string]any{"name": "t", "annotations": map[string]any{catalog.AnnotationLocation: location}}}
}

// A template's steps read the directories beside the file it came from:
// on disk or in its git repository, under the reading rules.
func TestTemplateFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for p, content := range map[string]string{"tpl/template.yaml": "x", "tpl/skeleton/README.md": "# hi\n", "secret.txt": "no"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := testsupport.NewGitServer(t)
	srv.CreateRepo(t, "templates")
	pushFiles(t, srv, "templates", map[string]string{"svc/template.yaml": "x", "svc/skeleton/main.go": "package main\n", "svc/skeleton/deploy/k.yaml": "a: 1\n"})
	u, _ := url.Parse(srv.URL)
	policy := catalog.NewPolicy(catalog.Options{
		Reading:      catalog.ReadingRules{Allow: []catalog.ReadAllow{{Dir: filepath.Join(dir, "tpl")}, {Host: u.Host}}, Networks: []string{"127.0.0.0/8"}},
		Integrations: catalog.Integrations{Git: []catalog.Integration{{Host: u.Host, Username: srv.User, Password: srv.Token}}}})

	files, err := policy.TemplateFiles(ctx, templateFrom("file:"+filepath.Join(dir, "tpl", "template.yaml")), "./skeleton")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := fs.ReadFile(files, "README.md"); err != nil || string(data) != "# hi\n" {
		t.Fatalf("README.md = %q, %v", data, err)
	}
	fromGit := templateFrom("url:" + srv.RepoURL("templates") + "/svc/template.yaml")
	files, err = policy.TemplateFiles(ctx, fromGit, "./skeleton")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := fs.ReadFile(files, "deploy/k.yaml"); err != nil || string(data) != "a: 1\n" {
		t.Fatalf("deploy/k.yaml from git = %q, %v", data, err)
	}

	for name, tc := range map[string]struct {
		entity map[string]any
		ref    string
		code   paved.Code
	}{
		"OutsideTheAllowedDir": {templateFrom("file:" + filepath.Join(dir, "tpl", "template.yaml")), "..", paved.CodeForbidden},
		"NoSuchDir":            {templateFrom("file:" + filepath.Join(dir, "tpl", "template.yaml")), "./nope", paved.CodeUnprocessable},
		"NoLocation":           {map[string]any{"metadata": map[string]any{}}, "./skeleton", paved.CodeUnprocessable},
		"AboveTheRepository":   {fromGit, "../../..", paved.CodeForbidden},
		"NoSuchGitDir":         {fromGit, "./nope", paved.CodeUnprocessable},
		"PlainURL":             {templateFrom("url:https://example.com/t/template.yaml"), "./skeleton", paved.CodeForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := policy.TemplateFiles(ctx, tc.entity, tc.ref); paved.ErrorCode(err) != tc.code {
				t.Fatalf("err = %v (%s), want %s", err, paved.ErrorCode(err), tc.code)
			}
		})
	}
}
