package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

const corpus = "../../catalog/testdata/backstage-corpus/"

func TestCatalogValidateCommand(t *testing.T) {
	tests := []struct {
		Name    string
		Files   []string
		WantErr bool
		WantOut []string
	}{
		{"Valid", []string{"003__thatmlopsguy__dokaseca-portal-catalog__catalog_domains_payments.yaml"}, false, []string{"ok (1 entities)"}},
		{"MissingOwner", []string{"005__RoadieHQ__sample-service__catalog-info-noowner.yaml"}, true, []string{"document 0, line 12: /spec: missing property 'owner'"}},
		{"YAMLError", []string{"024__C-Nell__devhub-catalog__catalog_guest-user.yaml"}, true, []string{"document 0, line 9"}},
		{"ManyDocuments", []string{"008__im-open__validate-catalog-info__test_catalog-infos_invalid-components.yml"}, true, []string{"document 2, line", "document 26, line"}},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			var stdout bytes.Buffer
			args := []string{"paved", "catalog", "validate"}
			for _, f := range tt.Files {
				args = append(args, corpus+f)
			}
			err := run(context.Background(), args, func(string) string { return "" }, &stdout, io.Discard)
			if (err != nil) != tt.WantErr || (err != nil && exitCode(err) != 1) {
				t.Fatalf("err = %v, want error %v with exit 1\n%s", err, tt.WantErr, stdout.String())
			}
			for _, w := range tt.WantOut {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
}

func TestCatalogImportCommand(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		file := filepath.Join(t.TempDir(), "catalog-info.yaml")
		if err := os.WriteFile(file, []byte(clientFixture), 0o644); err != nil {
			t.Fatal(err)
		}
		url := testsupport.DatabaseURL(t, dialect)
		var stdout bytes.Buffer
		err := run(context.Background(), []string{"paved", "catalog", "import", "--database-url", url, "--log-format", "json", file},
			func(string) string { return "" }, &stdout, io.Discard)
		if err != nil || !strings.Contains(stdout.String(), "6 added, 0 updated") {
			t.Fatalf("import: %v\n%s", err, stdout.String())
		}
		err = run(context.Background(), []string{"paved", "catalog", "import", "--database-url", url, file},
			func(string) string { return "" }, &stdout, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("second import: %v, want a conflict", err)
		}
	})
}

// catalog import builds the catalog only: clusters that cannot be reached
// (a missing kubeconfig, for the default and for a named cluster) do not
// stop it, and neither does the policy engine.
func TestCatalogImportIgnoresClusters(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "catalog-info.yaml")
	if err := os.WriteFile(file, []byte(clientFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such.kubeconfig")
	cfgFile := filepath.Join(dir, "paved.yaml")
	cfg := "kubeconfig: " + missing + "\nprovisioning:\n  clusters:\n    eu:\n      kubeconfig: " + missing + "\n"
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"paved", "catalog", "import", "--config", cfgFile, "--data-dir", filepath.Join(dir, "data"), file},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil || !strings.Contains(stdout.String(), "6 added, 0 updated") {
		t.Fatalf("import with unreachable clusters: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	// serve, which does connect clusters, refuses the same configuration.
	err = run(context.Background(), []string{"paved", "serve", "--config", cfgFile, "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Errorf("serve with a missing kubeconfig: %v, want it refused naming the kubeconfig", err)
	}
}

// A token given as a location's user info is used to read it and appears
// in no API answer and no log line, even when the read fails.
func TestLocationTokenNeverShown(t *testing.T) {
	srv := testsupport.NewGitServer(t)
	srv.CreateRepo(t, "shop")
	work := srv.Clone(t, "shop")
	if err := os.WriteFile(filepath.Join(work, "catalog-info.yaml"), []byte(clientFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	testsupport.Git(t, work, "add", "-A")
	testsupport.Git(t, work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "catalog")
	testsupport.Git(t, work, "push", "-q", "origin", "HEAD:main")

	cfg := filepath.Join(t.TempDir(), "paved.yaml")
	if err := os.WriteFile(cfg, []byte("catalog:\n  reading:\n    allow: [{host: 127.0.0.1}]\n    networks: [127.0.0.0/8]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, nil, "--data-dir", t.TempDir(), "--config", cfg)
	authed := strings.Replace(srv.RepoURL("shop"), "://", "://"+srv.User+":"+srv.Token+"@", 1)
	var answers strings.Builder
	get := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers.Write(b)
		return resp.StatusCode
	}
	for _, file := range []string{"catalog-info.yaml", "missing.yaml"} {
		if code := get("POST", "/api/catalog/locations", `{"type":"url","target":"`+authed+`/`+file+`"}`); code != 201 {
			t.Fatalf("register %s: %d %s", file, code, answers.String())
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(answers.String(), `"name":"payments"`) || !strings.Contains(s.stderr.String(), "location refresh failed") {
		if time.Now().After(deadline) {
			t.Fatalf("the locations were not read within 30s\n%s", s.stderr)
		}
		time.Sleep(200 * time.Millisecond)
		get("GET", "/api/catalog/entities/by-query?filter=kind=component", "")
	}
	get("GET", "/api/catalog/locations", "")
	get("GET", "/api/catalog/entities/by-name/component/default/payments", "")
	get("POST", "/api/catalog/locations?dryRun=true", `{"type":"url","target":"`+authed+`/missing.yaml"}`)
	if strings.Contains(answers.String(), srv.Token) {
		t.Errorf("an API answer carries the token:\n%s", answers.String())
	}
	if strings.Contains(s.stderr.String(), srv.Token) {
		t.Errorf("the log carries the token:\n%s", s.stderr)
	}
	if !strings.Contains(answers.String(), srv.RepoURL("shop")+"/catalog-info.yaml") {
		t.Errorf("the answers do not show the target without its user info:\n%s", answers.String())
	}
}
