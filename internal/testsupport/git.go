package testsupport

import (
	"crypto/subtle"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GitServer is a real smart-HTTP git server: git http-backend behind
// net/http/cgi, accepting clones and pushes from User with Token (HTTP basic
// auth, as git hosts take personal access tokens).
type GitServer struct {
	// URL is the server's base; repositories are at URL + "/" + name + ".git".
	URL string
	// Root holds the bare repositories.
	Root string
	// User and Token are the only credentials the server accepts.
	User, Token string
}

// NewGitServer starts a git server for one test, closed when it ends.
func NewGitServer(tb testing.TB) *GitServer {
	tb.Helper()
	gitPath := gitBinary(tb)
	s := &GitServer{Root: tb.TempDir(), User: "paved-bot", Token: "test-token-" + randomHex(8)}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + s.Root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + s.User},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, token, ok := r.BasicAuth()
		if !ok || user != s.User || subtle.ConstantTimeCompare([]byte(token), []byte(s.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="paved-test-git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// CreateRepo makes an empty bare repository with default branch main and
// returns its clone URL.
func (s *GitServer) CreateRepo(tb testing.TB, name string) string {
	tb.Helper()
	Git(tb, s.Root, "init", "--bare", "-q", "-b", "main", name+".git")
	return s.RepoURL(name)
}

// RepoURL returns the clone URL of the repository name, without credentials.
func (s *GitServer) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

// Clone clones the repository name with the real git CLI, authenticating
// with the server's token, and returns the working tree.
func (s *GitServer) Clone(tb testing.TB, name string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), name)
	authed := strings.Replace(s.RepoURL(name), "://", "://"+s.User+":"+s.Token+"@", 1)
	Git(tb, "", "clone", "-q", authed, dir)
	return dir
}

// Git runs the git CLI in dir (with no user or system configuration) and
// fails the test with git's output on error.
func Git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command(gitBinary(tb), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+tb.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func gitBinary(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		requirePart(tb, "the git CLI is not installed (apt-get install git)")
	}
	return p
}
