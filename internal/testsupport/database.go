package testsupport

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/paved-dev/paved/internal/database"
)

// Dialects lists the databases every store test runs on.
var Dialects = []database.Dialect{database.SQLite, database.Postgres}

// DatabaseURL returns the URL of a new, empty database of the dialect, removed
// when the test ends.
func DatabaseURL(tb testing.TB, dialect database.Dialect) string {
	tb.Helper()
	if dialect == database.Postgres {
		return PostgresURL(tb)
	}
	return "sqlite:" + filepath.Join(tb.TempDir(), "paved.db")
}

// OpenDB opens a new database of the dialect with its schema migrated,
// closed when the test ends.
func OpenDB(tb testing.TB, dialect database.Dialect) *database.DB {
	tb.Helper()
	db := OpenEmptyDB(tb, dialect)
	if _, err := db.Migrate(context.Background(), DiscardLogger()); err != nil {
		tb.Fatalf("migrate %s database: %v", dialect, err)
	}
	return db
}

// OpenEmptyDB opens a new database of the dialect with no schema at all,
// closed when the test ends.
func OpenEmptyDB(tb testing.TB, dialect database.Dialect) *database.DB {
	tb.Helper()
	db, err := database.Open(context.Background(), DatabaseURL(tb, dialect), tb.TempDir())
	if err != nil {
		tb.Fatalf("open %s database: %v", dialect, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// ForEachDialect runs fn as a subtest named after each dialect, so a store
// suite runs unchanged on SQLite and on PostgreSQL.
func ForEachDialect(t *testing.T, fn func(t *testing.T, dialect database.Dialect)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

// DiscardLogger returns a logger that writes nothing.
func DiscardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
