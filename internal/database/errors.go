package database

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUniqueViolation reports whether err is a unique or primary key
// constraint violation, on either dialect.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	// modernc.org/sqlite reports SQLITE_CONSTRAINT_UNIQUE and
	// SQLITE_CONSTRAINT_PRIMARYKEY with this text.
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
