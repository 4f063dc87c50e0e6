package testsupport

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Gitea is a real Gitea (built from source by hack/gitea.sh) serving on a
// loopback port for one test, with an admin user and an access token.
type Gitea struct {
	URL      string // http://127.0.0.1:PORT, no trailing slash
	User     string
	Password string
	Token    string // scopes: all
}

// StartGitea starts a Gitea with its own data for the test and stops it
// when the test ends. The binary is missing: skip locally, fail under CI
// (make test builds it first, about 5 minutes once).
func StartGitea(tb testing.TB) *Gitea {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "hack", "gitea.sh"), "--print").Output()
	if err != nil {
		tb.Fatalf("hack/gitea.sh --print: %v", err)
	}
	bin := strings.TrimSpace(string(out))
	if _, err := os.Stat(bin); err != nil {
		requirePart(tb, "%s is missing; run hack/gitea.sh (builds Gitea from source, about 5 minutes)", bin)
	}
	work := tb.TempDir()
	port := freePort(tb)
	g := &Gitea{URL: fmt.Sprintf("http://127.0.0.1:%d", port), User: "paved", Password: "paved-" + randomHex(8)}
	// As FACTS records: root needs I_AM_BEING_UNSAFE_RUNNING_AS_ROOT, the
	// web server needs the source's options/ (STATIC_ROOT_PATH), webhooks
	// to a loopback Paved need ALLOWED_HOST_LIST.
	ini := fmt.Sprintf(`I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true
RUN_MODE = prod
WORK_PATH = %[1]s

[server]
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]d
ROOT_URL = %[3]s/
DISABLE_SSH = true
OFFLINE_MODE = true
STATIC_ROOT_PATH = %[4]s

[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db

[security]
INSTALL_LOCK = true

[webhook]
ALLOWED_HOST_LIST = loopback

[service]
DISABLE_REGISTRATION = true

[repository]
ROOT = %[1]s/repos

[log]
LEVEL = Warn
`, work, port, g.URL, filepath.Join(filepath.Dir(bin), "src"))
	cfg := filepath.Join(work, "app.ini")
	if err := os.WriteFile(cfg, []byte(ini), 0o600); err != nil {
		tb.Fatal(err)
	}
	env := append(os.Environ(), "GITEA_WORK_DIR="+work, "GITEA_CUSTOM="+filepath.Join(work, "custom"))
	run := func(args ...string) string {
		cmd := exec.Command(bin, append(args, "-c", cfg)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			tb.Fatalf("gitea %s: %v\n%s", args[0], err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("migrate")
	run("admin", "user", "create", "--admin", "--username", g.User, "--password", g.Password, "--email", "paved@example.com", "--must-change-password=false")
	g.Token = lastLine(run("admin", "user", "generate-access-token", "--username", g.User, "--token-name", "paved", "--scopes", "all", "--raw"))
	log := &SyncBuffer{}
	cmd := exec.Command(bin, "web", "-c", cfg)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(g.URL + "/api/v1/version"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Gitea did not answer within 30 s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
