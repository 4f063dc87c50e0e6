package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/config"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/jobs"
	"github.com/paved-dev/paved/internal/kube"
	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/portal"
	"github.com/paved-dev/paved/scaffolder"
	catalogactions "github.com/paved-dev/paved/scaffolder/actions/catalog"
	"github.com/paved-dev/paved/scaffolder/actions/debug"
	"github.com/paved-dev/paved/scaffolder/actions/fetch"
	kubeactions "github.com/paved-dev/paved/scaffolder/actions/kube"
	policyactions "github.com/paved-dev/paved/scaffolder/actions/policy"
	"github.com/paved-dev/paved/scaffolder/actions/publish"
	"github.com/paved-dev/paved/scaffolder/provision"
	"github.com/paved-dev/paved/scaffolder/render"
	"github.com/paved-dev/paved/templates"
)

// taskPoll is how often idle task workers look for a new task: SQLite
// has no notifications, so it is how long a new task may wait to start
// there (one indexed query per interval; PostgreSQL notifies at once).
const taskPoll = 100 * time.Millisecond

// scheduleEvery is how often the leader looks for locations due a refresh.
const scheduleEvery = 30 * time.Second

// services are the long-lived parts serve runs around the database.
type services struct {
	portal portal.Services
	queue  *jobs.Queue
	cfg    config.Config
	loops  sync.WaitGroup
	// recoverer re-enqueues scaffolder tasks whose worker died.
	recoverer *scaffolder.Recoverer
}

// newServices builds everything serve runs: the catalog, the policy
// engine, provisioning, and the job queue working their jobs.
func newServices(db *database.DB, cfg config.Config, log *slog.Logger) (*services, error) {
	// client-go (leader election, discovery) logs through klog: send it to
	// Paved's log, so JSON logs stay JSON.
	klog.SetSlogLogger(log.With("component", "client-go"))
	restCfg, err := kube.Config(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cat := newCatalog(db, cfg.Catalog, log)
	pol, err := newPolicies(db, cfg, restCfg, log)
	if err != nil {
		return nil, err
	}
	identity := replicaIdentity()
	prov, err := newProvisioning(db, cfg, restCfg, identity, log)
	if err != nil {
		return nil, err
	}
	sc, runner, err := newScaffolder(db, cfg, scaffolderParts{cat: cat, pol: pol, prov: prov}, identity, log)
	if err != nil {
		return nil, err
	}
	workers, periodic := catalogJobs(cat)
	river.AddWorker(workers, &scaffolder.TaskWorker{Runner: runner, MaxDuration: cfg.Scaffolder.MaxTaskDuration})
	if live := pol.Manager.Live; live != nil {
		auditor := &policies.Auditor{Store: pol.Manager.Store, Engine: pol.Manager.Engine, Objects: live, Log: log.With("component", "audit")}
		river.AddWorker(workers, &policies.AuditWorker{Auditor: auditor})
		periodic = append(periodic, every(cfg.Policies.AuditInterval, policies.AuditArgs{}))
	}
	queue, err := jobs.New(db, log, jobs.Options{Workers: workers, Periodic: periodic,
		Queues: map[string]jobs.QueueOptions{scaffolder.TaskQueue: {MaxWorkers: cfg.Scaffolder.Concurrency, FetchPollInterval: taskPoll}}})
	if err != nil {
		return nil, err
	}
	cat.Queue = queue
	sc.Queue = queue
	recoverer := &scaffolder.Recoverer{Store: sc.Tasks, Queue: queue, StaleAfter: cfg.Scaffolder.StaleAfter, Log: log.With("component", "scaffolder")}
	return &services{portal: portal.Services{Catalog: cat, Policies: pol, Provisioning: prov, Scaffolder: sc}, queue: queue, cfg: cfg,
		recoverer: recoverer}, nil
}

// newScaffolder builds the scaffolder's template engine, its registry of
// actions, its task store (secrets sealed with the configured key) and
// the runner of its tasks; the caller gives it a queue.
func newScaffolder(db *database.DB, cfg config.Config, parts scaffolderParts, identity string, log *slog.Logger) (portal.Scaffolder, *scaffolder.Runner, error) {
	engine, registry, err := newActions(cfg, parts)
	if err != nil {
		return portal.Scaffolder{}, nil, err
	}
	keyFile := cfg.Scaffolder.SecretsKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "scaffolder-secrets.key")
	}
	key, err := scaffolder.LoadOrCreateKey(keyFile)
	if err != nil {
		return portal.Scaffolder{}, nil, err
	}
	sealer, err := scaffolder.NewSealer(key)
	if err != nil {
		return portal.Scaffolder{}, nil, err
	}
	if in := parts.cat.Ingester; in != nil {
		in.Check = templateCheck(registry)
	}
	tasks := scaffolder.NewTaskStore(db, sealer)
	policy := catalog.NewPolicy(cfg.Catalog).WithBuiltin(templates.FS)
	runner := &scaffolder.Runner{Store: tasks, Actions: registry, Render: engine, Files: policy.TemplateFiles, Network: policy.Context,
		WorkDir: filepath.Join(cfg.DataDir, "tasks"), Worker: identity, Heartbeat: cfg.Scaffolder.Heartbeat,
		StaleAfter: cfg.Scaffolder.StaleAfter, Log: log.With("component", "scaffolder")}
	return portal.Scaffolder{Actions: registry, Render: engine, Tasks: tasks}, runner, nil
}

