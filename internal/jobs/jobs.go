// Package jobs is Paved's durable job queue: River, in the same database as
// everything else (SQLite or PostgreSQL), so a queued job survives restarts
// and crashes and, on PostgreSQL, is shared by every replica.
//
// Domains add workers with river.AddWorker on a *river.Workers and pass it
// to New; they enqueue with Queue.Insert.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/paved-dev/paved/internal/database"
)

// Options tune a Queue. The zero value is an insert-only queue.
type Options struct {
	// Workers are the job kinds this process works. Nil makes an
	// insert-only queue: it can enqueue but Start does nothing.
	Workers *river.Workers
	// MaxWorkers is how many jobs of the default queue run at once in
	// this process (default 10).
	MaxWorkers int
	// Queues are further queues by name (a job names its queue in its
	// InsertOpts), so long jobs cannot starve the default queue's.
	Queues map[string]QueueOptions
	// Periodic jobs are enqueued on a schedule by the elected leader only,
	// so with several replicas each runs once per period.
	Periodic []*river.PeriodicJob
	// FetchPollInterval is how often idle workers look for new jobs
	// (River's default, 1 s, when zero). SQLite has no notifications, so
	// this is also the latency of a newly inserted job there.
	FetchPollInterval time.Duration
}

// QueueOptions tune one further queue.
type QueueOptions struct {
	// MaxWorkers is how many of its jobs run at once in this process.
	MaxWorkers int
	// FetchPollInterval overrides Options.FetchPollInterval for this
	// queue: on SQLite, the longest a new job waits to start.
	FetchPollInterval time.Duration
}

// Queue enqueues jobs and, with workers, works them.
type Queue struct {
	client  riverClient
	working bool
}

// riverClient is what Paved needs of River's client; it hides River's
// transaction type, which differs between the SQLite and pgx drivers.
type riverClient interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// New returns a queue over db, whose schema must be migrated.
func New(db *database.DB, log *slog.Logger, opts Options) (*Queue, error) {
	cfg := &river.Config{Logger: log.With("component", "jobs"), FetchPollInterval: opts.FetchPollInterval}
	if opts.Workers != nil {
		cfg.Workers = opts.Workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: orDefault(opts.MaxWorkers, 10)}}
		for name, q := range opts.Queues {
			cfg.Queues[name] = river.QueueConfig{MaxWorkers: orDefault(q.MaxWorkers, 1), FetchPollInterval: q.FetchPollInterval}
		}
		cfg.PeriodicJobs = opts.Periodic
	}
	var (
		client riverClient
		err    error
	)
	if db.Dialect == database.Postgres {
		client, err = river.NewClient(riverpgxv5.New(db.Pool()), cfg)
	} else {
		client, err = river.NewClient(riversqlite.New(db.SQL), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Queue{client: client, working: opts.Workers != nil}, nil
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Insert enqueues a job. It is durable once Insert returns.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := q.client.Insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s job: %w", args.Kind(), err)
	}
	return res, nil
}

// InsertFromWork enqueues a job from inside a worker, through the client
// working the current job; a worker that enqueues more jobs (a scheduler)
// then needs no reference to the Queue built from it.
func InsertFromWork(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	var client riverClient
	if c, err := river.ClientFromContextSafely[*sql.Tx](ctx); err == nil {
		client = c
	} else if c, err := river.ClientFromContextSafely[pgx.Tx](ctx); err == nil {
		client = c
	} else {
		return nil, fmt.Errorf("enqueue %s job: not called from a worker: %w", args.Kind(), err)
	}
	return (&Queue{client: client}).Insert(ctx, args, opts)
}

// Start starts working jobs in the background until Stop. It does nothing
// on an insert-only queue.
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	return nil
}

// Stop lets running jobs finish, bounded by ctx; jobs cut off by ctx are
// retried later by any process working the queue.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.client.Stop(ctx)
}
