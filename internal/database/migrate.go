package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/migrations"
)

// gooseTable records which of Paved's own migrations have run. Its presence
// also marks a SQLite file as Paved's.
const gooseTable = "paved_schema_migrations"

// migrationLockID is the PostgreSQL advisory lock that serialises migrations
// across replicas starting at once.
const migrationLockID int64 = 0x7061766564_01 // "paved" 01

// SchemaStatus is where a database's schema stands against this binary.
type SchemaStatus struct {
	// Current and Latest are Paved's own migration versions: applied in the
	// database, and known to this binary.
	Current, Latest int64
	// QueueCurrent and QueueLatest are the job queue's (River's) versions.
	QueueCurrent, QueueLatest int
}

// UpToDate reports whether every known migration has been applied.
func (s SchemaStatus) UpToDate() bool {
	return s.Current == s.Latest && s.QueueCurrent == s.QueueLatest
}

// Newer returns a CodeUnavailable error when the database was migrated by a
// newer Paved than this one, and nil otherwise.
func (s SchemaStatus) Newer() error {
	if s.Current > s.Latest || s.QueueCurrent > s.QueueLatest {
		return paved.Errorf(paved.CodeUnavailable,
			"the database schema is newer than this paved binary (schema version %d, job queue version %d; this binary knows up to %d and %d): run the newer paved, or restore a backup taken before the upgrade",
			s.Current, s.QueueCurrent, s.Latest, s.QueueLatest)
	}
	return nil
}

// Status reads the schema versions without changing anything.
func (db *DB) Status(ctx context.Context) (SchemaStatus, error) {
	provider, err := db.gooseProvider()
	if err != nil {
		return SchemaStatus{}, err
	}
	var st SchemaStatus
	st.Latest = lastSourceVersion(provider)
	if st.Current, err = db.gooseVersion(ctx, provider); err != nil {
		return st, err
	}
	st.QueueCurrent, st.QueueLatest, err = db.queueVersions(ctx)
	return st, err
}

// Migrate brings the schema up to date: Paved's migrations, then the job
// queue's. On PostgreSQL it holds an advisory lock, so replicas starting at
// once migrate one after the other. It refuses a schema newer than the binary.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) (SchemaStatus, error) {
	var st SchemaStatus
	err := db.withMigrationLock(ctx, func() error {
		var err error
		if st, err = db.Status(ctx); err != nil {
			return err
		}
		if err := st.Newer(); err != nil {
			return err
		}
		if st.UpToDate() {
			return nil
		}
		provider, err := db.gooseProvider()
		if err != nil {
			return err
		}
		results, err := provider.Up(ctx)
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		for _, r := range results {
			log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration.String())
		}
		if err := db.migrateQueue(ctx, log); err != nil {
			return err
		}
		st, err = db.Status(ctx)
		return err
	})
	return st, err
}

func (db *DB) gooseProvider() (*goose.Provider, error) {
	fsys, err := migrations.FS(string(db.Dialect))
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	return goose.NewProvider(dialect, db.SQL, fsys,
		goose.WithTableName(gooseTable), goose.WithDisableGlobalRegistry(true))
}

// gooseVersion returns the applied version, 0 for a database that has never
// been migrated. Unlike goose's own GetDBVersion it never creates the table.
func (db *DB) gooseVersion(ctx context.Context, p *goose.Provider) (int64, error) {
	exists, err := db.tableExists(ctx, gooseTable)
	if err != nil || !exists {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

func lastSourceVersion(p *goose.Provider) int64 {
	sources := p.ListSources()
	if len(sources) == 0 {
		return 0
	}
	return sources[len(sources)-1].Version
}

func (db *DB) tableExists(ctx context.Context, name string) (bool, error) {
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if db.Dialect == Postgres {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	if err := db.SQL.QueryRowContext(ctx, q, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look up table %s: %w", name, err)
	}
	return n > 0, nil
}

// queueMigrator is what Paved needs of River's migrator; it hides River's
// transaction type, which differs between the SQLite and pgx drivers.
type queueMigrator interface {
	AllVersions() []rivermigrate.Migration
	ExistingVersions(ctx context.Context) ([]rivermigrate.Migration, error)
	Migrate(ctx context.Context, direction rivermigrate.Direction, opts *rivermigrate.MigrateOpts) (*rivermigrate.MigrateResult, error)
}

func (db *DB) queueMigrator() (queueMigrator, error) {
	if db.Dialect == Postgres {
		return rivermigrate.New(riverpgxv5.New(db.pool), nil)
	}
	return rivermigrate.New(riversqlite.New(db.SQL), nil)
}

// queueVersions returns River's applied and known migration versions.
func (db *DB) queueVersions(ctx context.Context) (current, latest int, err error) {
	m, err := db.queueMigrator()
	if err != nil {
		return 0, 0, err
	}
	latest = maxVersion(m.AllVersions())
	// River's table does not exist before its first migration.
	exists, err := db.tableExists(ctx, "river_migration")
	if err != nil || !exists {
		return 0, latest, err
	}
	existing, err := m.ExistingVersions(ctx)
	if err != nil {
		return 0, latest, fmt.Errorf("read job queue schema version: %w", err)
	}
	return maxVersion(existing), latest, nil
}

func maxVersion(ms []rivermigrate.Migration) int {
	v := 0
	for _, m := range ms {
		v = max(v, m.Version)
	}
	return v
}

func (db *DB) migrateQueue(ctx context.Context, log *slog.Logger) error {
	m, err := db.queueMigrator()
	if err != nil {
		return err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("apply job queue migrations: %w", err)
	}
	for _, v := range res.Versions {
		log.InfoContext(ctx, "job queue migration applied", "version", v.Version, "name", v.Name, "duration", v.Duration.String())
	}
	return nil
}

// withMigrationLock runs fn holding a session advisory lock on PostgreSQL.
// SQLite needs none: it is one process's embedded database.
func (db *DB) withMigrationLock(ctx context.Context, fn func() error) (err error) {
	if db.Dialect != Postgres {
		return fn()
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// Unlock on a fresh context: ctx may be cancelled, and the lock must
		// not outlive this function on a pooled connection.
		_, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockID)
		err = errors.Join(err, uerr)
	}()
	return fn()
}
