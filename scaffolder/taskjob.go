package scaffolder

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/paved-dev/paved/internal/jobs"
)

// TaskArgs is the durable job that runs one task. Two jobs for one task
// are harmless: the first to claim the task runs it, the other returns.
type TaskArgs struct {
	TaskID string `json:"task_id"`
}

// Kind names the job kind.
func (TaskArgs) Kind() string { return "scaffolder.run_task" }

// TaskQueue is the queue tasks run in, apart from the catalog's jobs: a
// slow template cannot hold up refreshes, nor they it.
const TaskQueue = "scaffolder"

// InsertOpts puts task runs on TaskQueue.
func (TaskArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: TaskQueue} }

// TaskWorker works TaskArgs jobs.
type TaskWorker struct {
	river.WorkerDefaults[TaskArgs]
	Runner *Runner
	// MaxDuration bounds one run of a task.
	MaxDuration time.Duration
}

// Work runs the task.
func (w *TaskWorker) Work(ctx context.Context, job *river.Job[TaskArgs]) error {
	return w.Runner.Run(ctx, job.Args.TaskID)
}

// Timeout is the bound on one run (River's default, a minute, is too
// short for a template that creates a repository and environments).
func (w *TaskWorker) Timeout(*river.Job[TaskArgs]) time.Duration { return w.MaxDuration }

// RecoverArgs is the periodic job that finds tasks whose worker died (a
// stale heartbeat) or whose job was lost, and enqueues them again. River
// runs periodic jobs on its elected leader only.
type RecoverArgs struct{}

// Kind names the job kind.
func (RecoverArgs) Kind() string { return "scaffolder.recover_tasks" }

// RecoverWorker works RecoverArgs jobs.
type RecoverWorker struct {
	river.WorkerDefaults[RecoverArgs]
	Store      *TaskStore
	StaleAfter time.Duration
}

// recoverBatch bounds the tasks enqueued per recovery run.
const recoverBatch = 100

// Work enqueues a run of every stale task.
func (w *RecoverWorker) Work(ctx context.Context, _ *river.Job[RecoverArgs]) error {
	ids, err := w.Store.Stale(ctx, w.Store.Now().Add(-w.StaleAfter), recoverBatch)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := jobs.InsertFromWork(ctx, TaskArgs{TaskID: id}, nil); err != nil {
			return fmt.Errorf("enqueue task %s: %w", id, err)
		}
	}
	return nil
}
