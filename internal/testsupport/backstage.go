package testsupport

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@backstage", "catalog-client")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		out, installErr = cmd.CombinedOutput()
	})
	if installErr != nil {
		requirePart(tb, "npm ci in %s failed (is the npm registry reachable?): %v\n%s", dir, installErr, out)
	}
	return dir
}
