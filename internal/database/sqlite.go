package database

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	gormsqlite "gorm.io/driver/sqlite"
	"gorm.io/gorm"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/paved-dev/paved"
)

// sqliteFileName is the database file inside the data directory.
const sqliteFileName = "paved.db"

// sqliteMagic starts every SQLite 3 database file.
var sqliteMagic = []byte("SQLite format 3\x00")

func defaultSQLitePath(dataDir string) string {
	return filepath.Join(dataDir, sqliteFileName)
}

func sqlitePathFromURL(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
}

// sqliteDSN turns on WAL (readers do not block the writer), waits for locks
// instead of failing at once, starts every transaction as a writer so two
// transactions never deadlock upgrading their locks, and enforces foreign
// keys. The page cache is 16 MiB per connection: 64 MiB bought no ingest
// speed once writes went in batches of 2,000 entities, and cost ~100 MB of
// resident memory over the pool (docs/benchmarks.md).
func sqliteDSN(path string) string {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)", "cache_size(-16384)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return sqliteURI(path, q)
}

// uriPathEscaper escapes what would end or alter the path part of a SQLite
// URI filename; SQLite decodes %HH escapes in it.
var uriPathEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// sqliteURI is a SQLite URI filename for path with query parameters, so a
// path holding '?' or '#' opens that file and not a prefix of it.
func sqliteURI(path string, q url.Values) string {
	return "file:" + uriPathEscaper.Replace(path) + "?" + q.Encode()
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if err := checkSQLiteFile(ctx, path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, paved.Errorf(paved.CodeUnavailable, "create data directory: %w", err)
	}
	sqlDB, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// A few connections let reads overlap in WAL mode; writes serialise on
	// SQLite's lock, bounded by busy_timeout.
	sqlDB.SetMaxOpenConns(max(4, runtime.NumCPU()))
	db := &DB{SQL: sqlDB, Dialect: SQLite, Where: path}
	if err := db.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, paved.Errorf(paved.CodeUnavailable, "open SQLite database %s: %w", path, err)
	}
	db.Gorm, err = gorm.Open(gormsqlite.Dialector{Conn: sqlDB}, gormConfig())
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("gorm over sqlite: %w", err)
	}
	return db, nil
}

// checkSQLiteFile refuses, without writing to it, a file that is not a
// SQLite database or is another application's. A missing or empty file is a
// new database.
func checkSQLiteFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return paved.Errorf(paved.CodeUnavailable, "open SQLite database: %w", err)
	}
	header := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, header)
	f.Close()
	if n == 0 && (err == io.EOF) {
		return nil
	}
	if !bytes.Equal(header[:n], sqliteMagic) {
		return paved.Errorf(paved.CodeInvalid, "%s is not a SQLite database; refusing to touch it (point --data-dir or --database-url elsewhere)", path)
	}
	tables, err := sqliteTables(ctx, path)
	if err != nil {
		return paved.Errorf(paved.CodeInvalid, "%s is not a readable SQLite database (%v); refusing to touch it", path, err)
	}
	if len(tables) > 0 && !containsString(tables, gooseTable) {
		return paved.Errorf(paved.CodeInvalid, "%s belongs to another application (tables %s); refusing to touch it (point --data-dir or --database-url elsewhere)",
			path, strings.Join(firstN(tables, 5), ", "))
	}
	return nil
}

// sqliteTables lists the tables of the database at path, opened read-only.
func sqliteTables(ctx context.Context, path string) ([]string, error) {
	ro, err := sql.Open("sqlite", sqliteURI(path, url.Values{"mode": {"ro"}}))
	if err != nil {
		return nil, err
	}
	defer ro.Close()
	rows, err := ro.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func firstN(list []string, n int) []string {
	if len(list) > n {
		return append(list[:n:n], "...")
	}
	return list
}
