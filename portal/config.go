package portal

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder/provision"
)

// Config is everything `paved serve` can be told. Each field is set by one
// entry of settings, from (highest first) a flag, a PAVED_* environment
// variable, the YAML config file, or the default.
type Config struct {
	Listen          string
	DataDir         string
	DatabaseURL     string
	ConfigFile      string
	LogFormat       string // auto, text or json
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	// Catalog settings.
	CatalogRefreshInterval time.Duration
	CatalogDeleteOrphans   bool
	CatalogWebhookSecret   string
	// Policy settings.
	WebhookListen           string
	WebhookCertFile         string
	WebhookKeyFile          string
	WebhookURL              string
	WebhookFailurePolicy    string // Fail or Ignore
	Namespace               string
	PolicyExemptNamespaces  []string
	PolicyEvalTimeout       time.Duration
	PolicySyncInterval      time.Duration
	PolicyDecisionRetention time.Duration
	PolicyDecisionQueue     int
	PolicyAuditInterval     time.Duration
	// Kubeconfig is the default cluster Paved audits and provisions into.
	Kubeconfig string
	// Provisioning is the config file's provisioning: section (environments,
	// profiles, named clusters, pipelines), defaults when absent.
	Provisioning provision.Settings
}

// setting is one configuration knob. Its name is the flag and the YAML key;
// its environment variable is PAVED_ plus the name in upper snake case.
type setting struct {
	name  string
	def   string
	usage string
	// set parses and validates value into c; its error says which values
	// are accepted.
	set func(c *Config, value string) error
}

func (s setting) env() string {
	return "PAVED_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

// configSetting is the --config flag; it is read before the others because
// it names the file they may come from, and the file cannot set it.
const configSetting = "config"

var settings = []setting{
	{name: "listen", def: "127.0.0.1:8080", usage: "address for the web UI and REST API (host:port; port 0 picks a free one)", set: setListen},
	{name: "data-dir", def: "./paved-data", usage: "directory for Paved's files, including the default SQLite database paved.db", set: setDataDir},
	{name: "database-url", def: "", usage: "database: empty for SQLite in the data directory, sqlite:PATH, or postgres://USER@HOST:PORT/DB", set: setDatabaseURL},
	{name: configSetting, def: "", usage: "optional YAML file whose keys are these settings' names", set: func(c *Config, v string) error { c.ConfigFile = v; return nil }},
	{name: "log-format", def: "auto", usage: "log format: auto (text on a terminal, json otherwise), text or json", set: setLogFormat},
	{name: "log-level", def: "info", usage: "lowest level logged: debug, info, warn or error", set: setLogLevel},
	{name: "shutdown-timeout", def: "30s", usage: "how long SIGINT/SIGTERM waits for in-flight requests before closing them (Go duration)", set: setShutdownTimeout},
	{name: "catalog-refresh-interval", def: "5m", usage: "how often each catalog location is read again (jittered by ±20%)", set: func(c *Config, v string) error {
		d, err := positiveDuration(v)
		c.CatalogRefreshInterval = d
		return err
	}},
	{name: "catalog-delete-orphans", def: "false", usage: "delete entities their location no longer provides, instead of keeping them marked backstage.io/orphan", set: func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		c.CatalogDeleteOrphans = b
		return nil
	}},
	{name: "catalog-webhook-secret", def: "", usage: "secret of POST /api/catalog/webhooks/git: the HMAC-SHA256 key of GitHub-style signatures, or the GitLab-style token; empty turns the webhook off", set: func(c *Config, v string) error {
		c.CatalogWebhookSecret = v
		return nil
	}},
	{name: "webhook-listen", def: "", usage: "address of the TLS listener for the Kubernetes admission webhook (POST /admission/validate); empty turns it off", set: func(c *Config, v string) error {
		if v == "" {
			c.WebhookListen = ""
			return nil
		}
		var tmp Config
		err := setListen(&tmp, v)
		c.WebhookListen = tmp.Listen
		return err
	}},
	{name: "webhook-cert-file", def: "", usage: "PEM certificate (chain) of the webhook listener; empty with --webhook-key-file empty generates one signed by a CA kept in <data-dir>/webhook-ca.pem", set: func(c *Config, v string) error {
		c.WebhookCertFile = v
		return nil
	}},
	{name: "webhook-key-file", def: "", usage: "PEM private key of --webhook-cert-file", set: func(c *Config, v string) error {
		c.WebhookKeyFile = v
		return nil
	}},
	{name: "webhook-url", def: "", usage: "URL the Kubernetes API server calls, for `paved admission manifest` and the generated certificate's names; empty means https://<webhook-listen>/admission/validate", set: setWebhookURL},
	{name: "webhook-failure-policy", def: "Ignore", usage: "what happens when Paved cannot decide (unreachable, evaluation error or timeout): Ignore admits, Fail denies; see docs/architecture.md for the trade-off", set: func(c *Config, v string) error {
		if v != "Fail" && v != "Ignore" {
			return fmt.Errorf("%q is not Fail or Ignore", v)
		}
		c.WebhookFailurePolicy = v
		return nil
	}},
	{name: "namespace", def: "paved", usage: "the Kubernetes namespace Paved itself runs in; the admission webhook never applies to it", set: func(c *Config, v string) error {
		c.Namespace = v
		return nil
	}},
	{name: "policy-exempt-namespaces", def: "kube-system", usage: "comma-separated namespaces admission policies do not apply to (namespaces labelled paved.dev/policy-exempt=true are exempt too)", set: func(c *Config, v string) error {
		c.PolicyExemptNamespaces = splitList([]string{v})
		return nil
	}},
	{name: "policy-eval-timeout", def: "1s", usage: "deadline of one admission evaluation; past it the webhook failure policy applies", set: func(c *Config, v string) error {
		d, err := positiveDuration(v)
		c.PolicyEvalTimeout = d
		return err
	}},
	{name: "policy-sync-interval", def: "1s", usage: "how often each replica checks the database for a newly activated policy version", set: func(c *Config, v string) error {
		d, err := positiveDuration(v)
		c.PolicySyncInterval = d
		return err
	}},
	{name: "policy-decision-retention", def: "168h", usage: "how long policy decisions are kept in the decision log", set: func(c *Config, v string) error {
		d, err := positiveDuration(v)
		c.PolicyDecisionRetention = d
		return err
	}},
	{name: "policy-decision-queue", def: "10000", usage: "decisions waiting to be written; when full, decisions are dropped (counted in paved_policy_decisions_dropped_total), never delayed", set: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive number", v)
		}
		c.PolicyDecisionQueue = n
		return nil
	}},
	{name: "policy-audit-interval", def: "10m", usage: "how often live cluster objects are checked against the active policies (needs a cluster)", set: func(c *Config, v string) error {
		d, err := positiveDuration(v)
		c.PolicyAuditInterval = d
		return err
	}},
	{name: "kubeconfig", def: "", usage: "kubeconfig of the default cluster Paved audits and provisions into (named clusters go in the config file's provisioning.clusters); empty uses the in-cluster service account when running in a pod, otherwise no cluster", set: func(c *Config, v string) error {
		c.Kubeconfig = v
		return nil
	}},
}

