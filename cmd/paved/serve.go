package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/portal"
)

const serveUsage = `Usage: paved serve [flags]

Starts the Paved web portal and REST API. Applies pending database
migrations first; refuses a database migrated by a newer paved.`

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, done, err := loadConfig("serve", serveUsage, args, getenv, stdout)
	if err != nil || done {
		return err
	}
	start := time.Now()
	log := newLogger(cfg, stderr)

	// Bind before touching the database: a taken port fails fast, and
	// nothing is migrated by a process that cannot serve.
	ln, err := listen(cfg.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()

	db, st, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	svc, err := newServices(db, cfg, log)
	if err != nil {
		return err
	}
	if err := svc.start(ctx); err != nil {
		return err
	}
	srv := portal.NewServer(cfg, log, db, svc.catalog)
	url := "http://" + ln.Addr().String()
	log.Info("paved ready", "url", url, "version", version, "database", db.Dialect, "where", db.Where,
		"schema_version", st.Current, "startup_ms", time.Since(start).Milliseconds())
	fmt.Fprintln(stdout, "paved listening on", url)
	serveErr := srv.Serve(ctx, ln)
	return errors.Join(serveErr, svc.stop(cfg.ShutdownTimeout))
}

// listen binds addr, explaining the usual reasons it fails.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, paved.Errorf(paved.CodeUnavailable,
			"cannot listen on %s: the address is already in use (another paved?); choose another with --listen or PAVED_LISTEN", addr)
	case err != nil:
		return nil, paved.Errorf(paved.CodeUnavailable, "cannot listen on %s (--listen): %w", addr, err)
	}
	return ln, nil
}
