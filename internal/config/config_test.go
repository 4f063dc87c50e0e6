package config

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/logging"
	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/policies/webhook"
	"github.com/paved-dev/paved/portal"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/provision"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// The defaults, spelled out: a new install's configuration.
func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadNoArgs("serve", nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen: "127.0.0.1:8080", DataDir: "./paved-data", Namespace: "paved",
		Log:      logging.Options{Format: "auto", Level: slog.LevelInfo},
		HTTP:     portal.Options{ShutdownTimeout: 30 * time.Second},
		Catalog:  catalog.Options{RefreshInterval: 5 * time.Minute},
		Policies: policies.Options{EvalTimeout: time.Second, SyncInterval: time.Second, DecisionRetention: 168 * time.Hour, DecisionQueue: 10000, AuditInterval: 10 * time.Minute, ExemptNamespaces: []string{"kube-system"}, FailClosedAbove: 256 << 10},
		Webhook:  webhook.Options{FailurePolicy: "Ignore"},
		// The provisioning section's defaults are provision's; with mesh
		// none, loading must add no mesh namespaces and keep every
		// profile's cluster and Pod Security level.
		Provisioning: provision.DefaultSettings(),
		Scaffolder:   scaffolder.Options{Heartbeat: 5 * time.Second, StaleAfter: 30 * time.Second, MaxTaskDuration: time.Hour, Concurrency: 4},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults = %+v, want %+v", c, want)
	}
	if got := c.ExemptNamespaces(); !reflect.DeepEqual(got, []string{"paved", "kube-system"}) {
		t.Errorf("exempt namespaces = %v, want paved and kube-system", got)
	}
}

