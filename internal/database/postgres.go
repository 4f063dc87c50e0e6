package database

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	gormpostgres "gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/paved-dev/paved"
)

// postgresConnectTimeout bounds the first connection so that an unreachable
// server fails start-up with a message instead of hanging.
const postgresConnectTimeout = 10 * time.Second

func openPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, paved.Invalid("invalid PostgreSQL URL", paved.Detail{Field: "database-url", Reason: err.Error()})
	}
	where := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))) + "/" + cfg.ConnConfig.Database
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = postgresConnectTimeout
	}
	// pgx prepares and caches statements, and after five runs PostgreSQL
	// may switch a statement to a generic plan that ignores the values.
	// Catalog filters are skewed (kind=component matches most entities,
	// spec.owner=<group> a handful), and a generic plan for one read 76,000
	// index rows where the custom plan reads 88. A URL may still override.
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres pool for %s: %w", where, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, postgresConnectTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, paved.Errorf(paved.CodeUnavailable, "cannot reach PostgreSQL at %s: %w", where, err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	gdb, err := gorm.Open(gormpostgres.New(gormpostgres.Config{Conn: sqlDB}), gormConfig())
	if err != nil {
		sqlDB.Close()
		pool.Close()
		return nil, fmt.Errorf("gorm over postgres: %w", err)
	}
	return &DB{SQL: sqlDB, Gorm: gdb, Dialect: Postgres, Where: where, pool: pool}, nil
}
