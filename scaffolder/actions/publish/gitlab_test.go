package publish_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/publish"
)

// fakeGitLab answers GitLab's REST API from testdata/gitlab, pointing
// the project's clone URL at a real git server; it records the calls.
type fakeGitLab struct {
	t        *testing.T
	git      *testsupport.GitServer
	token    string
	mu       sync.Mutex
	calls    []string
	created  map[string]any
	exists   atomic.Bool
	badToken atomic.Bool
}

func (f *fakeGitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := r.Method + " " + r.URL.EscapedPath()
	f.mu.Lock()
	f.calls = append(f.calls, call)
	if call == "POST /api/v4/projects" {
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &f.created)
	}
	f.mu.Unlock()
	if r.Header.Get("PRIVATE-TOKEN") != f.token || f.badToken.Load() {
		f.answer(w, http.StatusUnauthorized, "unauthorized.json")
		return
	}
	switch call {
	case "GET /api/v4/namespaces/acme%2Fplatform":
		f.answer(w, 200, "namespace.json")
	case "POST /api/v4/projects":
		if f.exists.Load() {
			f.answer(w, http.StatusBadRequest, "project-exists.json")
			return
		}
		f.answer(w, http.StatusCreated, "project.json")
	case "GET /api/v4/projects/acme%2Fplatform%2Fpayments":
		f.answer(w, 200, "project.json")
	case "DELETE /api/v4/projects/acme%2Fplatform%2Fpayments":
		f.answer(w, http.StatusAccepted, "")
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeGitLab) answer(w http.ResponseWriter, code int, file string) {
	body := `{"message":"202 Accepted"}`
	if file != "" {
		data, err := os.ReadFile(filepath.Join("testdata", "gitlab", file))
		if err != nil {
			f.t.Error(err)
		}
		body = strings.NewReplacer("{{CLONE_URL}}", f.git.RepoURL("payments"), "{{WEB_URL}}", strings.TrimSuffix(f.git.RepoURL("payments"), ".git")).Replace(string(data))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func (f *fakeGitLab) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// publish:gitlab against recorded API answers, pushing to a real git
// server: the project is created in the subgroup's namespace and pushed;
// again, GitLab's "has already been taken" finds it and nothing new is
// pushed; undo deletes only what the step created; a bad token is a 403
// with GitLab's message; a dry run calls nothing.
func TestPublishGitLab(t *testing.T) {
	gitSrv := testsupport.NewGitServer(t)
	gitSrv.CreateRepo(t, "payments")
	fake := &fakeGitLab{t: t, git: gitSrv, token: gitSrv.Token}
	api := httptest.NewServer(fake)
	defer api.Close()
	action := publish.GitLab{Now: func() time.Time { return time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) },
		Hosts: func(host string) (publish.Host, bool) {
			return publish.Host{BaseURL: api.URL + "/api/v4", Username: gitSrv.User, Token: gitSrv.Token}, host == "gitlab.example.com"
		}}
	ctx := context.Background()
	input := map[string]any{"repoUrl": "gitlab.example.com?owner=acme/platform&repo=payments", "description": "Payments", "repoVisibility": "internal"}
	call := &scaffolder.Call{Input: input, Workspace: workspace(t, map[string]string{"README.md": "# payments\n"}), Log: slog.New(slog.DiscardHandler)}

	out, err := action.Run(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	web := strings.TrimSuffix(gitSrv.RepoURL("payments"), ".git")
	if out["remoteUrl"] != gitSrv.RepoURL("payments") || out["repoContentsUrl"] != web+"/-/blob/main" || out["created"] != true || out["projectId"] != int64(4711) {
		t.Fatalf("output = %v", out)
	}
	fake.mu.Lock()
	body := fake.created
	fake.mu.Unlock()
	if body["namespace_id"] != float64(1042) || body["path"] != "payments" || body["visibility"] != "internal" || body["default_branch"] != "main" {
		t.Fatalf("create body = %v", body)
	}
	clone := gitSrv.Clone(t, "payments")
	if data, err := os.ReadFile(filepath.Join(clone, "README.md")); err != nil || string(data) != "# payments\n" {
		t.Fatalf("the clone's README.md = %q, %v", data, err)
	}

	fake.exists.Store(true)
	again, err := action.Run(ctx, call)
	if err != nil || again["created"] != false || again["commitHash"] != out["commitHash"] {
		t.Fatalf("second run = %v, %v; want the existing project and commit", again, err)
	}
	const del = "DELETE /api/v4/projects/acme%2Fplatform%2Fpayments"
	if err := action.Undo(ctx, call, again); err != nil || slices.Contains(fake.called(), del) {
		t.Fatalf("undo of a run that found the project deleted it: %v %v", err, fake.called())
	}
	if err := action.Undo(ctx, call, out); err != nil || !slices.Contains(fake.called(), del) {
		t.Fatalf("undo: %v %v", err, fake.called())
	}

	before := len(fake.called())
	dry := &scaffolder.Call{Input: input, Workspace: call.Workspace, DryRun: true, Log: call.Log}
	if out, err := action.Run(ctx, dry); err != nil || out["remoteUrl"] != "https://gitlab.example.com/acme/platform/payments.git" || len(fake.called()) != before {
		t.Fatalf("dry run = %v, %v", out, err)
	}

	fake.badToken.Store(true)
	if _, err := action.Run(ctx, call); paved.ErrorCode(err) != paved.CodeForbidden || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := action.Run(ctx, &scaffolder.Call{Input: map[string]any{"repoUrl": "gitlab.example.com?repo=x"}, Log: call.Log}); paved.ErrorCode(err) != paved.CodeInvalid {
		t.Fatalf("no owner: %v", err)
	}
}
