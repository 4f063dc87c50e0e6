package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mainEnv, when set, makes the test binary run main() with the arguments
// after "--", so a test can signal a real paved process.
const mainEnv = "PAVED_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) != "" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"paved"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// SIGTERM to a real process drains and exits 0.
func TestSIGTERMStopsCleanly(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json")
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("paved did not start: %v\n%s", err, stderr.String())
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "paved listening on "))
	if code, _ := get(t, url+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	go io.Copy(io.Discard, stdout)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("paved exited with %v after SIGTERM\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("paved did not exit within 30s of SIGTERM")
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Fatalf("no shutdown log:\n%s", stderr.String())
	}
}
