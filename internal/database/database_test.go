package database_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

func TestMigrate(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		db := testsupport.OpenEmptyDB(t, dialect)

		before, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if before.Current != 0 || before.QueueCurrent != 0 || before.Latest < 1 || before.QueueLatest < 1 {
			t.Fatalf("fresh database status = %+v, want nothing applied and something known", before)
		}
		after, err := db.Migrate(ctx, testsupport.DiscardLogger())
		if err != nil {
			t.Fatal(err)
		}
		if !after.UpToDate() || after.Current != before.Latest || after.QueueCurrent != before.QueueLatest {
			t.Fatalf("after Migrate status = %+v, want everything of %+v applied", after, before)
		}
		again, err := db.Migrate(ctx, testsupport.DiscardLogger())
		if err != nil || again != after {
			t.Fatalf("second Migrate = %+v, %v; want %+v, nil", again, err, after)
		}

		var instances []struct{ ID string }
		if err := db.Gorm.Table("paved_instance").Find(&instances).Error; err != nil {
			t.Fatal(err)
		}
		if len(instances) != 1 || len(instances[0].ID) != 32 {
			t.Fatalf("paved_instance = %+v, want one 32-hex-digit id", instances)
		}
	})
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		db := testsupport.OpenDB(t, dialect)
		st, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// What a newer paved would have left behind.
		insert := `INSERT INTO paved_schema_migrations (version_id, is_applied) VALUES (?, true)`
		if dialect == database.Postgres {
			insert = strings.Replace(insert, "?", "$1", 1)
		}
		if _, err := db.SQL.ExecContext(ctx, insert, st.Latest+1); err != nil {
			t.Fatal(err)
		}
		_, err = db.Migrate(ctx, testsupport.DiscardLogger())
		if paved.ErrorCode(err) != paved.CodeUnavailable || !strings.Contains(err.Error(), "newer than this paved binary") {
			t.Fatalf("Migrate over a newer schema: err = %v, want a CodeUnavailable 'newer' error", err)
		}
	})
}

// Replicas starting at once must not both apply the same migration.
func TestMigrateConcurrentReplicasPostgres(t *testing.T) {
	ctx := context.Background()
	url := testsupport.PostgresURL(t)
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		db, err := database.Open(ctx, url, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		wg.Go(func() { _, errs[i] = db.Migrate(ctx, testsupport.DiscardLogger()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}

func TestOpenRefusesWhatIsNotPaveds(t *testing.T) {
	tests := []struct {
		Name    string
		Write   func(t *testing.T, path string)
		WantMsg string
	}{
		{"NotSQLite", func(t *testing.T, path string) {
			writeFile(t, path, []byte("name,owner\npayments,team-a\n"))
		}, "is not a SQLite database"},
		{"CorruptSQLite", func(t *testing.T, path string) {
			writeFile(t, path, append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xff}, 4000)...))
		}, "not a readable SQLite database"},
		{"ForeignSQLite", func(t *testing.T, path string) {
			other, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if _, err := other.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)`); err != nil {
				t.Fatal(err)
			}
		}, "belongs to another application (tables customers)"},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "paved.db")
			tt.Write(t, path)
			before := readFile(t, path)

			db, err := database.Open(context.Background(), "", dir)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want refusal")
			}
			if !strings.Contains(err.Error(), tt.WantMsg) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.WantMsg)
			}
			if !bytes.Equal(readFile(t, path), before) {
				t.Fatal("the refused file was changed")
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Fatalf("data dir holds %d entries after refusal, want only the file (no -wal/-shm)", len(entries))
			}
		})
	}
}

// Characters that mean something in a SQLite URI must not redirect the
// database, or the safety check would inspect one file and open another.
func TestOpenSQLitePathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%20d")
	db, err := database.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background(), testsupport.DiscardLogger()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "a?b#c%20d" {
		t.Fatalf("parent holds %v, want only the data dir", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "paved.db")); err != nil {
		t.Fatalf("database not at the data dir: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		Name     string
		URL      string
		WantCode paved.Code
		WantMsg  string
	}{
		{"UnknownScheme", "mysql://root@localhost/paved", paved.CodeInvalid, "database-url"},
		{"UnreachablePostgres", "postgres://postgres@127.0.0.1:1/paved?connect_timeout=2", paved.CodeUnavailable, "cannot reach PostgreSQL at 127.0.0.1:1/paved"},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			_, err := database.Open(context.Background(), tt.URL, t.TempDir())
			if paved.ErrorCode(err) != tt.WantCode || !strings.Contains(err.Error(), tt.WantMsg) {
				t.Fatalf("Open(%q) err = %v, want code %s containing %q", tt.URL, err, tt.WantCode, tt.WantMsg)
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Connections plan every statement for its values (see openPostgres),
// unless the URL says otherwise.
func TestPostgresPlansForValues(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct{ Name, Query, Want string }{
		{"Default", "", "force_custom_plan"},
		{"URLOverrides", "&plan_cache_mode=auto", "auto"},
	} {
		t.Run(tt.Name, func(t *testing.T) {
			db, err := database.Open(ctx, testsupport.PostgresURL(t)+tt.Query, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var mode string
			if err := db.SQL.QueryRowContext(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != tt.Want {
				t.Fatalf("plan_cache_mode = %q, want %q", mode, tt.Want)
			}
		})
	}
}
