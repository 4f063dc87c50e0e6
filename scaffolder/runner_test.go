package scaffolder_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/debug"
	"github.com/paved-dev/paved/scaffolder/render"
)

// world is what the test actions change: things created and deleted,
// in order, like repositories on a git host.
type world struct {
	mu      sync.Mutex
	created []string
	deleted []string
	runs    map[string]int
	// block, when set, holds test:create for name until closed.
	block map[string]chan struct{}
	// fail makes test:create refuse name.
	fail    map[string]bool
	started chan string
}

func newWorld() *world {
	return &world{runs: map[string]int{}, block: map[string]chan struct{}{}, fail: map[string]bool{}, started: make(chan string, 16)}
}

func (w *world) live() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, c := range w.created {
		if !slices.Contains(w.deleted, c) {
			out = append(out, c)
		}
	}
	return out
}

// create is test:create: it makes input.name (fails on input.fail) and
// can be undone.
type create struct{ w *world }

func (create) ID() string          { return "test:create" }
func (create) Description() string { return "creates a thing" }
func (a create) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	name, _ := call.Input["name"].(string)
	a.w.mu.Lock()
	a.w.runs[name]++
	ch, fail := a.w.block[name], a.w.fail[name]
	a.w.mu.Unlock()
	a.w.started <- name
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail || call.Input["fail"] == true {
		return nil, errors.New("the host refused " + name)
	}
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	a.w.created = append(a.w.created, name)
	call.Log.Info("created " + name + " with token " + strings.TrimSpace(asString(call.Input["token"])))
	return map[string]any{"made": name}, nil
}

func (a create) Undo(_ context.Context, call *scaffolder.Call, output map[string]any) error {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	name, _ := output["made"].(string)
	if call.Input["name"] != name {
		return errors.New("undo was given another input than the step's: " + asString(call.Input["name"]))
	}
	if call.Input["undoFails"] == true {
		return errors.New("cannot delete " + name)
	}
	a.w.deleted = append(a.w.deleted, name)
	return nil
}

func asString(v any) string { s, _ := v.(string); return s }

const runnerTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: runner}
spec:
  owner: team-a
  type: service
  steps:
    - {id: log, action: debug:log, input: {message: 'making ${{ parameters.name }}'}}
    - {id: repo, action: test:create, input: {name: '${{ parameters.name }}-repo', token: '${{ secrets.token }}'}}
    - {id: keep, action: test:create, input: {name: '${{ parameters.name }}-keep', undoFails: '${{ parameters.undoFails }}'}}
    - {id: env, action: test:create, input: {name: '${{ parameters.name }}-env', fail: '${{ parameters.fail }}'}}
  output:
    links: [{title: Repository, url: 'https://git/${{ steps.repo.output.made }}'}]
