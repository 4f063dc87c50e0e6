package publish_test

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/publish"
)

// publish:git pushes to an existing empty repository on a real git
// server; the git CLI clones the files; again is success, other content
// a conflict; credentials in the URL are refused.
func TestPublishGit(t *testing.T) {
	srv := testsupport.NewGitServer(t)
	remote := srv.CreateRepo(t, "svc")
	u, _ := url.Parse(srv.URL)
	action := publish.Git{Hosts: func(host string) (publish.Host, bool) {
		return publish.Host{Username: srv.User, Token: srv.Token}, host == u.Host
	}}
	ctx := context.Background()
	call := &scaffolder.Call{Input: map[string]any{"remoteUrl": remote}, Workspace: workspace(t, map[string]string{"main.go": "package main\n"}),
		Log: slog.New(slog.DiscardHandler)}
	out, err := action.Run(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	clone := srv.Clone(t, "svc")
	if data, err := os.ReadFile(filepath.Join(clone, "main.go")); err != nil || string(data) != "package main\n" {
		t.Fatalf("clone main.go = %q, %v", data, err)
	}
	if head := strings.TrimSpace(testsupport.Git(t, clone, "rev-parse", "HEAD")); head != out["commitHash"] {
		t.Fatalf("HEAD %s, output %v", head, out)
	}
	if again, err := action.Run(ctx, call); err != nil || again["commitHash"] != out["commitHash"] {
		t.Fatalf("again = %v, %v", again, err)
	}
	other := &scaffolder.Call{Input: call.Input, Workspace: workspace(t, map[string]string{"x": "y"}), Log: call.Log}
	if _, err := action.Run(ctx, other); paved.ErrorCode(err) != paved.CodeConflict {
		t.Fatalf("other content: %v", err)
	}
	withCreds := &scaffolder.Call{Input: map[string]any{"remoteUrl": strings.Replace(remote, "://", "://u:p@", 1)}, Workspace: call.Workspace}
	if _, err := action.Run(ctx, withCreds); paved.ErrorCode(err) != paved.CodeInvalid {
		t.Fatalf("credentials in the URL: %v", err)
	}
}
