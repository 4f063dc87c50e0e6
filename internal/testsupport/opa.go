package testsupport

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// OPA returns the path of the real opa binary that hack/opa.sh builds
// (make test builds it first). Missing, the test skips locally and fails
// under CI.
func OPA(tb testing.TB) string {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "hack", "opa.sh"), "--print").Output()
	if err != nil {
		tb.Fatalf("hack/opa.sh --print: %v", err)
	}
	bin := strings.TrimSpace(string(out))
	if _, err := os.Stat(bin); err != nil {
		requirePart(tb, "%s is missing; run hack/opa.sh (builds OPA from source, about a minute)", bin)
	}
	return bin
}
