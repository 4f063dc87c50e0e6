// Package database opens Paved's one database, SQLite by default or
// PostgreSQL at scale, and keeps its schema current: Paved's own versioned
// SQL migrations (goose) and the job queue's (River).
//
// Every store in Paved shares the *sql.DB opened here; GORM and River are
// layered over it so that there is exactly one connection pool per process.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/paved-dev/paved"
)

// Dialect names the SQL database behind a DB.
type Dialect string

// The supported dialects. Their values name the folders under migrations/.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database with its schema tools.
type DB struct {
	// SQL is the one connection pool of the process.
	SQL *sql.DB
	// Gorm wraps SQL for stores.
	Gorm *gorm.DB
	// Dialect tells which SQL the database speaks.
	Dialect Dialect
	// Where describes the database for logs and messages without secrets:
	// a file path for SQLite, host:port/database for PostgreSQL.
	Where string

	// pool is the pgx pool beneath SQL on PostgreSQL (River needs it); nil
	// on SQLite.
	pool *pgxpool.Pool
}

// Open opens the database named by url, or the SQLite file paved.db inside
// dataDir when url is empty. It never changes a database it does not
// recognise: a corrupt file or another application's SQLite database is
// refused before anything is written.
//
// Accepted URLs: "" (SQLite in dataDir), "sqlite:PATH" or "sqlite://PATH",
// "postgres://..." or "postgresql://...". Returns a CodeInvalid error for any
// other URL and a CodeUnavailable error when the database cannot be reached.
func Open(ctx context.Context, url, dataDir string) (*DB, error) {
	switch {
	case url == "":
		return openSQLite(ctx, defaultSQLitePath(dataDir))
	case strings.HasPrefix(url, "sqlite:"):
		return openSQLite(ctx, sqlitePathFromURL(url))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	}
	return nil, paved.Invalid("unsupported database URL", paved.Detail{
		Field:  "database-url",
		Reason: "want empty (SQLite in the data directory), sqlite:PATH or postgres://USER@HOST:PORT/DB",
	})
}

// Close closes the connection pool.
func (db *DB) Close() error {
	err := db.SQL.Close()
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// Pool returns the pgx pool beneath SQL on PostgreSQL, nil on SQLite.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.SQL.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database at %s: %w", db.Dialect, db.Where, err)
	}
	return nil
}

// gormConfig is shared by both dialects: GORM logs nothing itself (stores
// return errors to callers, who log them with context) and never creates
// tables; migrations do.
func gormConfig() *gorm.Config {
	return &gorm.Config{
		Logger:                                   logger.Discard,
		DisableForeignKeyConstraintWhenMigrating: true,
		SkipDefaultTransaction:                   true,
	}
}