func setWebhookURL(c *Config, v string) error {
	if v == "" {
		c.WebhookURL = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an https:// URL (the API server only calls webhooks over TLS)", v)
	}
	c.WebhookURL = v
	return nil
}

// AdmissionURL is the URL the API server calls: --webhook-url, or the
// webhook listener's address.
func (c Config) AdmissionURL() string {
	if c.WebhookURL != "" {
		return c.WebhookURL
	}
	host, port, _ := net.SplitHostPort(c.WebhookListen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, port) + "/admission/validate"
}

// LoadConfig builds a Config for the subcommand (serve, migrate) from its
// command-line args, the environment and the optional config file. It
// returns flag.ErrHelp for -h/--help and a CodeInvalid *paved.Error naming
// the setting, its source and the accepted values for anything wrong.
func LoadConfig(command string, args []string, getenv func(string) string) (Config, error) {
	c, rest, err := LoadConfigArgs(command, args, getenv)
	if err == nil && len(rest) > 0 {
		err = paved.Invalid(fmt.Sprintf("unexpected argument %q (see paved %s --help)", rest[0], command))
	}
	return c, err
}

// LoadConfigArgs is LoadConfig for commands that take arguments after their
// flags; it returns those arguments.
func LoadConfigArgs(command string, args []string, getenv func(string) string) (Config, []string, error) {
	flags, rest, err := parseFlags(command, args)
	if err != nil {
		return Config{}, nil, err
	}
	c, err := buildConfig(flags, getenv)
	return c, rest, err
}