`

type runnerFixture struct {
	store *scaffolder.TaskStore
	world *world
	tpl   *scaffolder.Template
}

func newRunnerFixture(t *testing.T, dialect database.Dialect) *runnerFixture {
	key := make([]byte, scaffolder.SecretKeySize)
	_, _ = rand.Read(key)
	sealer, err := scaffolder.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return &runnerFixture{store: scaffolder.NewTaskStore(testsupport.OpenDB(t, dialect), sealer), world: newWorld(), tpl: parse(t, runnerTemplate)}
}

func (f *runnerFixture) runner(t *testing.T, worker string) *scaffolder.Runner {
	actions, err := scaffolder.NewRegistry(create{f.world}, debug.Log{})
	if err != nil {
		t.Fatal(err)
	}
	return &scaffolder.Runner{Store: f.store, Actions: actions, Render: &render.Engine{}, WorkDir: t.TempDir(), Worker: worker,
		Heartbeat: 20 * time.Millisecond, StaleAfter: time.Second, Log: slog.New(slog.DiscardHandler)}
}

func (f *runnerFixture) task(t *testing.T, values map[string]any, undo *bool) *scaffolder.Task {
	t.Helper()
	spec := scaffolder.TaskSpec{Template: f.tpl.Entity, Values: values, UndoOnFailure: undo}
	task, err := f.store.CreateTask(context.Background(), f.tpl, spec, "user:default/ada", map[string]string{"token": "tok-9f8e7d"})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func (f *runnerFixture) get(t *testing.T, id string) *scaffolder.Task {
	t.Helper()
	task, err := f.store.Task(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func stepStates(task *scaffolder.Task) string {
	var out []string
	for _, st := range task.Steps {
		s := st.ID + ":" + string(st.Status)
		if st.Undo != "" {
			s += "/" + st.Undo
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestRunnerRunsTask(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		f := newRunnerFixture(t, dialect)
		task := f.task(t, map[string]any{"name": "svc"}, nil)
		if err := f.runner(t, "w1").Run(ctx, task.ID); err != nil {
			t.Fatal(err)
		}
		got := f.get(t, task.ID)
		if got.Status != scaffolder.TaskCompleted || stepStates(got) != "log:completed repo:completed keep:completed env:completed" {
			t.Fatalf("task %s: %s", got.Status, stepStates(got))
		}
		links, _ := got.Output["links"].([]any)
		if len(links) != 1 || links[0].(map[string]any)["url"] != "https://git/svc-repo" {
			t.Fatalf("output = %v", got.Output)
		}
		if secrets, err := f.store.Secrets(ctx, task.ID); err != nil || secrets != nil {
			t.Fatalf("secrets after the task ended = %v, %v; want them erased", secrets, err)
		}
		events, err := f.store.Events(ctx, task.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, e := range events {
			msgs = append(msgs, e.Type+": "+asString(e.Body["message"]))
		}
		all := strings.Join(msgs, "\n")
		for _, want := range []string{"log: Beginning step repo", "log: making svc", "log: created svc-repo with token ***",
			"log: Finished step env", "completion: Run completed with status: completed"} {
			if !strings.Contains(all, want) {
				t.Errorf("events lack %q:\n%s", want, all)
			}
		}
		if strings.Contains(all, "tok-9f8e7d") {
			t.Errorf("a secret reached the event log:\n%s", all)
		}
	})
}

// A task whose worker died (its heartbeat is stale) is taken over and
// resumed after its last completed step: nothing with effects runs twice;
// a replayable step runs again to rebuild the workspace.
func TestRunnerResumesTaskOfDeadWorker(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		f := newRunnerFixture(t, dialect)
		task := f.task(t, map[string]any{"name": "svc"}, nil)
		dead := f.runner(t, "dead")
		f.world.block["svc-keep"] = make(chan struct{}) // dies in step keep
		runCtx, kill := context.WithCancel(ctx)
		go func() {
			for name := range f.world.started {
				if name == "svc-keep" {
					kill()
					return
				}
			}
		}()
		if err := dead.Run(runCtx, task.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, task.ID); got.Status != scaffolder.TaskProcessing || got.ClaimedBy != "dead" {
			t.Fatalf("interrupted task: %s by %q, want processing by dead", got.Status, got.ClaimedBy)
		}
		delete(f.world.block, "svc-keep")
		f.world.started = make(chan string, 16)

		alive := f.runner(t, "alive")
		if err := alive.Run(ctx, task.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, task.ID); got.Status != scaffolder.TaskProcessing {
			t.Fatalf("a live claim was taken over: %s", got.Status)
		}
		f.store.Now = func() time.Time { return time.Now().Add(2 * time.Second) } // dead's heartbeat is now stale
		if err := alive.Run(ctx, task.ID); err != nil {
			t.Fatal(err)
		}
		got := f.get(t, task.ID)
		if got.Status != scaffolder.TaskCompleted {
			t.Fatalf("resumed task: %s (%s) %s", got.Status, got.LastError, stepStates(got))
		}
		if f.world.runs["svc-repo"] != 1 || f.world.runs["svc-keep"] != 2 || f.world.runs["svc-env"] != 1 {
			t.Fatalf("runs = %v; want repo once, keep twice (it was cut off), env once", f.world.runs)
		}
		events, _ := f.store.Events(ctx, task.ID, 0)
		if !slices.ContainsFunc(events, func(e scaffolder.TaskEvent) bool {
			return strings.HasPrefix(asString(e.Body["message"]), "Resuming after step repo")
		}) {
			t.Fatalf("no resume event in %v", events)
		}
	})
}

func TestRunnerUndoesFailedTask(t *testing.T) {
	no := false
	cases := []struct {
		name   string
		values map[string]any
		undo   *bool
		annot  string
		states string
		live   []string
	}{
		{name: "Default", values: map[string]any{"name": "a", "fail": true},
			states: "log:completed/not-undoable repo:completed/undone keep:completed/undone env:failed", live: nil},
		{name: "UndoFails", values: map[string]any{"name": "b", "fail": true, "undoFails": true},
			states: "log:completed/not-undoable repo:completed/undone keep:completed/undo-failed env:failed", live: []string{"b-keep"}},
		{name: "RequestSaysNo", values: map[string]any{"name": "c", "fail": true}, undo: &no,
			states: "log:completed repo:completed keep:completed env:failed", live: []string{"c-repo", "c-keep"}},
		{name: "TemplateSaysNo", values: map[string]any{"name": "d", "fail": true}, annot: "false",
			states: "log:completed repo:completed keep:completed env:failed", live: []string{"d-repo", "d-keep"}},
	}
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := newRunnerFixture(t, dialect)
				if tc.annot != "" {
					f.tpl.Entity["metadata"].(map[string]any)["annotations"] = map[string]any{scaffolder.AnnotationUndoOnFailure: tc.annot}
				}
				task := f.task(t, tc.values, tc.undo)
				if err := f.runner(t, "w").Run(context.Background(), task.ID); err != nil {
					t.Fatal(err)
				}
				got := f.get(t, task.ID)
				if got.Status != scaffolder.TaskFailed || !strings.Contains(got.LastError, "the host refused") {
					t.Fatalf("task %s, error %q", got.Status, got.LastError)
				}
				if stepStates(got) != tc.states {
					t.Fatalf("steps %s\nwant  %s", stepStates(got), tc.states)
				}
				if live := f.world.live(); !slices.Equal(live, tc.live) {
					t.Fatalf("left behind %v, want %v", live, tc.live)
				}
				if len(f.world.deleted) == 2 && f.world.deleted[0] != tc.values["name"].(string)+"-keep" {
					t.Fatalf("undone in order %v; want the last step first", f.world.deleted)
				}
			})
		}
	})
}

// Retry runs a failed task again from its failed step, keeping what was
// not undone.
func TestRunnerRetriesFromFailedStep(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		f := newRunnerFixture(t, dialect)
		no := false
		task := f.task(t, map[string]any{"name": "r"}, &no)
		f.world.fail["r-env"] = true
		r := f.runner(t, "w")
		if err := r.Run(ctx, task.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Retry(ctx, f.get(t, task.ID).ID, map[string]string{"token": "t2"}); err != nil {
			t.Fatal(err)
		}
		delete(f.world.fail, "r-env") // the host accepts now
		if err := r.Run(ctx, task.ID); err != nil {
			t.Fatal(err)
		}
		got := f.get(t, task.ID)
		if got.Status != scaffolder.TaskCompleted || f.world.runs["r-repo"] != 1 || f.world.runs["r-env"] != 2 {
			t.Fatalf("retried task %s, runs %v", got.Status, f.world.runs)
		}
		if _, err := f.store.Retry(ctx, task.ID, nil); err == nil {
			t.Fatal("a completed task was retried")
		}
	})
}

// Cancel stops a running task after its current step and undoes it.
func TestRunnerCancelsAfterCurrentStep(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		f := newRunnerFixture(t, dialect)
		task := f.task(t, map[string]any{"name": "x"}, nil)
		release := make(chan struct{})
		f.world.block["x-repo"] = release
		done := make(chan error, 1)
		go func() { done <- f.runner(t, "w").Run(ctx, task.ID) }()
		for name := range f.world.started {
			if name == "x-repo" {
				break
			}
		}
		if got, err := f.store.RequestCancel(ctx, task.ID); err != nil || !got.CancelRequested {
			t.Fatalf("RequestCancel = %+v, %v", got, err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got := f.get(t, task.ID)
		if got.Status != scaffolder.TaskCancelled || stepStates(got) != "log:completed/not-undoable repo:completed/undone keep:open env:open" {
			t.Fatalf("cancelled task %s: %s", got.Status, stepStates(got))
		}
		if live := f.world.live(); len(live) != 0 {
			t.Fatalf("left behind %v", live)
		}

		open := f.task(t, map[string]any{"name": "y"}, nil)
		if got, err := f.store.RequestCancel(ctx, open.ID); err != nil || got.Status != scaffolder.TaskCancelled {
			t.Fatalf("cancel of an open task = %+v, %v", got, err)
		}
		if err := f.runner(t, "w").Run(ctx, open.ID); err != nil || f.world.runs["y-repo"] != 0 {
			t.Fatalf("a cancelled task ran: %v, %v", err, f.world.runs)
		}
	})
}

// Of several workers racing for one task, one runs it.
func TestRunnerClaimsOnce(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		f := newRunnerFixture(t, dialect)
		task := f.task(t, map[string]any{"name": "once"}, nil)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f.runner(t, "w"+string(rune('0'+i))).Run(context.Background(), task.ID); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if f.world.runs["once-repo"] != 1 || f.get(t, task.ID).Status != scaffolder.TaskCompleted {
			t.Fatalf("runs = %v, status %s", f.world.runs, f.get(t, task.ID).Status)
		}
	})
}

// Secrets rest sealed: the stored column holds no secret, and a sealed
// value does not open for another task.
func TestSealer(t *testing.T) {
	key := make([]byte, scaffolder.SecretKeySize)
	s, err := scaffolder.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("task-1", map[string]string{"token": "hunter2"})
	if err != nil || strings.Contains(sealed, "hunter2") {
		t.Fatalf("Seal = %q, %v", sealed, err)
	}
	if got, err := s.Open("task-1", sealed); err != nil || got["token"] != "hunter2" {
		t.Fatalf("Open = %v, %v", got, err)
	}
	if _, err := s.Open("task-2", sealed); err == nil {
		t.Fatal("secrets sealed for task-1 opened for task-2")
	}
	other, _ := scaffolder.NewSealer(append([]byte{1}, key[1:]...))
	if _, err := other.Open("task-1", sealed); err == nil || !strings.Contains(err.Error(), "share the scaffolder secrets key") {
		t.Fatalf("another key: %v", err)
	}
	if _, err := scaffolder.NewSealer(key[:16]); err == nil {
		t.Fatal("a 16-byte key was accepted")
	}
	dir := t.TempDir()
	k1, err := scaffolder.LoadOrCreateKey(dir + "/k")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := scaffolder.LoadOrCreateKey(dir + "/k")
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("the key changed between loads: %v", err)
	}
}

// A task cancelled while no worker ran it (its worker died after some
// steps) is undone by the worker that picks it up, with the inputs its
// steps had.
func TestRunnerUndoesTaskCancelledWhileItsWorkerWasDead(t *testing.T) {
	ctx := context.Background()
	f := newRunnerFixture(t, database.SQLite)
	task := f.task(t, map[string]any{"name": "z"}, nil)
	f.world.block["z-keep"] = make(chan struct{})
	runCtx, kill := context.WithCancel(ctx)
	go func() {
		for name := range f.world.started {
			if name == "z-keep" {
				kill()
				return
			}
		}
	}()
	if err := f.runner(t, "dead").Run(runCtx, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.RequestCancel(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	f.store.Now = func() time.Time { return time.Now().Add(2 * time.Second) }
	if err := f.runner(t, "next").Run(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	got := f.get(t, task.ID)
	if got.Status != scaffolder.TaskCancelled || !slices.Equal(f.world.deleted, []string{"z-repo"}) {
		t.Fatalf("task %s (%s), deleted %v", got.Status, stepStates(got), f.world.deleted)
	}
}

type recordingQueue struct{ ids []string }

func (q *recordingQueue) Insert(_ context.Context, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	q.ids = append(q.ids, args.(scaffolder.TaskArgs).TaskID)
	return &rivertype.JobInsertResult{}, nil
}

// Recovery enqueues the tasks of dead workers and open tasks whose job
// was lost, and leaves live and fresh ones alone.
func TestRecovererEnqueuesStaleTasks(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		f := newRunnerFixture(t, dialect)
		start := time.Now()
		f.store.Now = func() time.Time { return start }
		dead, live, lost := f.task(t, map[string]any{"name": "a"}, nil), f.task(t, map[string]any{"name": "b"}, nil), f.task(t, map[string]any{"name": "c"}, nil)
		for id, worker := range map[string]string{dead.ID: "dead", live.ID: "live"} {
			if _, ok, err := f.store.Claim(ctx, id, worker, start); err != nil || !ok {
				t.Fatal(err)
			}
		}
		f.store.Now = func() time.Time { return start.Add(time.Minute) }
		if err := f.store.Heartbeat(ctx, live.ID, "live"); err != nil {
			t.Fatal(err)
		}
		fresh := f.task(t, map[string]any{"name": "d"}, nil)
		q := &recordingQueue{}
		r := &scaffolder.Recoverer{Store: f.store, Queue: q, StaleAfter: 30 * time.Second, Log: slog.New(slog.DiscardHandler)}
		if err := r.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		slices.Sort(q.ids)
		want := []string{dead.ID, lost.ID}
		slices.Sort(want)
		if !slices.Equal(q.ids, want) || slices.Contains(q.ids, fresh.ID) {
			t.Fatalf("enqueued %v, want the dead worker's and the lost one %v", q.ids, want)
		}
	})
}
