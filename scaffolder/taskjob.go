package scaffolder

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
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

// Enqueuer inserts jobs; jobs.Queue satisfies it.
type Enqueuer interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Recoverer finds tasks whose worker died (a stale heartbeat) or whose
// job was lost, and enqueues them again. Every replica runs one (a
// periodic job would wait for River's leader, whose lease outlives a
// killed leader by many seconds); two replicas enqueuing one task are
// harmless, as only one claims it.
type Recoverer struct {
	Store      *TaskStore
	Queue      Enqueuer
	StaleAfter time.Duration
	Log        *slog.Logger
}

// recoverBatch bounds the tasks enqueued per pass.
const recoverBatch = 100

// Run recovers at once and then every half StaleAfter until ctx ends.
func (r *Recoverer) Run(ctx context.Context) {
	tick := time.NewTicker(r.StaleAfter / 2)
	defer tick.Stop()
	for {
		if err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.Log.WarnContext(ctx, "scaffolder task recovery failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Pass enqueues a run of every stale task.
func (r *Recoverer) Pass(ctx context.Context) error {
	ids, err := r.Store.Stale(ctx, r.Store.Now().Add(-r.StaleAfter), recoverBatch)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := r.Queue.Insert(ctx, TaskArgs{TaskID: id}, nil); err != nil {
			return fmt.Errorf("enqueue task %s: %w", id, err)
		}
		r.Log.InfoContext(ctx, "scaffolder task recovered", "task", id)
	}
	return nil
}