func buildConfig(flags map[string]string, getenv func(string) string) (Config, error) {
	c := Config{Provisioning: provision.DefaultSettings()}
	for _, s := range settings {
		if err := s.set(&c, s.def); err != nil {
			return Config{}, fmt.Errorf("default for %s: %w", s.name, err) // a bug, not input
		}
	}
	path := firstNonEmpty(flags[configSetting], getenv(settingByName(configSetting).env()))
	var doc *yaml.Node
	if path != "" {
		var err error
		if doc, err = applyConfigFile(&c, path); err != nil {
			return Config{}, err
		}
	}
	if err := c.Provisioning.Validate(); err != nil {
		return Config{}, withLines(err, path, doc)
	}
	for _, s := range settings {
		if v := getenv(s.env()); v != "" {
			if err := s.set(&c, v); err != nil {
				return Config{}, invalidSetting(s.env(), 0, err)
			}
		}
	}
	for _, s := range settings {
		if v, ok := flags[s.name]; ok {
			if err := s.set(&c, v); err != nil {
				return Config{}, invalidSetting("--"+s.name, 0, err)
			}
		}
	}
	return c, nil
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

// applyConfigFile reads path as a YAML mapping of setting names to values.
// Unknown keys are errors, so typos do not silently fall back to defaults.
func applyConfigFile(c *Config, path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, paved.Invalid("cannot read config file", paved.Detail{Field: "config", Reason: err.Error()})
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file sets nothing
		}
		return nil, paved.Invalid("config file "+path+" is not valid YAML", paved.Detail{Reason: err.Error()})
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, invalidSetting(path, root.Line, errors.New("want a mapping of setting names to values"))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		if key.Value == provisioningKey {
			if err := decodeProvisioning(&c.Provisioning, path, data); err != nil {
				return nil, err
			}
			continue
		}
		s, ok := settingByNameOK(key.Value)
		if !ok || s.name == configSetting {
			return nil, invalidSetting(path+": "+key.Value, key.Line, fmt.Errorf("unknown setting; known: %s, %s", fileKeys(), provisioningKey))
		}
		if val.Kind != yaml.ScalarNode {
			return nil, invalidSetting(path+": "+key.Value, val.Line, errors.New("want a single value"))
		}
		if err := s.set(c, val.Value); err != nil {
			return nil, invalidSetting(path+": "+key.Value, val.Line, err)
		}
	}
	return root, nil
}

func invalidSetting(field string, line int, err error) error {
	return paved.Invalid("invalid configuration", paved.Detail{Field: field, Line: line, Reason: err.Error()})
}

func settingByNameOK(name string) (setting, bool) {
	for _, s := range settings {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}

func settingByName(name string) setting {
	s, _ := settingByNameOK(name)
	return s
}

func flagNames() string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = "--" + s.name
	}
	return strings.Join(names, ", ")
}

func fileKeys() string {
	var names []string
	for _, s := range settings {
		if s.name != configSetting {
			names = append(names, s.name)
		}
	}
	return strings.Join(names, ", ")
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func setListen(c *Config, v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080 or :8080)", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	c.Listen = net.JoinHostPort(host, port)
	return nil
}

func setDataDir(c *Config, v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("must not be empty")
	}
	c.DataDir = v
	return nil
}

func setDatabaseURL(c *Config, v string) error {
	switch {
	case v == "", strings.HasPrefix(v, "sqlite:"), strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		c.DatabaseURL = v
		return nil
	}
	return errors.New("accepted: empty (SQLite in the data directory), sqlite:PATH, postgres://USER@HOST:PORT/DB")
}

func setLogFormat(c *Config, v string) error {
	switch v {
	case "auto", "text", "json":
		c.LogFormat = v
		return nil
	}
	return fmt.Errorf("%q is not one of auto, text, json", v)
}

func setLogLevel(c *Config, v string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil || !strings.EqualFold(l.String(), v) {
		return fmt.Errorf("%q is not one of debug, info, warn, error", v)
	}
	c.LogLevel = l
	return nil
}

func setShutdownTimeout(c *Config, v string) error {
	d, err := positiveDuration(v)
	c.ShutdownTimeout = d
	return err
}

func positiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 30s or 1m", v)
	}
	return d, nil
}

// ConfigHelp is the text of `paved <command> --help`: usage, what the
// command does, and the settings table that docs/configuration.md carries
// too (a test keeps them equal).
func ConfigHelp(usage string) string {
	return usage + "\n\n" +
		"Every setting can be given as a flag, a PAVED_* environment variable or a\n" +
		"key in the YAML file named by --config; a flag wins over the environment,\n" +
		"which wins over the file.\n\n" + SettingsTable()
}

// SettingsTable is a Markdown table of every setting.
func SettingsTable() string {
	var b strings.Builder
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	for _, s := range settings {
		def := "`" + s.def + "`"
		if s.def == "" {
			def = "(none)"
		}
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s |\n", s.name, s.env(), def, s.usage)
	}
	return b.String()
}
