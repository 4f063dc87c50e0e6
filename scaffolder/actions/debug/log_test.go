package debug_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/debug"
)

func TestLog(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "cmd"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"README.md", "cmd/main.go"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("secret content"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var log bytes.Buffer
	call := &scaffolder.Call{Input: map[string]any{"message": "hello", "listWorkspace": true}, Workspace: root,
		Log: slog.New(slog.NewTextHandler(&log, nil))}
	if _, err := (debug.Log{}).Run(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	if !strings.Contains(out, "hello") || !strings.Contains(out, "cmd/main.go") || strings.Contains(out, "secret content") {
		t.Fatalf("log = %s; want the message and the file names, not the contents", out)
	}
	call.Input = map[string]any{"listWorkspace": "with-contents"}
	if _, err := (debug.Log{}).Run(context.Background(), call); paved.ErrorCode(err) != paved.CodeInvalid {
		t.Fatalf("with-contents: %v, want refused", err)
	}
}
