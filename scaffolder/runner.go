package scaffolder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/paved-dev/paved/scaffolder/render"
)

// AnnotationUndoOnFailure on a Template says whether a task that fails
// (or is cancelled) undoes its completed steps: "true" (the default) or
// "false". An annotation, so the template still validates under
// Backstage's schema.
const AnnotationUndoOnFailure = "paved.dev/undo-on-failure"

// Runner runs stored tasks: it claims one, runs its steps with progress,
// log and heartbeat recorded in the Store, resumes a task whose worker
// died after its last completed step, and undoes the completed steps of
// a task that fails or is cancelled.
type Runner struct {
	Store   *TaskStore
	Actions *Registry
	Render  *render.Engine
	// Files opens the directory a step's url names, relative to the
	// template entity's own location; nil when templates read no files.
	Files func(ctx context.Context, template map[string]any, url string) (fs.FS, error)
	// WorkDir holds the tasks' workspaces (os.TempDir when empty); a
	// workspace lives as long as one run of its task.
	WorkDir string
	// Network, when set, wraps the context steps run in with the rules
	// of what they may dial (catalog.Policy.Context: go-git's HTTP
	// transport is the catalog's, process-wide).
	Network func(context.Context) context.Context
	// Worker names this process in the tasks it claims.
	Worker string
	// Heartbeat is how often a running task's heartbeat is recorded;
	// StaleAfter is how old a heartbeat must be for another worker to
	// take the task over.
	Heartbeat, StaleAfter time.Duration
	Log                   *slog.Logger
}

// errCancelled stops a run whose cancellation was requested.
var errCancelled = errors.New("the task was cancelled")