// scaffolderParts are the parts of Paved the scaffolder's actions use.
type scaffolderParts struct {
	cat  portal.Catalog
	pol  portal.Policies
	prov portal.Provisioning
}

// newActions builds the template engine and the registry of actions: the
// fetch actions, catalog:write and catalog:register, debug:log and
// debug:wait, publish:gitea and publish:git over the configured
// integrations, paved:policy:check on the active policies, and the
// Kubernetes actions.
func newActions(cfg config.Config, parts scaffolderParts) (*render.Engine, *scaffolder.Registry, error) {
	in := cfg.Catalog.Integrations
	types := map[string]string{"github.com": "github"}
	for provider, list := range in.All() {
		for _, it := range list {
			types[strings.ToLower(it.Host)] = provider
		}
	}
	engine := &render.Engine{HostType: func(host string) (string, bool) {
		t, ok := types[strings.ToLower(host)]
		return t, ok
	}}
	gitea := publish.Gitea{Hosts: func(host string) (publish.Host, bool) { return integrationHost(in.Gitea, host, true) }}
	githubPub := publish.GitHub{Hosts: func(host string) (publish.Host, bool) {
		h, ok := integrationHost(in.GitHub, host, false)
		h.BaseURL = apiBaseURL(in.GitHub, host)
		return h, ok
	}}
	gitlabPub := publish.GitLab{Hosts: func(host string) (publish.Host, bool) {
		h, ok := integrationHost(in.GitLab, host, false)
		h.BaseURL = apiBaseURL(in.GitLab, host)
		return h, ok
	}}
	plainGit := publish.Git{Hosts: func(host string) (publish.Host, bool) { return integrationHost(in.Git, host, false) }}
	actions := []scaffolder.Action{fetch.Template{Render: engine}, fetch.TemplateFile{Render: engine}, fetch.Plain{}, fetch.PlainFile{},
		catalogactions.Write{}, debug.Log{}, debug.Wait{}, gitea, githubPub, gitlabPub, plainGit}
	if parts.cat.Store != nil {
		actions = append(actions, catalogactions.Register{Store: parts.cat.Store, Ingester: parts.cat.Ingester})
	}
	if parts.pol.Manager != nil {
		actions = append(actions, policyactions.Check{Engine: parts.pol.Manager.Engine})
	}
	// Registered with or without a cluster, so templates that provision
	// are accepted everywhere; without one their steps fail saying so.
	if p := parts.prov.Provisioner; p != nil {
		actions = append(actions, kubeactions.Actions(p)...)
	}
	registry, err := scaffolder.NewRegistry(actions...)
	if err != nil {
		return nil, nil, err
	}
	return engine, registry, nil
}

