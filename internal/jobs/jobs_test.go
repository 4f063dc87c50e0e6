package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/jobs"
	"github.com/paved-dev/paved/internal/testsupport"
)

// echoArgs is the trivial job of these tests: it carries a message that its
// worker hands back to the test.
type echoArgs struct {
	Message string `json:"message"`
}

func (echoArgs) Kind() string { return "test_echo" }

type echoWorker struct {
	river.WorkerDefaults[echoArgs]
	got chan<- string
}

func (w *echoWorker) Work(ctx context.Context, job *river.Job[echoArgs]) error {
	w.got <- job.Args.Message
	return nil
}

// enqueueEnv, when set, turns the test binary into the process that enqueues
// a job and is then killed (see TestJobSurvivesProcessKill).
const enqueueEnv = "PAVED_JOBS_TEST_ENQUEUE_URL"

func TestMain(m *testing.M) {
	if url := os.Getenv(enqueueEnv); url != "" {
		enqueueAndHang(url, os.Getenv("PAVED_JOBS_TEST_MESSAGE"))
	}
	os.Exit(m.Run())
}

// enqueueAndHang inserts one echo job, says so on stdout, and waits to be
// killed without closing anything.
func enqueueAndHang(url, message string) {
	ctx := context.Background()
	db, err := database.Open(ctx, url, os.TempDir())
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	q, err := jobs.New(db, testsupport.DiscardLogger(), jobs.Options{})
	if err == nil {
		_, err = q.Insert(ctx, echoArgs{Message: message}, nil)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("enqueued")
	select {}
}

// A job enqueued by a process that is then killed with SIGKILL is worked by
// the next process to open the database.
func TestJobSurvivesProcessKill(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		url := testsupport.DatabaseURL(t, dialect)
		migrate(t, url)
		message := "hello from " + t.Name()

		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), enqueueEnv+"="+url, "PAVED_JOBS_TEST_MESSAGE="+message)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		if strings.TrimSpace(line) != "enqueued" {
			cmd.Process.Kill()
			t.Fatalf("enqueuing process said %q", line)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		got := make(chan string, 1)
		workers := river.NewWorkers()
		river.AddWorker(workers, &echoWorker{got: got})
		ctx := context.Background()
		db, err := database.Open(ctx, url, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		q, err := jobs.New(db, testsupport.DiscardLogger(), jobs.Options{Workers: workers, FetchPollInterval: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		select {
		case m := <-got:
			if m != message {
				t.Fatalf("worked job carried %q, want %q", m, message)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the job enqueued before the kill was not worked within 30s")
		}
	})
}

// relayArgs is a job whose worker enqueues an echo job through
// InsertFromWork.
type relayArgs struct {
	Message string `json:"message"`
}

func (relayArgs) Kind() string { return "test_relay" }

type relayWorker struct {
	river.WorkerDefaults[relayArgs]
}

func (relayWorker) Work(ctx context.Context, job *river.Job[relayArgs]) error {
	_, err := jobs.InsertFromWork(ctx, echoArgs{Message: job.Args.Message}, nil)
	return err
}

// A worker enqueues through the client that works it, on both databases
// (River's transaction types differ); outside a worker, it is an error.
func TestInsertFromWork(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		db := testsupport.OpenDB(t, dialect)
		got := make(chan string, 1)
		workers := river.NewWorkers()
		river.AddWorker(workers, &echoWorker{got: got})
		river.AddWorker(workers, &relayWorker{})
		ctx := context.Background()
		q, err := jobs.New(db, testsupport.DiscardLogger(), jobs.Options{Workers: workers, FetchPollInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		if _, err := q.Insert(ctx, relayArgs{Message: "relayed"}, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m != "relayed" {
				t.Fatalf("echo job carried %q, want relayed", m)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the job enqueued by a worker was not worked within 30s")
		}
		if _, err := jobs.InsertFromWork(ctx, echoArgs{}, nil); err == nil || !strings.Contains(err.Error(), "not called from a worker") {
			t.Errorf("InsertFromWork outside a worker: %v", err)
		}
	})
}

func migrate(t *testing.T, url string) {
	t.Helper()
	db, err := database.Open(context.Background(), url, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background(), testsupport.DiscardLogger()); err != nil {
		t.Fatal(err)
	}
}
