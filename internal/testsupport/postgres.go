package testsupport

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection
)

// PostgresDSNEnv names the server tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresDSNEnv = "PAVED_TEST_POSTGRES_DSN"

var (
	adminOnce sync.Once
	adminDB   *sql.DB
	adminErr  error
)

// admin returns one shared connection to the test server for creating and
// dropping schemas.
func admin(tb testing.TB) *sql.DB {
	tb.Helper()
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		requirePart(tb, "%s is not set; set it to a PostgreSQL URL (make test sets the local server's)", PostgresDSNEnv)
	}
	adminOnce.Do(func() {
		adminDB, adminErr = sql.Open("pgx", dsn)
		if adminErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			adminErr = adminDB.PingContext(ctx)
		}
	})
	if adminErr != nil {
		requirePart(tb, "PostgreSQL at %s is unreachable: %v", redact(dsn), adminErr)
	}
	return adminDB
}

// PostgresURL returns a URL to a new, empty schema on the test server,
// dropped with everything in it when the test ends. Connections made with
// the URL see only that schema (search_path), so tests never share tables.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	db := admin(tb)
	schema := schemaName(tb.Name())
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(os.Getenv(PostgresDSNEnv))
	if err != nil {
		tb.Fatalf("%s: %v", PostgresDSNEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// schemaName makes a valid, unique PostgreSQL identifier that still says
// which test made it, for anyone looking at a leftover.
func schemaName(testName string) string {
	base := strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	// River names its notification channels <schema>.river_insert, and
	// PostgreSQL channel names stop at 63 bytes.
	if len(base) > 32 {
		base = base[:32]
	}
	return fmt.Sprintf("t_%s_%s", base, randomHex(4))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