// newCatalog builds the catalog's store and ingester; its Queue is left
// nil, which refreshes inline (catalog import) until serve sets one.
func newCatalog(db *database.DB, opts catalog.Options, log *slog.Logger) portal.Catalog {
	store := catalog.NewStore(db)
	ingester := &catalog.Ingester{
		Store:    store,
		Fetch:    catalog.Fetchers{Git: catalog.NewGitFetcher()},
		Policy:   catalog.NewPolicy(opts).WithBuiltin(templates.FS),
		Apply:    catalog.ApplyOptions{DeleteOrphans: opts.DeleteOrphans},
		Interval: opts.RefreshInterval,
		Log:      log.With("component", "catalog"),
	}
	return portal.Catalog{Store: store, Ingester: ingester}
}

// catalogJobs are the catalog's workers and its periodic schedule.
func catalogJobs(cat portal.Catalog) (*river.Workers, []*river.PeriodicJob) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &catalog.RefreshWorker{Ingester: cat.Ingester})
	river.AddWorker(workers, &catalog.ScheduleWorker{Store: cat.Store})
	return workers, []*river.PeriodicJob{every(scheduleEvery, catalog.ScheduleArgs{})}
}

// every runs a periodic job at start and then every interval.
func every(interval time.Duration, args river.JobArgs) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// newPolicies builds the policy engine, its decision log and the admitter;
// the manager lists live objects when a cluster is configured.
func newPolicies(db *database.DB, cfg config.Config, restCfg *rest.Config, log *slog.Logger) (portal.Policies, error) {
	store := policies.NewStore(db)
	plog := log.With("component", "policies")
	exempt := map[string]bool{}
	for _, ns := range cfg.ExemptNamespaces() {
		exempt[ns] = true
	}
	var live policies.ObjectLister
	if restCfg != nil {
		objs, err := policies.NewClusterObjects(restCfg, exempt)
		if err != nil {
			return portal.Policies{}, err
		}
		live = objs
	}
	mgr := &policies.Manager{Store: store, Engine: policies.NewEngine(), Live: live, Log: plog}
	decisions := policies.NewDecisionLog(store, plog, cfg.Policies.DecisionQueue, cfg.Policies.DecisionRetention)
	admitter := &policies.Admitter{Engine: mgr.Engine, Decisions: decisions, Exempt: exempt,
		Timeout: cfg.Policies.EvalTimeout, FailOpen: cfg.Webhook.FailOpen(), FailClosedAbove: cfg.Policies.FailClosedAbove, Log: plog}
	return portal.Policies{Manager: mgr, Decisions: decisions, Admitter: admitter, EvalTimeout: cfg.Policies.EvalTimeout}, nil
}

// newProvisioning connects the default cluster (restCfg, nil for none)
// and the named ones; with a cluster it also builds the reconciler, whose
// Lease lives in Paved's own namespace on the default (or first) cluster.
func newProvisioning(db *database.DB, cfg config.Config, restCfg *rest.Config, identity string, log *slog.Logger) (portal.Provisioning, error) {
	plog := log.With("component", "provisioning")
	clusters, err := provision.ConnectClusters(&cfg.Provisioning, restCfg)
	if err != nil {
		return portal.Provisioning{}, err
	}
	p := provision.New(cfg.Provisioning, clusters, provision.NewStore(db), plog)
	p.Identity = identity
	if !p.Enabled() {
		plog.Info("provisioning is off", "reason", provision.ErrOff.Message)
		return portal.Provisioning{Provisioner: p}, nil
	}
	home, ok := p.Cluster(provision.DefaultCluster)
	if !ok {
		home, _ = p.Cluster(p.ClusterNames()[0])
	}
	r := &provision.Reconciler{Provisioner: p, Cluster: home, Namespace: cfg.Namespace, Identity: p.Identity,
		Interval: cfg.Provisioning.ReconcileInterval, Log: plog}
	return portal.Provisioning{Provisioner: p, Reconciler: r}, nil
}

// integrationHost is the credentials of host among list (a token, or the
// password for hosts configured with a user name and password); with
// web, its base URL too (default https://<host>).
func integrationHost(list []catalog.Integration, host string, web bool) (publish.Host, bool) {
	for _, it := range list {
		if !strings.EqualFold(it.Host, host) {
			continue
		}
		h := publish.Host{Username: it.Username, Token: it.Token}
		if h.Token == "" {
			h.Token = it.Password
		}
		if web {
			h.BaseURL = it.BaseURL
			if h.BaseURL == "" {
				h.BaseURL = "https://" + it.Host
			}
		}
		return h, true
	}
	return publish.Host{}, false
}

