package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// started is a paved serve running in-process.
type started struct {
	url    string
	stderr *testsupport.SyncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startServe runs `paved serve` with args through run, as main would, and
// returns once it prints its address.
func startServe(tb testing.TB, env map[string]string, args ...string) *started {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdoutR, stdoutW := io.Pipe()
	s := &started{stderr: &testsupport.SyncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, append([]string{"paved", "serve", "--listen", "127.0.0.1:0", "--log-format", "json"}, args...),
			func(k string) string { return env[k] }, stdoutW, s.stderr)
		stdoutW.Close()
		s.done <- err
	}()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	go io.Copy(io.Discard, stdoutR)
	if err != nil {
		cancel()
		tb.Fatalf("paved serve exited before listening: %v\nstderr:\n%s", <-s.done, s.stderr)
	}
	s.url = strings.TrimSpace(strings.TrimPrefix(line, "paved listening on "))
	tb.Cleanup(func() { s.stop(tb) })
	return s
}

// stop sends the equivalent of SIGTERM and waits for a clean exit.
func (s *started) stop(tb testing.TB) {
	tb.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			tb.Fatalf("paved serve exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		tb.Fatal("paved serve did not stop within 30s of cancellation")
	}
}

func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The whole binary on each database: starts, is ready, counts requests,
// logs JSON with request ids, and stops cleanly.
func TestServeEndToEnd(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		s := startServe(t, nil, "--data-dir", t.TempDir(), "--database-url", testsupport.DatabaseURL(t, dialect))
		if code, body := get(t, s.url+"/readyz"); code != 200 || !strings.Contains(body, `"status":"ready"`) {
			t.Fatalf("/readyz = %d %s", code, body)
		}
		if code, _ := get(t, s.url+"/healthz"); code != 200 {
			t.Fatalf("/healthz = %d", code)
		}
		if code, body := get(t, s.url+"/api/nothing"); code != 404 || !strings.Contains(body, `"code":"not_found"`) {
			t.Fatalf("/api/nothing = %d %s", code, body)
		}
		_, metrics := get(t, s.url+"/metrics")
		if !strings.Contains(metrics, `paved_http_requests_total{code="200",method="GET",route="/readyz"} 1`) {
			t.Fatalf("/metrics does not count the /readyz request:\n%s", metrics)
		}
		s.stop(t)
		assertJSONLogs(t, s.stderr.String(), "paved ready", "shutting down: draining in-flight requests")
	})
}

// assertJSONLogs checks every line is a JSON record and the messages appear.
func assertJSONLogs(t *testing.T, logs string, messages ...string) {
	t.Helper()
	seen := map[string]bool{}
	sawRequestID := false
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		seen[rec["msg"].(string)] = true
		if rec["msg"] == "request" && rec["request_id"] != nil {
			sawRequestID = true
		}
	}
	for _, m := range messages {
		if !seen[m] {
			t.Errorf("no %q in the logs:\n%s", m, logs)
		}
	}
	if !sawRequestID {
		t.Errorf("no request log line carries a request_id:\n%s", logs)
	}
}

// A restart on the same data directory keeps the database and migrates
// nothing again.
func TestServeRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	first := startServe(t, nil, "--data-dir", dir)
	first.stop(t)
	second := startServe(t, map[string]string{"PAVED_DATA_DIR": dir})
	if code, _ := get(t, second.url+"/readyz"); code != 200 {
		t.Fatalf("/readyz after restart = %d", code)
	}
	second.stop(t)
	if strings.Contains(second.stderr.String(), "migration applied") {
		t.Fatalf("the restart applied migrations again:\n%s", second.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "paved.db")); err != nil {
		t.Fatal(err)
	}
}

// Bad input ends with a clear message and the right exit status.
func TestRunErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	foreign := filepath.Join(t.TempDir(), "paved.db")
	if err := os.WriteFile(foreign, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		Name     string
		Args     []string
		Env      map[string]string
		WantCode int
		WantMsg  string
	}{
		{"NoCommand", nil, nil, 2, "no command given"},
		{"UnknownCommand", []string{"srve"}, nil, 2, `unknown command "srve"`},
		{"UnknownFlag", []string{"serve", "--port", "80"}, nil, 2, "flag provided but not defined: -port"},
		{"BadLogFormat", []string{"serve", "--log-format", "xml"}, nil, 2, "--log-format: \"xml\" is not one of auto, text, json"},
		{"BadEnv", []string{"migrate"}, map[string]string{"PAVED_SHUTDOWN_TIMEOUT": "soon"}, 2, "PAVED_SHUTDOWN_TIMEOUT"},
		{"PortInUse", []string{"serve", "--listen", busy.Addr().String(), "--data-dir", t.TempDir()}, nil, 1,
			"cannot listen on " + busy.Addr().String() + ": the address is already in use"},
		{"UnreachableDatabase", []string{"serve", "--listen", "127.0.0.1:0", "--database-url", "postgres://paved@127.0.0.1:1/paved?connect_timeout=2"}, nil, 1,
			"cannot reach PostgreSQL at 127.0.0.1:1/paved"},
		{"ForeignFile", []string{"migrate", "--database-url", "sqlite:" + foreign}, nil, 1, "is not a SQLite database; refusing to touch it"},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"paved"}, tt.Args...), func(k string) string { return tt.Env[k] }, &stdout, &stderr)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if code := exitCode(err); code != tt.WantCode || !strings.Contains(err.Error(), tt.WantMsg) {
				t.Fatalf("exit %d, error %q; want exit %d with %q", code, err, tt.WantCode, tt.WantMsg)
			}
		})
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	for _, cmd := range []string{"serve", "migrate"} {
		var stdout bytes.Buffer
		if err := run(context.Background(), []string{"paved", cmd, "--help"}, func(string) string { return "" }, &stdout, io.Discard); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Usage: paved " + cmd, "`--listen` | `PAVED_LISTEN` | `127.0.0.1:8080`", "`--database-url` | `PAVED_DATABASE_URL`"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("paved %s --help lacks %q:\n%s", cmd, want, stdout.String())
			}
		}
	}
}

func TestMigrateCommand(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		url := testsupport.DatabaseURL(t, dialect)
		for range 2 { // the second run finds nothing to do
			var stdout bytes.Buffer
			err := run(context.Background(), []string{"paved", "migrate", "--database-url", url, "--log-format", "json"},
				func(string) string { return "" }, &stdout, io.Discard)
			if err != nil || !strings.Contains(stdout.String(), "(up to date)") {
				t.Fatalf("paved migrate: %v, %q", err, stdout.String())
			}
		}
	})
}
