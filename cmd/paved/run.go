package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/portal"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Usage: paved <command> [flags]

Commands:
  serve     start the web portal and REST API (runs migrations first)
  migrate   bring the database schema up to date and exit
  catalog   validate descriptor files, import locations
  policy    test, evaluate and export Rego policies
  admission print the admission webhook configuration (manifest)
  dev       developer tools (gen-catalog)
  version   print the version

Run 'paved <command> --help' for a command's flags.`

// run is the whole program: main only wires the process to it, so tests can
// run Paved in-process with their own arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprintln(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "catalog":
		return catalogCmd(ctx, rest, getenv, stdout, stderr)
	case "policy":
		return policyCmd(ctx, rest, stdout, stderr)
	case "admission":
		return admissionCmd(rest, getenv, stdout, stderr)
	case "dev":
		return devCmd(rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "paved", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}

// loadConfig reads the settings of command; for --help it prints them and
// returns done.
func loadConfig(command, help string, args []string, getenv func(string) string, stdout io.Writer) (cfg portal.Config, done bool, err error) {
	cfg, err = portal.LoadConfig(command, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, portal.ConfigHelp(help))
		return cfg, true, nil
	}
	if err != nil {
		return cfg, false, usageError{err}
	}
	return cfg, false, nil
}

func newLogger(cfg portal.Config, stderr io.Writer) *slog.Logger {
	return portal.NewLogger(stderr, cfg.LogFormat, cfg.LogLevel)
}

// openMigrated opens the configured database and brings its schema up to
// date; the caller closes it.
func openMigrated(ctx context.Context, cfg portal.Config, log *slog.Logger) (*database.DB, database.SchemaStatus, error) {
	db, err := database.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, database.SchemaStatus{}, err
	}
	st, err := db.Migrate(ctx, log)
	if err != nil {
		db.Close()
		return nil, st, err
	}
	return db, st, nil
}

// usageError is a mistake in how paved was called: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode is 2 for usage and configuration errors, 1 for anything else.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