// A flag beats the environment, which beats the file, which beats the default.
func TestLoadConfigPrecedence(t *testing.T) {
	file := writeConfig(t, "listen: 127.0.0.1:1001\nlog-level: debug\ndata-dir: /from/file\n")
	env := envOf(map[string]string{"PAVED_CONFIG": file, "PAVED_LISTEN": "127.0.0.1:1002", "PAVED_LOG_LEVEL": "warn"})
	c, err := LoadNoArgs("serve", []string{"--listen", "127.0.0.1:1003"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:1003" || c.Log.Level != slog.LevelWarn || c.DataDir != "/from/file" || c.HTTP.ShutdownTimeout != 30*time.Second {
		t.Fatalf("got %+v: want listen from the flag, log level from env, data dir from the file, shutdown timeout default", c)
	}
}

func TestLoadConfigHelp(t *testing.T) {
	if _, err := LoadNoArgs("serve", []string{"--help"}, envOf(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		Name string
		Args []string
		Env  map[string]string
		File string // config file content, if any
		// WantField and WantReason must appear in the error; WantLine is
		// the line of the first detail (0: none).
		WantField, WantReason string
		WantLine              int
	}{
		{Name: "UnknownFlag", Args: []string{"--lisen", ":1"}, WantField: "flag provided but not defined: -lisen", WantReason: "accepted flags: --listen"},
		{Name: "StrayArgument", Args: []string{"now"}, WantField: `unexpected argument "now"`},
		{Name: "BadLogFormat", Args: []string{"--log-format", "xml"}, WantField: "--log-format", WantReason: `"xml" is not one of auto, text, json`},
		{Name: "BadLevelFromEnv", Env: map[string]string{"PAVED_LOG_LEVEL": "loud"}, WantField: "PAVED_LOG_LEVEL", WantReason: "debug, info, warn, error"},
		{Name: "BadListen", Args: []string{"--listen", "8080"}, WantField: "--listen", WantReason: "is not host:port"},
		{Name: "BadPort", Args: []string{"--listen", ":99999"}, WantField: "--listen", WantReason: "from 0 to 65535"},
		{Name: "BadDatabaseURL", Env: map[string]string{"PAVED_DATABASE_URL": "mysql://x"}, WantField: "PAVED_DATABASE_URL", WantReason: "postgres://"},
		{Name: "BadTimeout", Args: []string{"--shutdown-timeout", "-1s"}, WantField: "--shutdown-timeout", WantReason: "positive duration"},
		{Name: "MissingFile", Args: []string{"--config", "/nonexistent/paved.yaml"}, WantField: "config", WantReason: "no such file"},
		{Name: "FileUnknownKey", File: "listen: :1\nlisten_addr: :2\n", WantField: "listen_addr", WantReason: "unknown setting; known: listen, data-dir", WantLine: 2},
		{Name: "FileBadValue", File: "# paved\n\nlog-format: yaml\n", WantField: "log-format", WantReason: `"yaml" is not one of`, WantLine: 3},
		{Name: "FileNotMapping", File: "- listen\n", WantReason: "want a mapping", WantLine: 1},
		{Name: "FileNested", File: "listen:\n  host: x\n", WantField: "listen", WantReason: "want a single value", WantLine: 2},
		{Name: "BadFailurePolicy", Args: []string{"--webhook-failure-policy", "fail"}, WantField: "--webhook-failure-policy", WantReason: `"fail" is not Fail or Ignore`},
		{Name: "WebhookURLNotHTTPS", Env: map[string]string{"PAVED_WEBHOOK_URL": "http://paved:8443/admission/validate"}, WantField: "PAVED_WEBHOOK_URL", WantReason: "is not an https:// URL"},
		{Name: "BadDecisionQueue", Args: []string{"--policy-decision-queue", "0"}, WantField: "--policy-decision-queue", WantReason: "not a positive number"},
		{Name: "DecisionQueueNotNumber", Args: []string{"--policy-decision-queue", "many"}, WantField: "--policy-decision-queue", WantReason: `"many" is not a whole number`},
		{Name: "NotDuration", Env: map[string]string{"PAVED_POLICY_SYNC_INTERVAL": "often"}, WantField: "PAVED_POLICY_SYNC_INTERVAL", WantReason: `"often" is not a duration`},
		{Name: "FileZeroInterval", File: "catalog-refresh-interval: 0s\n", WantField: "catalog-refresh-interval", WantReason: "positive duration", WantLine: 1},
		{Name: "CertWithoutKey", Args: []string{"--webhook-cert-file", "/tls/cert.pem"}, WantField: "--webhook-cert-file", WantReason: "give both webhook-cert-file and webhook-key-file"},
		{Name: "StaleWithinHeartbeats", Env: map[string]string{"PAVED_SCAFFOLDER_TASK_STALE_AFTER": "6s"}, WantField: "PAVED_SCAFFOLDER_TASK_STALE_AFTER", WantReason: "less than two heartbeats"},
		{Name: "NoConcurrency", Args: []string{"--scaffolder-concurrency", "0"}, WantField: "--scaffolder-concurrency", WantReason: "not a positive number"},
		{Name: "EmptyDataDir", Env: map[string]string{"PAVED_DATA_DIR": " "}, WantField: "PAVED_DATA_DIR", WantReason: "must not be empty"},
		{Name: "FileBadYAML", File: "listen: [\n", WantField: "is not valid YAML", WantReason: "line"},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			args := tt.Args
			if tt.File != "" {
				args = append(args, "--config", writeConfig(t, tt.File))
			}
			_, err := LoadNoArgs("serve", args, envOf(tt.Env))
			var pe *paved.Error
			if !errors.As(err, &pe) || pe.Code != paved.CodeInvalid {
				t.Fatalf("err = %v, want a CodeInvalid *paved.Error", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.WantField) || !strings.Contains(msg, tt.WantReason) {
				t.Fatalf("err = %q, want it to contain %q and %q", msg, tt.WantField, tt.WantReason)
			}
			if tt.WantLine > 0 && (len(pe.Details) == 0 || pe.Details[0].Line != tt.WantLine) {
				t.Fatalf("details = %+v, want line %d", pe.Details, tt.WantLine)
			}
		})
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "paved.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var update = flag.Bool("update", false, "rewrite golden files and generated docs")

// docs/configuration.md carries the settings table between markers; it must
// match the code, so the docs cannot drift from --help.
func TestConfigurationDocsMatchSettings(t *testing.T) {
	const path = "../../docs/configuration.md"
	const begin, end = "<!-- settings:begin -->\n", "<!-- settings:end -->"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q ... %q markers", path, begin, end)
	}
	got := doc[i+len(begin) : j]
	if got == SettingsTable() {
		return
	}
	if *update {
		doc = doc[:i+len(begin)] + SettingsTable() + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is out of date with the settings; run: go test ./internal/config -run ConfigurationDocs -update\n\nwant:\n%s", path, SettingsTable())
}

func TestLoadConfigProvisioning(t *testing.T) {
	file := writeConfig(t, `listen: 127.0.0.1:1001
provisioning:
  namespacePattern: "{service}-{env}"
  mesh: linkerd
  reconcileInterval: 2m
  clusters:
    eu:
      kubeconfig: /etc/paved/eu.kubeconfig
      context: eu-prod
  environments:
    - name: dev
      cluster: default
      podSecurity: baseline
      quota: {pods: "10"}
    - name: prod
      cluster: eu
      podSecurity: restricted
      pipeline: argocd
      quota: {requests.cpu: "8"}
      limits:
        max: {cpu: "4"}
`)
	c, err := LoadNoArgs("serve", []string{"--config", file}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Provisioning
	if c.Listen != "127.0.0.1:1001" || p.NamespacePattern != "{service}-{env}" || p.Mesh != "linkerd" || p.ReconcileInterval != 2*time.Minute {
		t.Errorf("settings = %+v", p)
	}
	if !reflect.DeepEqual(p.MeshNamespaces, []string{"linkerd"}) || p.TeamGroup != "{team}" {
		t.Errorf("defaults not kept or derived: mesh namespaces %v, team group %q", p.MeshNamespaces, p.TeamGroup)
	}
	if p.Clusters["eu"].Context != "eu-prod" || len(p.Environments) != 2 || p.Environments[1].Cluster != "eu" ||
		p.Environments[1].Quota["requests.cpu"] != "8" || p.Environments[1].Limits.Max["cpu"] != "4" {
		t.Errorf("clusters %+v, environments %+v", p.Clusters, p.Environments)
	}
}

// Mistakes in the provisioning section name the key and its line.
func TestLoadConfigProvisioningErrors(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		line       int
		says       string
	}{
		{"unknown key", "provisioning:\n  mesh: istio\n  namespacePatern: x\n", 3, "namespacePatern is not a provisioning setting"},
		{"unknown profile key", "provisioning:\n  environments:\n    - name: dev\n      quotas: {}\n", 4, "quotas is not a provisioning setting"},
		{"bad quantity", "provisioning:\n  environments:\n    - name: dev\n      cluster: default\n      podSecurity: baseline\n      quota:\n        requests.cpu: lots\n", 7, "is not a quantity"},
		{"unknown cluster", "provisioning:\n  environments:\n    - name: dev\n      cluster: eu\n      podSecurity: baseline\n", 4, `"eu" is not one of default`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadNoArgs("serve", []string{"--config", writeConfig(t, tt.file)}, envOf(nil))
			var pe *paved.Error
			if !errors.As(err, &pe) || len(pe.Details) == 0 {
				t.Fatalf("err = %v, want an invalid configuration", err)
			}
			d := pe.Details[0]
			if d.Line != tt.line || !strings.Contains(d.Reason, tt.says) {
				t.Errorf("detail = %+v, want line %d saying %q", d, tt.line, tt.says)
			}
		})
	}
}

// Validation reports every problem at once, each where it was written.
func TestLoadConfigEveryProblem(t *testing.T) {
	file := writeConfig(t, "shutdown-timeout: 0s\nwebhook-failure-policy: Never\nprovisioning:\n  mesh: consul\n")
	_, err := LoadNoArgs("serve", []string{"--config", file, "--policy-eval-timeout", "-1s"}, envOf(nil))
	var pe *paved.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want an invalid configuration", err)
	}
	got := map[string]int{}
	for _, d := range pe.Details {
		got[d.Field] = d.Line
	}
	want := map[string]int{
		file + ": shutdown-timeout":       1,
		file + ": webhook-failure-policy": 2,
		file + ": provisioning.mesh":      4,
		"--policy-eval-timeout":           0,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("details = %+v, want fields and lines %v", pe.Details, want)
	}
}

func TestLoadConfigCatalogSection(t *testing.T) {
	file := writeConfig(t, `catalog:
  reading:
    allow:
      - host: github.com
        paths: [/backstage/]
      - dir: /srv/catalog
    networks: [10.0.0.0/8]
  rules:
    - allow: [Component, API]
    - allow: [Template]
      locations: [{type: url, target: "https://github.com/acme/templates/*"}]
`)
	c, err := LoadNoArgs("serve", []string{"--config", file}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.Options{RefreshInterval: 5 * time.Minute,
		Reading: catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: "github.com", Paths: []string{"/backstage/"}}, {Dir: "/srv/catalog"}}, Networks: []string{"10.0.0.0/8"}},
		Rules: []catalog.KindRule{{Allow: []string{"Component", "API"}},
			{Allow: []string{"Template"}, Locations: []catalog.LocationPattern{{Type: "url", Target: "https://github.com/acme/templates/*"}}}}}
	if !reflect.DeepEqual(c.Catalog, want) {
		t.Errorf("catalog = %+v\nwant %+v", c.Catalog, want)
	}
	for _, tt := range []struct {
		name, file string
		line       int
		says       string
	}{
		{"relative dir", "catalog:\n  reading:\n    allow:\n      - dir: ./catalog\n", 4, `"./catalog" is not an absolute path`},
		{"host and dir", "catalog:\n  reading:\n    allow:\n      - {host: a.com, dir: /x}\n", 4, "give a host or a dir"},
		{"bad network", "catalog:\n  reading:\n    networks: [10.0.0.0]\n", 3, "is not a CIDR range"},
		{"unknown key", "catalog:\n  reading:\n    alow: []\n", 3, "alow is not a catalog setting"},
		{"rule without kinds", "catalog:\n  rules:\n    - locations: [{type: url, target: x}]\n", 3, "name at least one kind"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadNoArgs("serve", []string{"--config", writeConfig(t, tt.file)}, envOf(nil))
			var pe *paved.Error
			if !errors.As(err, &pe) || len(pe.Details) == 0 {
				t.Fatalf("err = %v, want an invalid configuration", err)
			}
			if d := pe.Details[0]; d.Line != tt.line || !strings.Contains(d.Reason, tt.says) {
				t.Errorf("detail = %+v, want line %d saying %q", d, tt.line, tt.says)
			}
		})
	}
}

