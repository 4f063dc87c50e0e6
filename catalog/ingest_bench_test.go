package catalog_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/catalog/synth"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// BenchmarkIngest measures reading and storing a synthetic catalog from
// files, relations and search index included, into an empty database.
func BenchmarkIngest(b *testing.B) {
	for _, n := range []int{10000} {
		for _, dialect := range testsupport.Dialects {
			b.Run(fmt.Sprintf("%s/%d", dialect, n), func(b *testing.B) { benchIngest(b, dialect, n) })
		}
	}
}

func benchIngest(b *testing.B, dialect database.Dialect, n int) {
	root, err := synth.Write(b.TempDir(), n, 1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		store := catalog.NewStore(testsupport.OpenDB(b, dialect))
		in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Log: testsupport.DiscardLogger(), Policy: allowDir(filepath.Dir(root))}
		loc, err := store.CreateLocation(context.Background(), "file", root)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := in.Refresh(context.Background(), loc, false)
		if err != nil || res.Applied.Added != n+1 {
			b.Fatalf("refresh = %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entities/s")
}
