// Package migrations embeds Paved's versioned SQL migrations, one folder per
// dialect (sqlite/, postgres/). Files are named NNNNN_what.sql and hold goose
// "-- +goose Up" and "-- +goose Down" sections; each runs in its own
// transaction. Never edit a migration that has been released: add a new one.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// FS returns the migrations for dialect ("sqlite" or "postgres").
func FS(dialect string) (fs.FS, error) {
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations for %q: %w", dialect, err)
	}
	if entries, _ := fs.ReadDir(sub, "."); len(entries) == 0 {
		return nil, fmt.Errorf("no migrations for dialect %q", dialect)
	}
	return sub, nil
}