func TestLoadConfigIntegrations(t *testing.T) {
	file := writeConfig(t, `integrations:
  github:
    - host: github.com
      token: ${GITHUB_TOKEN}
  git:
    - {host: "git.internal:8443", username: bot, password: plain}
`)
	c, err := LoadNoArgs("serve", []string{"--config", file}, envOf(map[string]string{"GITHUB_TOKEN": "ghp_secret"}))
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.Integrations{GitHub: []catalog.Integration{{Host: "github.com", Token: "ghp_secret"}},
		Git: []catalog.Integration{{Host: "git.internal:8443", Username: "bot", Password: "plain"}}}
	if !reflect.DeepEqual(c.Catalog.Integrations, want) {
		t.Errorf("integrations = %+v", c.Catalog.Integrations)
	}
	for _, tt := range []struct {
		name, file string
		says       string
	}{
		{"unset variable", "integrations:\n  github:\n    - host: github.com\n      token: ${NOPE}\n", "the variable NOPE is not set"},
		{"github without token", "integrations:\n  github:\n    - {host: github.com}\n", "a github integration needs a token"},
		{"git without credentials", "integrations:\n  git:\n    - {host: git.internal}\n", "give a token, or a username and a password"},
		{"unknown key", "integrations:\n  github:\n    - {host: github.com, tokn: x}\n", "tokn is not an integration setting"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadNoArgs("serve", []string{"--config", writeConfig(t, tt.file)}, envOf(nil))
			if err == nil || !strings.Contains(err.Error(), tt.says) || strings.Contains(err.Error(), "ghp_secret") {
				t.Errorf("err = %v, want it to say %q", err, tt.says)
			}
		})
	}
}
