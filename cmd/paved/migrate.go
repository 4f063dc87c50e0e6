package main

import (
	"context"
	"fmt"
	"io"
)

const migrateUsage = `Usage: paved migrate [flags]

Brings the database schema up to date and exits. serve does the same at
start; run this to migrate ahead of a deployment. Replicas may run it at
once on PostgreSQL: an advisory lock lets one migrate at a time.`

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, done, err := loadConfigNoArgs("migrate", migrateUsage, args, getenv, stdout)
	if err != nil || done {
		return err
	}
	db, st, err := openMigrated(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "%s database at %s: schema version %d, job queue version %d (up to date)\n",
		db.Dialect, db.Where, st.Current, st.QueueCurrent)
	return nil
}
