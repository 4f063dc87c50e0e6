package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/jobs"
	"github.com/paved-dev/paved/portal"
)

// scheduleEvery is how often the leader looks for locations due a refresh.
const scheduleEvery = 30 * time.Second

// services are the long-lived parts serve builds around the database.
type services struct {
	catalog portal.Catalog
	queue   *jobs.Queue
}

// newServices builds the catalog and the job queue that refreshes it.
func newServices(db *database.DB, cfg portal.Config, log *slog.Logger) (*services, error) {
	store := catalog.NewStore(db)
	ingester := &catalog.Ingester{
		Store:    store,
		Fetch:    catalog.Fetchers{Git: catalog.NewGitFetcher(), HTTP: &http.Client{Timeout: time.Minute}},
		Apply:    catalog.ApplyOptions{DeleteOrphans: cfg.CatalogDeleteOrphans},
		Interval: cfg.CatalogRefreshInterval,
		Log:      log.With("component", "catalog"),
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &catalog.RefreshWorker{Ingester: ingester})
	sched := &catalog.ScheduleWorker{Store: store}
	river.AddWorker(workers, sched)
	periodic := river.NewPeriodicJob(river.PeriodicInterval(scheduleEvery),
		func() (river.JobArgs, *river.InsertOpts) { return catalog.ScheduleArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
	queue, err := jobs.New(db, log, jobs.Options{Workers: workers, Periodic: []*river.PeriodicJob{periodic}})
	if err != nil {
		return nil, err
	}
	sched.Queue = queue
	return &services{catalog: portal.Catalog{Store: store, Ingester: ingester, Queue: queue}, queue: queue}, nil
}

func (s *services) start(ctx context.Context) error { return s.queue.Start(ctx) }

// stop lets running jobs finish within the timeout; cut-off jobs are retried.
func (s *services) stop(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.queue.Stop(ctx)
}