// templateCheck is the catalog's check of Template entities: they parse
// and use only actions this server has; the problems name JSON pointers,
// so the catalog reports their lines.
func templateCheck(actions *scaffolder.Registry) func(catalog.Raw) []catalog.FieldError {
	return func(raw catalog.Raw) []catalog.FieldError {
		var out []catalog.FieldError
		for _, d := range scaffolder.CheckEntity(raw, actions) {
			out = append(out, catalog.FieldError{Pointer: jsonPointer(d.Field), Reason: d.Reason})
		}
		return out
	}
}

// jsonPointer turns spec.steps[1].action into /spec/steps/1/action.
func jsonPointer(field string) string {
	if field == "" {
		return ""
	}
	field = strings.NewReplacer("[", ".", "]", "").Replace(field)
	return "/" + strings.ReplaceAll(field, ".", "/")
}

// registerBuiltinTemplates makes the catalog hold a location for each
// built-in template (embedded:///DIR/template.yaml; new ones are due for
// a refresh at once) and removes the locations of built-in templates this
// binary no longer ships, so an upgrade replaces them.
func registerBuiltinTemplates(ctx context.Context, store *catalog.Store, dirs []string) error {
	want := map[string]bool{}
	for _, dir := range dirs {
		target := catalog.BuiltinScheme + ":///" + dir + "/template.yaml"
		want[target] = true
		if _, err := store.LocationByTarget(ctx, catalog.LocationURL, target); err == nil {
			continue
		}
		if _, err := store.CreateLocation(ctx, catalog.LocationURL, target); err != nil && paved.ErrorCode(err) != paved.CodeConflict {
			return fmt.Errorf("register built-in template %s: %w", dir, err)
		}
	}
	locs, err := store.Locations(ctx)
	if err != nil {
		return err
	}
	for _, loc := range locs {
		if loc.Type == catalog.LocationURL && strings.HasPrefix(loc.Target, catalog.BuiltinScheme+":") && !want[loc.Target] {
			if err := store.DeleteLocation(ctx, loc.ID, catalog.ApplyOptions{DeleteOrphans: true}); err != nil {
				return fmt.Errorf("remove the old built-in template %s: %w", loc.Target, err)
			}
		}
	}
	return nil
}

// apiBaseURL is the configured REST API root of host, if any.
func apiBaseURL(list []catalog.Integration, host string) string {
	for _, it := range list {
		if strings.EqualFold(it.Host, host) {
			return it.APIBaseURL
		}
	}
	return ""
}

// replicaIdentity names this process in the reconciler's Lease and in
// drift records: the host name (the pod name in a cluster) and a random
// suffix, so two processes on one host differ.
func replicaIdentity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "paved"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// start loads the active policies (installing the default library on a
// new database), registers the built-in templates, then starts the job
// queue and the loops.
func (s *services) start(ctx context.Context) error {
	pol := s.portal.Policies
	if err := pol.Manager.Bootstrap(ctx); err != nil {
		return err
	}
	if err := registerBuiltinTemplates(ctx, s.portal.Catalog.Store, templates.Dirs()); err != nil {
		return err
	}
	if err := s.queue.Start(ctx); err != nil {
		return err
	}
	s.loops.Add(3)
	go func() { defer s.loops.Done(); s.recoverer.Run(ctx) }()
	go func() { defer s.loops.Done(); pol.Manager.Run(ctx, s.cfg.Policies.SyncInterval) }()
	go func() { defer s.loops.Done(); pol.Decisions.Run(ctx) }()
	if r := s.portal.Provisioning.Reconciler; r != nil {
		s.loops.Add(1)
		go func() { defer s.loops.Done(); r.Run(ctx) }()
	}
	return nil
}

// stop lets running jobs finish within the timeout; cut-off jobs are retried.
func (s *services) stop(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.queue.Stop(ctx)
	s.loops.Wait() // the loops end with the serve context; the log drains
	return err
}
