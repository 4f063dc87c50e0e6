// Package config is the one home of Paved's configuration: every setting
// of every command, read from flags, PAVED_* environment variables and the
// YAML file named by --config, with defaults applied in one step and each
// domain's options validated once. The settings table drives the flags,
// --help and docs/configuration.md alike.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/logging"
	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/policies/webhook"
	"github.com/paved-dev/paved/portal"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/provision"
)

// Config is everything a paved command can be told, grouped by the part
// of Paved that uses it.
type Config struct {
	// File is the config file read, if any.
	File string
	// Listen is the web UI and REST API's host:port.
	Listen string
	// DataDir holds the default SQLite database and the webhook CA.
	DataDir string
	// DatabaseURL is empty (SQLite in DataDir), sqlite:PATH or postgres://...
	DatabaseURL string
	// Namespace is the Kubernetes namespace Paved itself runs in.
	Namespace string
	// Kubeconfig names the default cluster; empty means in-cluster or none.
	Kubeconfig string

	Log          logging.Options
	HTTP         portal.Options
	Catalog      catalog.Options
	Policies     policies.Options
	Webhook      webhook.Options
	Provisioning provision.Settings
	Scaffolder   scaffolder.Options
}

// ExemptNamespaces are the namespaces admission never judges: Paved's own
// and the configured ones.
func (c Config) ExemptNamespaces() []string {
	out := []string{c.Namespace}
	for _, ns := range c.Policies.ExemptNamespaces {
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

// Load builds the Config of a command (serve, migrate, catalog import...)
// from its command-line args, the environment and the optional config
// file, and returns the arguments after the flags. It returns
// flag.ErrHelp for -h/--help, and a CodeInvalid *paved.Error naming the
// setting as it was given (flag, variable, or file and line) for anything
// wrong.
func Load(command string, args []string, getenv func(string) string) (Config, []string, error) {
	flags, rest, err := parseFlags(command, args)
	if err != nil {
		return Config{}, nil, err
	}
	l := loader{origins: map[string]origin{}, getenv: getenv}
	if err := l.defaults(); err != nil {
		return Config{}, nil, err
	}
	l.c.File = firstNonEmpty(flags[configSetting], getenv(envName(configSetting)))
	if l.c.File != "" {
		if err := l.file(l.c.File); err != nil {
			return Config{}, nil, err
		}
	}
	for _, s := range settings {
		if v := getenv(s.env()); v != "" {
			if err := l.set(s, v, origin{field: s.env()}); err != nil {
				return Config{}, nil, err
			}
		}
	}
	for _, s := range settings {
		if v, ok := flags[s.name]; ok {
			if err := l.set(s, v, origin{field: "--" + s.name}); err != nil {
				return Config{}, nil, err
			}
		}
	}
	l.c.Provisioning.ApplyDefaults()
	if err := l.c.Validate(); err != nil {
		return Config{}, nil, l.locate(err)
	}
	return l.c, rest, nil
}

// LoadNoArgs is Load for commands that take no arguments after their flags.
func LoadNoArgs(command string, args []string, getenv func(string) string) (Config, error) {
	c, rest, err := Load(command, args, getenv)
	if err == nil && len(rest) > 0 {
		err = paved.Invalid(fmt.Sprintf("unexpected argument %q (see paved %s --help)", rest[0], command))
	}
	return c, err
}

// Validate checks every part's options and returns all their problems in
// one error. Details name settings as the config file does (log-format,
// provisioning.environments[0].name).
func (c Config) Validate() error {
	var d paved.Details
	if strings.TrimSpace(c.DataDir) == "" {
		d.Add("data-dir", "must not be empty")
	}
	switch {
	case c.DatabaseURL == "", strings.HasPrefix(c.DatabaseURL, "sqlite:"),
		strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
	default:
		d.Add("database-url", "accepted: empty (SQLite in the data directory), sqlite:PATH, postgres://USER@HOST:PORT/DB")
	}
	for _, part := range []interface{ Validate() error }{c.Log, c.HTTP, c.Catalog, c.Policies, c.Webhook, &c.Provisioning, c.Scaffolder} {
		var pe *paved.Error
		if err := part.Validate(); errors.As(err, &pe) {
			d = append(d, pe.Details...)
		} else if err != nil {
			return err
		}
	}
	return d.Err("invalid configuration")
}

// origin is where a setting's value came from: "--listen", "PAVED_LISTEN",
// or "paved.yaml: listen" with its line.
type origin struct {
	field string
	line  int
}

// loader builds a Config and remembers where each value came from, so a
// problem found by validation names the flag, the variable or the file line
// the user wrote.
type loader struct {
	c       Config
	origins map[string]origin
	// root is the config file's YAML tree, for the lines of provisioning
	// settings.
	root   *yaml.Node
	getenv func(string) string
}

// defaults sets every setting to its default, the one step that does.
func (l *loader) defaults() error {
	l.c.Provisioning = provision.DefaultSettings()
	for _, s := range settings {
		if err := s.set(&l.c, s.def); err != nil {
			return fmt.Errorf("default for %s: %w", s.name, err) // a bug, not input
		}
	}
	return nil
}

// set parses v into setting s, recording its origin.
func (l *loader) set(s setting, v string, o origin) error {
	if err := s.set(&l.c, v); err != nil {
		return invalidSetting(o, err)
	}
	l.origins[s.name] = o
	return nil
}

// locate renames the details of a validation error from setting names to
// where each value was given, with its line in the config file.
func (l *loader) locate(err error) error {
	var pe *paved.Error
	if !errors.As(err, &pe) {
		return err
	}
	out := *pe
	out.Details = make([]paved.Detail, len(pe.Details))
	for i, d := range pe.Details {
		if o, ok := l.origins[d.Field]; ok {
			d.Field, d.Line = o.field, o.line
		} else if line := lineOf(l.root, d.Field); line > 0 {
			d.Field, d.Line = l.c.File+": "+d.Field, line
		}
		out.Details[i] = d
	}
	return &out
}

func invalidSetting(o origin, err error) error {
	return paved.Invalid("invalid configuration", paved.Detail{Field: o.field, Line: o.line, Reason: err.Error()})
}

// parseFlags returns the flags given on the command line, by name, and the
// arguments after them.
func parseFlags(command string, args []string) (map[string]string, []string, error) {
	fs := flag.NewFlagSet("paved "+command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range settings {
		fs.String(s.name, "", s.usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, paved.Invalid(fmt.Sprintf("%v (see paved %s --help)", err, command), paved.Detail{Reason: "accepted flags: " + flagNames()})
	}
	given := map[string]string{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	return given, fs.Args(), nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
