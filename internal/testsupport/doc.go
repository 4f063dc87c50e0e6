// Package testsupport starts the real parts Paved's tests run against:
// PostgreSQL schemas and SQLite files, a kube-apiserver with etcd (envtest),
// and a smart-HTTP git server.
//
// A part that is missing makes a test skip with a loud message on a
// developer's machine and fail when the CI environment variable is set, so
// CI can never pass by skipping.
package testsupport

import (
	"os"
	"testing"
)

// requirePart fails the test under CI and skips it otherwise, saying what is
// missing and how to provide it.
func requirePart(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("CI is set, so this part must be available: "+format, args...)
	}
	tb.Skipf("SKIPPED, part missing: "+format, args...)
}
