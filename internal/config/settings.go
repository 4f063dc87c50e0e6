package config

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/paved-dev/paved/internal/logging"
)

// setting is one configuration knob. Its name is the flag and the YAML key;
// its environment variable is PAVED_ plus the name in upper snake case.
type setting struct {
	name  string
	def   string
	usage string
	// set parses value into c; its error says what form is expected.
	// Whether a well-formed value is acceptable is for Validate to say.
	set func(c *Config, value string) error
}

func (s setting) env() string { return envName(s.name) }

func envName(name string) string {
	return "PAVED_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// configSetting is the --config flag; it is read before the others because
// it names the file they may come from, and the file cannot set it.
const configSetting = "config"

var settings = []setting{
	{"listen", "127.0.0.1:8080", "address for the web UI and REST API (host:port; port 0 picks a free one)",
		address(func(c *Config) *string { return &c.Listen }, false)},
	{"data-dir", "./paved-data", "directory for Paved's files, including the default SQLite database paved.db",
		text(func(c *Config) *string { return &c.DataDir })},
	{"database-url", "", "database: empty for SQLite in the data directory, sqlite:PATH, or postgres://USER@HOST:PORT/DB",
		text(func(c *Config) *string { return &c.DatabaseURL })},
	{configSetting, "", "optional YAML file whose keys are these settings' names",
		text(func(c *Config) *string { return &c.File })},
	{"log-format", "auto", "log format: auto (text on a terminal, json otherwise), text or json",
		text(func(c *Config) *string { return &c.Log.Format })},
	{"log-level", "info", "lowest level logged: debug, info, warn or error",
		parsed(func(c *Config) *slog.Level { return &c.Log.Level }, logging.ParseLevel, "one of debug, info, warn, error")},
	{"shutdown-timeout", "30s", "how long SIGINT/SIGTERM waits for in-flight requests before closing them (Go duration)",
		duration(func(c *Config) *time.Duration { return &c.HTTP.ShutdownTimeout })},
	{"catalog-refresh-interval", "5m", "how often each catalog location is read again (jittered by ±20%)",
		duration(func(c *Config) *time.Duration { return &c.Catalog.RefreshInterval })},
	{"catalog-delete-orphans", "false", "delete entities their location no longer provides, instead of keeping them marked backstage.io/orphan",
		boolean(func(c *Config) *bool { return &c.Catalog.DeleteOrphans })},
	{"catalog-webhook-secret", "", "secret of POST /api/catalog/webhooks/git: the HMAC-SHA256 key of GitHub-style signatures, or the GitLab-style token; empty turns the webhook off",
		text(func(c *Config) *string { return &c.HTTP.CatalogWebhookSecret })},
	{"webhook-listen", "", "address of the TLS listener for the Kubernetes admission webhook (POST /admission/validate); empty turns it off",
		address(func(c *Config) *string { return &c.Webhook.Listen }, true)},
	{"webhook-cert-file", "", "PEM certificate (chain) of the webhook listener; empty with --webhook-key-file empty generates one signed by a CA kept in <data-dir>/webhook-ca.pem",
		text(func(c *Config) *string { return &c.Webhook.CertFile })},
	{"webhook-key-file", "", "PEM private key of --webhook-cert-file",
		text(func(c *Config) *string { return &c.Webhook.KeyFile })},
	{"webhook-url", "", "URL the Kubernetes API server calls, for `paved admission manifest` and the generated certificate's names; empty means https://<webhook-listen>/admission/validate",
		text(func(c *Config) *string { return &c.Webhook.URL })},
	{"webhook-failure-policy", "Ignore", "what happens when Paved cannot decide (unreachable, evaluation error or timeout): Ignore admits, Fail denies; see docs/architecture.md for the trade-off",
		text(func(c *Config) *string { return &c.Webhook.FailurePolicy })},
	{"namespace", "paved", "the Kubernetes namespace Paved itself runs in; the admission webhook never applies to it",
		text(func(c *Config) *string { return &c.Namespace })},
	{"policy-exempt-namespaces", "kube-system", "comma-separated namespaces admission policies do not apply to (namespaces labelled paved.dev/policy-exempt=true are exempt too)",
		list(func(c *Config) *[]string { return &c.Policies.ExemptNamespaces })},
	{"policy-eval-timeout", "1s", "deadline of one admission evaluation; past it the webhook failure policy applies",
		duration(func(c *Config) *time.Duration { return &c.Policies.EvalTimeout })},
	{"policy-fail-closed-above", "262144", "review size in bytes above which an admission review that cannot be decided in time is denied whatever --webhook-failure-policy says (0 turns this off)",
		integer(func(c *Config) *int { return &c.Policies.FailClosedAbove })},
	{"policy-sync-interval", "1s", "how often each replica checks the database for a newly activated policy version",
		duration(func(c *Config) *time.Duration { return &c.Policies.SyncInterval })},
	{"policy-decision-retention", "168h", "how long policy decisions are kept in the decision log",
		duration(func(c *Config) *time.Duration { return &c.Policies.DecisionRetention })},
	{"policy-decision-queue", "10000", "decisions waiting to be written; when full, decisions are dropped (counted in paved_policy_decisions_dropped_total), never delayed",
		integer(func(c *Config) *int { return &c.Policies.DecisionQueue })},
	{"policy-audit-interval", "10m", "how often live cluster objects are checked against the active policies (needs a cluster)",
		duration(func(c *Config) *time.Duration { return &c.Policies.AuditInterval })},
	{"scaffolder-heartbeat-interval", "5s", "how often a running scaffolder task records that its worker is alive",
		duration(func(c *Config) *time.Duration { return &c.Scaffolder.Heartbeat })},
	{"scaffolder-task-stale-after", "30s", "how old a task's heartbeat must be for another worker (or the restarted process) to resume it after its last completed step",
		duration(func(c *Config) *time.Duration { return &c.Scaffolder.StaleAfter })},
	{"scaffolder-task-timeout", "1h", "longest one run of a scaffolder task may take",
		duration(func(c *Config) *time.Duration { return &c.Scaffolder.MaxTaskDuration })},
	{"scaffolder-concurrency", "4", "how many scaffolder tasks one process runs at once",
		integer(func(c *Config) *int { return &c.Scaffolder.Concurrency })},
	{"scaffolder-secrets-key-file", "", "file with the base64 AES-256 key sealing task secrets at rest (replicas must share it); empty uses <data-dir>/scaffolder-secrets.key, created on first start",
		text(func(c *Config) *string { return &c.Scaffolder.SecretsKeyFile })},
	{"kubeconfig", "", "kubeconfig of the default cluster Paved audits and provisions into (named clusters go in the config file's provisioning.clusters); empty uses the in-cluster service account when running in a pod, otherwise no cluster",
		text(func(c *Config) *string { return &c.Kubeconfig })},
}

// The setters below parse a value into the field their accessor points at.

func text(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

// parsed makes a setter from a parser; want words the accepted form.
func parsed[T any](field func(*Config) *T, parse func(string) (T, error), want string) func(*Config, string) error {
	return func(c *Config, v string) error {
		x, err := parse(v)
		if err != nil {
			return fmt.Errorf("%q is not %s", v, want)
		}
		*field(c) = x
		return nil
	}
}

func duration(field func(*Config) *time.Duration) func(*Config, string) error {
	return parsed(field, time.ParseDuration, "a duration such as 30s or 1m")
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return parsed(field, strconv.ParseBool, "true or false")
}

func integer(field func(*Config) *int) func(*Config, string) error {
	return parsed(field, strconv.Atoi, "a whole number")
}

// list accepts a comma-separated list; blanks are dropped.
func list(field func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		*field(c) = out
		return nil
	}
}

// address accepts host:port, with a port from 0 to 65535; optional ones
// accept the empty value too.
func address(field func(*Config) *string, optional bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" && optional {
			*field(c) = ""
			return nil
		}
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080 or :8080)", v)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
		*field(c) = net.JoinHostPort(host, port)
		return nil
	}
}

func settingNamed(name string) (setting, bool) {
	for _, s := range settings {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
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

// Help is the text of `paved <command> --help`: usage, what the command
// does, and the settings table that docs/configuration.md carries too (a
// test keeps them equal).
func Help(usage string) string {
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