// Run claims the task and runs it to its end. A task that is not open,
// nor stale, nor this worker's is someone else's: Run returns nil. An
// error means the task could not be run (the database failed) and is
// still claimable once its heartbeat is stale.
func (r *Runner) Run(ctx context.Context, id string) error {
	task, claimed, err := r.Store.Claim(ctx, id, r.Worker, r.Store.Now().Add(-r.StaleAfter))
	if err != nil || !claimed {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopBeat := r.beat(ctx, id, cancel)
	defer stopBeat()
	ev := &taskEvents{store: r.Store, id: id}
	log := slog.New(ev)
	tpl, err := ParseTemplate(task.Spec.Template)
	if err != nil {
		return r.finish(ctx, ev, task, nil, nil, err)
	}
	tpl.Ref = task.TemplateRef
	secrets, err := r.Store.Secrets(ctx, id)
	if err != nil {
		return r.finish(ctx, ev, task, nil, nil, err)
	}
	ws, cleanup, err := r.workspace(id)
	if err != nil {
		return err
	}
	defer cleanup()
	x := &Execution{Template: tpl, Values: task.Spec.Values, Secrets: secrets, User: task.Spec.User, Workspace: ws,
		Log: log, Render: r.Render, Actions: r.Actions, Completed: r.completed(task, tpl, ev)}
	if r.Files != nil {
		x.Files = func(ctx context.Context, url string) (fs.FS, error) { return r.Files(ctx, task.Spec.Template, url) }
	}
	x.OnStart = func(ctx context.Context, step Step) error { return r.started(ctx, ev, step) }
	x.OnStep = func(ctx context.Context, res StepResult) error { return r.stepped(ctx, ev, res) }
	if task.CancelRequested {
		return r.finish(ctx, ev, task, x, nil, errCancelled)
	}
	runCtx := ctx
	if r.Network != nil {
		runCtx = r.Network(ctx)
	}
	results, output, runErr := x.Run(runCtx)
	if cause := context.Cause(ctx); errors.Is(runErr, ErrClaimLost) || ctx.Err() != nil && !errors.Is(runErr, errCancelled) {
		// Another worker took over, or this process is stopping: the
		// task stays processing, and a worker resumes it once its
		// heartbeat is stale.
		r.Log.WarnContext(context.WithoutCancel(ctx), "scaffolder task interrupted", "task", id, "err", cause)
		return nil
	}
	return r.finish(ctx, ev, task, x, results, outcome(runErr, output))
}

// outcome is the run's error, or a done carrying its output.
func outcome(runErr error, output map[string]any) error {
	if runErr != nil {
		return runErr
	}
	return done{output: output}
}

// done is a run that completed, with the template's output.
type done struct{ output map[string]any }

func (done) Error() string { return "completed" }

// beat records the heartbeat until stopped; a lost claim cancels ctx.
func (r *Runner) beat(ctx context.Context, id string, cancel context.CancelCauseFunc) (stop func()) {
	tick := time.NewTicker(r.Heartbeat)
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := r.Store.Heartbeat(ctx, id, r.Worker); errors.Is(err, ErrClaimLost) {
					cancel(ErrClaimLost)
					return
				} else if err != nil {
					r.Log.WarnContext(ctx, "scaffolder task heartbeat failed", "task", id, "err", err)
				}
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// workspace makes the run's empty working directory.
func (r *Runner) workspace(id string) (*os.Root, func(), error) {
	dir := r.WorkDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	path, err := os.MkdirTemp(dir, "task-"+id+"-")
	if err != nil {
		return nil, nil, err
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		os.RemoveAll(path)
		return nil, nil, err
	}
	return root, func() { root.Close(); os.RemoveAll(path) }, nil
}

// completed are the outputs of the steps an earlier run completed whose
// effects outlive the workspace; replayable ones run again to rebuild it.
func (r *Runner) completed(task *Task, tpl *Template, ev *taskEvents) map[string]map[string]any {
	out := map[string]map[string]any{}
	var last string
	actions := map[string]string{}
	for _, st := range tpl.Steps {
		actions[st.ID] = st.Action
	}
	for _, st := range task.Steps {
		if st.Status != StepCompleted {
			continue
		}
		last = st.ID
		if a, err := r.Actions.Action(actions[st.ID]); err == nil {
			if rp, ok := a.(Replayable); ok && rp.Replayable() {
				continue
			}
		}
		out[st.ID] = st.Output
	}
	if last != "" {
		ev.log(context.Background(), "", "", fmt.Sprintf("Resuming after step %s: the worker that ran this task stopped", last))
	}
	return out
}

// started records that a step begins, as Backstage logs it.
func (r *Runner) started(ctx context.Context, ev *taskEvents, step Step) error {
	if err := r.cancelRequested(ctx, ev.id); err != nil {
		return err
	}
	_, err := r.Store.UpdateClaimed(ctx, ev.id, r.Worker, func(t *Task) error {
		t.setStep(TaskStep{ID: step.ID, Status: StepProcessing})
		return nil
	})
	if err != nil {
		return err
	}
	ev.log(ctx, step.ID, StepProcessing, "Beginning step "+stepName(step.Name, step.ID))
	return nil
}

// cancelRequested is errCancelled once the task's cancellation was asked for.
func (r *Runner) cancelRequested(ctx context.Context, id string) error {
	t, err := r.Store.Task(ctx, id)
	if err == nil && t.CancelRequested {
		return errCancelled
	}
	return nil
}

// stepped records a step's result.
func (r *Runner) stepped(ctx context.Context, ev *taskEvents, res StepResult) error {
	st := TaskStep{ID: res.ID, Status: res.Status, Output: res.Output}
	if res.Err != nil {
		st.Error = res.Err.Error()
	}
	_, err := r.Store.UpdateClaimed(ctx, ev.id, r.Worker, func(t *Task) error { t.setStep(st); return nil })
	if err != nil {
		return err
	}
	switch res.Status {
	case StepSkipped:
		ev.log(ctx, res.ID, StepSkipped, "Skipping step "+res.ID)
	case StepFailed:
		ev.log(ctx, res.ID, StepFailed, st.Error)
	default:
		ev.log(ctx, res.ID, res.Status, "Finished step "+stepName(res.Name, res.ID))
	}
	return nil
}

// stepName is how the log names a step: its name, or its id.
func stepName(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// finish ends the task: completed with its output, or failed or
// cancelled after undoing what it did, when undo is on.
func (r *Runner) finish(ctx context.Context, ev *taskEvents, task *Task, x *Execution, results []StepResult, end error) error {
	ctx = context.WithoutCancel(ctx)
	status, output := TaskFailed, map[string]any{}
	var d done
	switch {
	case errors.As(end, &d):
		status, output = TaskCompleted, d.output
	case errors.Is(end, errCancelled):
		status = TaskCancelled
	}
	var undone []UndoResult
	if status != TaskCompleted && x != nil && undoOnFailure(task) {
		undone = x.Undo(ctx, r.allCompleted(task, results))
		for _, u := range undone {
			msg := fmt.Sprintf("Undo of step %s: %s", u.StepID, u.Outcome)
			if u.Err != nil {
				msg += ": " + u.Err.Error()
			}
			ev.log(ctx, u.StepID, "", msg)
		}
	}
	_, err := r.Store.Finish(ctx, task.ID, r.Worker, func(t *Task) error {
		t.Status, t.Output = status, output
		if status == TaskFailed {
			t.LastError = end.Error()
		}
		for _, u := range undone {
			st := t.step(u.StepID)
			st.Undo = u.Outcome
			if u.Err != nil {
				st.UndoError = u.Err.Error()
			}
			t.setStep(*st)
		}
		return nil
	})
	if err != nil {
		return err
	}
	body := map[string]any{"message": "Run completed with status: " + status, "output": output}
	if status == TaskFailed {
		body["error"] = map[string]any{"name": "Error", "message": end.Error()}
	}
	_, err = r.Store.AppendEvent(ctx, task.ID, "completion", body)
	return err
}

// allCompleted are the completed steps of the task in template order:
// this run's results and those an earlier run completed.
func (r *Runner) allCompleted(task *Task, results []StepResult) []StepResult {
	mine := map[string]StepResult{}
	for _, res := range results {
		mine[res.ID] = res
	}
	var out []StepResult
	for _, st := range task.Steps {
		if res, ok := mine[st.ID]; ok {
			out = append(out, res)
		} else if st.Status == StepCompleted {
			out = append(out, StepResult{ID: st.ID, Status: StepCompleted, Output: st.Output})
		}
	}
	return out
}

// undoOnFailure is the request's choice, else the template's annotation,
// else true.
func undoOnFailure(task *Task) bool {
	if v := task.Spec.UndoOnFailure; v != nil {
		return *v
	}
	meta, _ := task.Spec.Template["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	if s, ok := ann[AnnotationUndoOnFailure].(string); ok {
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return true
}

func (t *Task) step(id string) *TaskStep {
	for i := range t.Steps {
		if t.Steps[i].ID == id {
			return &t.Steps[i]
		}
	}
	return &TaskStep{ID: id}
}

func (t *Task) setStep(st TaskStep) {
	for i := range t.Steps {
		if t.Steps[i].ID == st.ID {
			t.Steps[i] = st
			return
		}
	}
	t.Steps = append(t.Steps, st)
}
