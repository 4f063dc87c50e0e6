package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/paved-dev/paved/internal/config"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/logging"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Usage: paved <command> [flags]

Commands:
  serve     start the web portal and REST API (runs migrations first)
  migrate   bring the database schema up to date and exit
  catalog   validate descriptor files, import locations
  policy    test, evaluate and export Rego policies
  template  render and test scaffolder templates locally
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
	case "template":
		return templateCmd(ctx, rest, getenv, stdout, stderr)
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

// loadConfig reads the settings of command and the arguments after its
// flags; for --help it prints them and returns done.
func loadConfig(command, help string, args []string, getenv func(string) string, stdout io.Writer) (cfg config.Config, rest []string, done bool, err error) {
	cfg, rest, err = config.Load(command, args, getenv)
	done, err = helpOrUsage(err, help, stdout)
	return cfg, rest, done, err
}

// loadConfigNoArgs is loadConfig for commands that take no arguments.
func loadConfigNoArgs(command, help string, args []string, getenv func(string) string, stdout io.Writer) (config.Config, bool, error) {
	cfg, err := config.LoadNoArgs(command, args, getenv)
	done, err := helpOrUsage(err, help, stdout)
	return cfg, done, err
}

// helpOrUsage prints the help for flag.ErrHelp and makes other
// configuration errors usage errors.
func helpOrUsage(err error, help string, stdout io.Writer) (done bool, _ error) {
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, config.Help(help))
		return true, nil
	case err != nil:
		return false, usageError{err}
	}
	return false, nil
}

func newLogger(cfg config.Config, stderr io.Writer) *slog.Logger {
	return logging.New(stderr, cfg.Log)
}

// openMigrated opens the configured database and brings its schema up to
// date; the caller closes it.
func openMigrated(ctx context.Context, cfg config.Config, log *slog.Logger) (*database.DB, database.SchemaStatus, error) {
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
