package testsupport

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

var backstageOnce sync.Once

// BackstageNode returns hack/backstage with Backstage's own npm packages
// installed (npm ci from the committed package-lock.json, once per test
// binary; about 10 s the first time). Node 20+ and npm are required: their
// absence skips locally and fails under CI.
func BackstageNode(tb testing.TB) string {
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
	dir := filepath.Join(root, "hack", "backstage")
	var installErr error
	var out []byte
	backstageOnce.Do(func() {
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
