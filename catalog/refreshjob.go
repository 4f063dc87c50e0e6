package catalog

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/jobs"
)

// RefreshArgs is the durable job that refreshes one location.
type RefreshArgs struct {
	LocationID string `json:"location_id" river:"unique"`
	// Force reprocesses even when the content is unchanged.
	Force bool `json:"force,omitempty"`
}

// Kind names the job kind.
func (RefreshArgs) Kind() string { return "catalog.refresh_location" }

// refreshUniqueStates are the states in which a refresh job blocks another
// for the same location: while it waits or runs. (River's default also
// counts completed jobs, which would skip every refresh of a location for
// a day after its first.)
var refreshUniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}

// InsertOpts makes jobs for the same location collapse while one is queued
// or running, forced or not, so a new location (queued by its
// registration and found due by the scheduler) or a burst of webhooks
// causes one refresh, and two never overlap. A push that lands while a
// refresh runs is picked up by the next scheduled one.
func (RefreshArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: refreshUniqueStates}}
}

// RefreshWorker works RefreshArgs jobs.
type RefreshWorker struct {
	river.WorkerDefaults[RefreshArgs]
	Ingester *Ingester
}

// Work refreshes the location. A location deleted meanwhile is done; a read
// failure is recorded on the location and not retried before its next turn.
func (w *RefreshWorker) Work(ctx context.Context, job *river.Job[RefreshArgs]) error {
	loc, err := w.Ingester.Store.Location(ctx, job.Args.LocationID)
	if paved.ErrorCode(err) == paved.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	res, err := w.Ingester.Refresh(ctx, loc, job.Args.Force)
	if err != nil {
		w.Ingester.Log.WarnContext(ctx, "location refresh failed", "location", loc.Type+":"+loc.PublicTarget(), "err", err)
		return nil // recorded on the location; the schedule tries again
	}
	w.Ingester.Log.InfoContext(ctx, "location refreshed", "location", loc.Type+":"+loc.PublicTarget(), "skipped", res.Skipped,
		"added", res.Applied.Added, "updated", res.Applied.Updated, "orphaned", res.Applied.Orphaned, "problems", len(res.Problems))
	if res.Applied.bulk() {
		// Hand the garbage of a bulk write back to the system now. A
		// server collects rarely (GOGC 400, for admission latency), so
		// the hundreds of megabytes a large ingest dropped would stay
		// resident until the runtime's periodic collection two minutes
		// later. One full collection of a small live heap costs
		// milliseconds.
		debug.FreeOSMemory()
	}
	return nil
}

// Timeout bounds one refresh (a slow git server must not hold a worker).
func (w *RefreshWorker) Timeout(*river.Job[RefreshArgs]) time.Duration { return 5 * time.Minute }

// ScheduleArgs is the periodic job that enqueues refreshes of due locations.
// River runs periodic jobs on its elected leader only, so with several
// replicas the schedule runs once.
type ScheduleArgs struct{}

// Kind names the job kind.
func (ScheduleArgs) Kind() string { return "catalog.schedule_refreshes" }

// Enqueuer inserts jobs; jobs.Queue satisfies it.
type Enqueuer interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// ScheduleWorker works ScheduleArgs jobs. It enqueues refreshes through
// the client working it.
type ScheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	Store *Store
}

// scheduleBatch bounds the locations enqueued per scheduler run.
const scheduleBatch = 500

// Work enqueues a refresh for every due location.
func (w *ScheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	due, err := w.Store.DueLocations(ctx, scheduleBatch)
	if err != nil {
		return err
	}
	for _, loc := range due {
		if _, err := jobs.InsertFromWork(ctx, RefreshArgs{LocationID: loc.ID}, nil); err != nil {
			return fmt.Errorf("enqueue refresh of %s: %w", loc.ID, err)
		}
	}
	return nil
}
