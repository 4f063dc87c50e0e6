package catalog_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/jobs"
	"github.com/paved-dev/paved/internal/testsupport"
)

// One refresh per location at a time: a forced and a scheduled refresh of
// a new location collapse into one job, and once it has run, the next
// refresh is queued again (River's default uniqueness counted completed
// jobs too, which skipped every later refresh for a day).
func TestOneRefreshPerLocationAtATime(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		dir := t.TempDir()
		file := writeFile(t, filepath.Join(dir, "catalog-info.yaml"), teamsYAML)
		db := testsupport.OpenDB(t, dialect)
		store := catalog.NewStore(db)
		in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Policy: allowDir(dir), Log: testsupport.DiscardLogger()}
		workers := river.NewWorkers()
		river.AddWorker(workers, &catalog.RefreshWorker{Ingester: in})
		q, err := jobs.New(db, testsupport.DiscardLogger(), jobs.Options{Workers: workers, FetchPollInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		loc, err := store.CreateLocation(ctx, catalog.LocationFile, file)
		if err != nil {
			t.Fatal(err)
		}
		first, err := q.Insert(ctx, catalog.RefreshArgs{LocationID: loc.ID, Force: true}, nil)
		if err != nil || first.UniqueSkippedAsDuplicate {
			t.Fatalf("first refresh: %+v, %v", first, err)
		}
		second, err := q.Insert(ctx, catalog.RefreshArgs{LocationID: loc.ID}, nil)
		if err != nil || !second.UniqueSkippedAsDuplicate {
			t.Fatalf("a second refresh while one is queued: %+v, %v; want it collapsed", second, err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		deadline := time.Now().Add(20 * time.Second)
		for {
			res, err := q.Insert(ctx, catalog.RefreshArgs{LocationID: loc.ID}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.UniqueSkippedAsDuplicate {
				break // the first one finished; this one is queued
			}
			if time.Now().After(deadline) {
				t.Fatal("after the first refresh ran, a new refresh of the location was still refused as a duplicate")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if after, _ := store.Location(ctx, loc.ID); after.RefreshedAt == nil {
			t.Error("the location was never refreshed")
		}
	})
}
