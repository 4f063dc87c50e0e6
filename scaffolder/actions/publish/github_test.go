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

// fakeGitHub answers GitHub's REST API from testdata/github, pointing
// the repository's clone URL at a real git server; it records the calls.
type fakeGitHub struct {
	t        *testing.T
	git      *testsupport.GitServer
	mu       sync.Mutex
	calls    []string
	bodies   map[string]map[string]any
	token    string
	exists   atomic.Bool // POST .../repos answers 422 name already exists
	badToken atomic.Bool
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	call := r.Method + " " + r.URL.Path
	f.calls = append(f.calls, call)
	if r.Body != nil {
		var body map[string]any
		data, _ := io.ReadAll(r.Body)
		if json.Unmarshal(data, &body) == nil {
			f.bodies[call] = body
		}
	}
	exists, bad := f.exists.Load(), f.badToken.Load()
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token || bad {
		f.answer(w, http.StatusUnauthorized, "bad-credentials.json")
		return
	}
	switch {
	case call == "GET /users/acme":
		f.answer(w, 200, "users-acme.json")
	case call == "GET /users/octocat":
		f.answer(w, 200, "users-octocat.json")
	case call == "POST /orgs/acme/repos" || call == "POST /user/repos":
		if exists {
			f.answer(w, http.StatusUnprocessableEntity, "repo-exists.json")
			return
		}
		f.answer(w, http.StatusCreated, "repo.json")
	case call == "GET /repos/acme/payments":
		f.answer(w, 200, "repo.json")
	case call == "DELETE /repos/acme/payments":
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeGitHub) answer(w http.ResponseWriter, code int, file string) {
	data, err := os.ReadFile(filepath.Join("testdata", "github", file))
	if err != nil {
		f.t.Error(err)
	}
	body := strings.NewReplacer("{{CLONE_URL}}", f.git.RepoURL("payments"), "{{HTML_URL}}", strings.TrimSuffix(f.git.RepoURL("payments"), ".git")).Replace(string(data))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func (f *fakeGitHub) body(call string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[call]
}

func (f *fakeGitHub) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// publish:github against recorded API answers, pushing to a real git
// server: an organisation's repository is created with Backstage's
// inputs and pushed; the same step again finds it (422) and pushes
// nothing new; undo deletes only what the step created; bad credentials
// are a 403 with GitHub's message; a dry run calls nothing.
func TestPublishGitHub(t *testing.T) {
	gitSrv := testsupport.NewGitServer(t)
	gitSrv.CreateRepo(t, "payments")
	// One token for the API and the push, as on GitHub; the test git
	// server takes its own user name (GitHub's pushes default to
	// x-access-token).
	fake := &fakeGitHub{t: t, git: gitSrv, token: gitSrv.Token, bodies: map[string]map[string]any{}}
	api := httptest.NewServer(fake)
	defer api.Close()
	action := publish.GitHub{Now: func() time.Time { return time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) },
		Hosts: func(host string) (publish.Host, bool) {
			return publish.Host{BaseURL: api.URL, Username: gitSrv.User, Token: gitSrv.Token}, host == "github.com"
		}}
	ctx := context.Background()
	input := map[string]any{"repoUrl": "github.com?owner=acme&repo=payments", "description": "Payments", "repoVisibility": "internal"}
	call := &scaffolder.Call{Input: input, Workspace: workspace(t, map[string]string{"README.md": "# payments\n"}), Log: slog.New(slog.DiscardHandler)}

	out, err := action.Run(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if out["remoteUrl"] != gitSrv.RepoURL("payments") || out["created"] != true || out["commitHash"] == "" ||
		out["repoContentsUrl"] != strings.TrimSuffix(gitSrv.RepoURL("payments"), ".git")+"/blob/main" {
		t.Fatalf("output = %v", out)
	}
	if body := fake.body("POST /orgs/acme/repos"); body["name"] != "payments" || body["private"] != true || body["visibility"] != "internal" || body["description"] != "Payments" {
		t.Fatalf("create body = %v (calls %v)", body, fake.called())
	}
	clone := gitSrv.Clone(t, "payments")
	if data, err := os.ReadFile(filepath.Join(clone, "README.md")); err != nil || string(data) != "# payments\n" {
		t.Fatalf("the clone's README.md = %q, %v", data, err)
	}

	mine := &scaffolder.Call{Input: map[string]any{"repoUrl": "github.com?owner=octocat&repo=payments"}, Workspace: call.Workspace, Log: call.Log}
	if _, err := action.Run(ctx, mine); err != nil || !slices.Contains(fake.called(), "POST /user/repos") {
		t.Fatalf("a user's repository: %v %v", err, fake.called())
	}

	fake.exists.Store(true)
	again, err := action.Run(ctx, call)
	if err != nil || again["created"] != false || again["commitHash"] != out["commitHash"] {
		t.Fatalf("second run = %v, %v; want the existing repository and commit", again, err)
	}
	if err := action.Undo(ctx, call, again); err != nil || slices.Contains(fake.called(), "DELETE /repos/acme/payments") {
		t.Fatalf("undo of a run that found the repository deleted it: %v %v", err, fake.called())
	}
	if err := action.Undo(ctx, call, out); err != nil || !slices.Contains(fake.called(), "DELETE /repos/acme/payments") {
		t.Fatalf("undo: %v %v", err, fake.called())
	}

	before := len(fake.called())
	dry := &scaffolder.Call{Input: input, Workspace: call.Workspace, DryRun: true, Log: call.Log}
	if out, err := action.Run(ctx, dry); err != nil || out["remoteUrl"] != "https://github.com/acme/payments.git" || len(fake.called()) != before {
		t.Fatalf("dry run = %v, %v; calls %v", out, err, fake.called()[before:])
	}

	fake.badToken.Store(true)
	_, err = action.Run(ctx, call)
	if paved.ErrorCode(err) != paved.CodeForbidden || !strings.Contains(err.Error(), "Bad credentials") {
		t.Fatalf("bad credentials: %v", err)
	}
}
