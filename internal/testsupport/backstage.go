package testsupport

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	backstageOnce        sync.Once
	backstageBackendOnce sync.Once
)

// BackstageNode returns hack/backstage with Backstage's own npm packages
// installed (npm ci from the committed package-lock.json, once per test
// binary; about 10 s the first time). Node 20+ and npm are required: their
// absence skips locally and fails under CI.
func BackstageNode(tb testing.TB) string {
	tb.Helper()
	return npmInstalled(tb, "backstage", &backstageOnce)
}

// npmInstalled returns hack/<name> with its npm packages installed.
func npmInstalled(tb testing.TB, name string, once *sync.Once) string {
	tb.Helper()
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			requirePart(tb, "%s is not installed (apt-get install nodejs npm)", bin)
		}
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(root, "hack", name)
	var installErr error
	var out []byte
	once.Do(func() {
		// Test binaries of several packages run at once: one installs, the
		// others wait on the lock and then find node_modules complete.
		unlock, err := lockFile(filepath.Join(dir, ".npm-install.lock"))
		if err != nil {
			installErr = err
			return
		}
		defer unlock()
		if _, err := os.Stat(filepath.Join(dir, "node_modules", ".paved-installed")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, installErr = cmd.CombinedOutput(); installErr == nil {
			installErr = os.WriteFile(filepath.Join(dir, "node_modules", ".paved-installed"), nil, 0o644)
		}
	})
	if installErr != nil {
		requirePart(tb, "npm ci in %s failed (is the npm registry reachable?): %v\n%s", dir, installErr, out)
	}
	return dir
}

// BackstageBackend is a real Backstage backend (catalog and scaffolder
// from npm, hack/backstage-backend) started for a test.
type BackstageBackend struct {
	URL   string // http://127.0.0.1:PORT
	Token string // a static token its externalAccess accepts
}

// StartBackstage starts a Backstage backend on a free loopback port with
// its databases on the test PostgreSQL server (dropped when the test
// ends), and waits until its scaffolder answers. About 15 s.
func StartBackstage(tb testing.TB) *BackstageBackend {
	tb.Helper()
	dir := npmInstalled(tb, "backstage-backend", &backstageBackendOnce)
	db := admin(tb)
	pg, err := url.Parse(os.Getenv(PostgresDSNEnv))
	if err != nil {
		tb.Fatal(err)
	}
	port := freePort(tb)
	prefix := "paved_bs_" + randomHex(4) + "_"
	token := "paved-test-" + randomHex(16)
	password, _ := pg.User.Password()
	config := fmt.Sprintf(`app: {baseUrl: http://127.0.0.1:3000}
backend:
  baseUrl: http://127.0.0.1:%[1]d
  listen: {port: %[1]d, host: 127.0.0.1}
  database:
    client: pg
    connection: {host: %[2]q, port: %[3]q, user: %[4]q, password: %[5]q}
    prefix: %[6]s
  auth:
    externalAccess:
      - type: static
        options: {token: %[7]s, subject: paved-tests}
`, port, pg.Hostname(), pg.Port(), pg.User.Username(), password, prefix, token)
	cfgPath := filepath.Join(tb.TempDir(), "app-config.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	log := &SyncBuffer{}
	cmd := exec.Command("node", "index.js", "--config", cfgPath)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, log, log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		dropDatabases(db, prefix)
	})
	b := &BackstageBackend{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Token: token}
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, b.URL+"/api/scaffolder/v2/actions", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			tb.Fatalf("Backstage did not start within 90 s:\n%s", log.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// DryRun posts body to Backstage's POST /api/scaffolder/v2/dry-run and
// returns its answer; anything but a 200 fails the test.
func (b *BackstageBackend) DryRun(tb testing.TB, body any) map[string]any {
	tb.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, b.URL+"/api/scaffolder/v2/dry-run", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("Backstage's dry run: %d %v %v", resp.StatusCode, err, out)
	}
	return out
}

// dropDatabases removes the databases Backstage made (one per plugin).
func dropDatabases(db *sql.DB, prefix string) {
	rows, err := db.Query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	if err != nil {
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			names = append(names, n)
		}
	}
	rows.Close()
	for _, n := range names {
		_, _ = db.Exec(`DROP DATABASE IF EXISTS "` + n + `" WITH (FORCE)`)
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// lockFile takes an exclusive lock on path, waiting for other processes.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
