package publish_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/publish"
)

// workspace is a task workspace holding files.
func workspace(t *testing.T, files map[string]string) *os.Root {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}

// Against a real Gitea: the repository is created and pushed, the real
// git CLI clones the files; the same step again is success without a new
// commit; other content is a conflict; undo deletes what the step made;
// a dry run creates nothing.
func TestPublishGitea(t *testing.T) {
	g := testsupport.StartGitea(t)
	u, _ := url.Parse(g.URL)
	action := publish.Gitea{Now: func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) },
		Hosts: func(host string) (publish.Host, bool) {
			return publish.Host{BaseURL: g.URL, Username: g.User, Token: g.Token}, host == u.Host
		}}
	ctx := context.Background()
	input := map[string]any{"repoUrl": u.Host + "?repo=payments", "description": "Payments", "defaultBranch": "main"}
	files := map[string]string{"README.md": "# payments\n", "cmd/main.go": "package main\n"}
	call := &scaffolder.Call{Input: input, Workspace: workspace(t, files), Log: slog.New(slog.DiscardHandler)}

	out, err := action.Run(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if out["remoteUrl"] != g.URL+"/"+g.User+"/payments.git" || out["created"] != true || len(out["commitHash"].(string)) != 40 {
		t.Fatalf("output = %v", out)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	auth := strings.Replace(out["remoteUrl"].(string), "://", "://"+g.User+":"+g.Token+"@", 1)
	testsupport.Git(t, filepath.Dir(clone), "clone", "-q", auth, clone)
	for name, want := range files {
		if got, err := os.ReadFile(filepath.Join(clone, name)); err != nil || string(got) != want {
			t.Errorf("clone %s = %q, %v", name, got, err)
		}
	}
	if head := strings.TrimSpace(testsupport.Git(t, clone, "rev-parse", "HEAD")); head != out["commitHash"] {
		t.Errorf("HEAD = %s, want the step's commit %s", head, out["commitHash"])
	}

	again, err := action.Run(ctx, call)
	if err != nil || again["commitHash"] != out["commitHash"] || again["created"] != false {
		t.Fatalf("the same step again = %v, %v; want success with the first commit", again, err)
	}
	other := &scaffolder.Call{Input: input, Workspace: workspace(t, map[string]string{"README.md": "other\n"}), Log: call.Log}
	if _, err := action.Run(ctx, other); paved.ErrorCode(err) != paved.CodeConflict {
		t.Fatalf("other content = %v, want a conflict", err)
	}

	if err := action.Undo(ctx, call, out); err != nil {
		t.Fatal(err)
	}
	if code := status(t, g, "/api/v1/repos/"+g.User+"/payments"); code != http.StatusNotFound {
		t.Fatalf("after undo the repository answers %d, want 404", code)
	}

	dry := &scaffolder.Call{Input: map[string]any{"repoUrl": u.Host + "?repo=dry"}, Workspace: call.Workspace, DryRun: true, Log: call.Log}
	if out, err := action.Run(ctx, dry); err != nil || out["remoteUrl"] == nil {
		t.Fatalf("dry run = %v, %v", out, err)
	}
	if code := status(t, g, "/api/v1/repos/"+g.User+"/dry"); code != http.StatusNotFound {
		t.Fatalf("a dry run created a repository (%d)", code)
	}
}

func TestPublishGiteaInput(t *testing.T) {
	action := publish.Gitea{Hosts: func(string) (publish.Host, bool) { return publish.Host{}, false }}
	call := &scaffolder.Call{Input: map[string]any{"repoUrl": "gitea.example.com?repo=x", "repoVisibility": "secret"}}
	_, err := action.Run(context.Background(), call)
	if paved.ErrorCode(err) != paved.CodeInvalid || !strings.Contains(err.Error(), "repoVisibility") {
		t.Fatalf("err = %v", err)
	}
	call.Input = map[string]any{"repoUrl": "gitea.example.com?repo=x"}
	if _, err := action.Run(context.Background(), call); paved.ErrorCode(err) != paved.CodeInvalid || !strings.Contains(err.Error(), "no Gitea integration") {
		t.Fatalf("unknown host: %v", err)
	}
}

func status(t *testing.T, g *testsupport.Gitea, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+path, nil)
	req.Header.Set("Authorization", "token "+g.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
