package testsupport

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// UpstreamCRDs is the folder of real upstream CustomResourceDefinitions
// (Argo CD, Flux, Tekton, Istio, Prometheus Operator, SMI) that
// hack/crds.sh collects from pinned releases of their Go modules, one
// subfolder per project. Missing: skip locally, fail under CI (make test
// collects them first).
func UpstreamCRDs(tb testing.TB) string {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "hack", "crds.sh"), "--print").Output()
	if err != nil {
		tb.Fatalf("hack/crds.sh --print: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(dir, "SOURCES")); err != nil {
		requirePart(tb, "%s is missing; run hack/crds.sh (downloads the projects' modules through the proxy)", dir)
	}
	return dir
}
