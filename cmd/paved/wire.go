package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/jobs"
	"github.com/paved-dev/paved/internal/kube"
	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/portal"
	"github.com/paved-dev/paved/scaffolder/provision"
)

// scheduleEvery is how often the leader looks for locations due a refresh.
const scheduleEvery = 30 * time.Second

// services are the long-lived parts serve builds around the database.
type services struct {
	catalog      portal.Catalog
	policies     portal.Policies
	provisioning portal.Provisioning
	queue        *jobs.Queue
	cfg          portal.Config
	loops        sync.WaitGroup
}

// portal is what the HTTP server exposes.
func (s *services) portal() portal.Services {
	return portal.Services{Catalog: s.catalog, Policies: s.policies, Provisioning: s.provisioning}
}

// newServices builds the catalog and the job queue that refreshes it.
func newServices(db *database.DB, cfg portal.Config, log *slog.Logger) (*services, error) {
	store := catalog.NewStore(db)
	ingester := &catalog.Ingester{
		Store:    store,
		Fetch:    catalog.Fetchers{Git: catalog.NewGitFetcher(), HTTP: &http.Client{Timeout: time.Minute}},
		Apply:    catalog.ApplyOptions{DeleteOrphans: cfg.CatalogDeleteOrphans},
		Interval: cfg.CatalogRefreshInterval,
		Log:      log.With("component", "catalog"),
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &catalog.RefreshWorker{Ingester: ingester})
	sched := &catalog.ScheduleWorker{Store: store}
	river.AddWorker(workers, sched)
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(scheduleEvery),
		func() (river.JobArgs, *river.InsertOpts) { return catalog.ScheduleArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}

	restCfg, err := kube.Config(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	pol, err := newPolicies(db, cfg, restCfg, log)
	if err != nil {
		return nil, err
	}
	prov, err := newProvisioning(db, cfg, restCfg, log)
	if err != nil {
		return nil, err
	}
	if pol.Live != nil {
		auditor := &policies.Auditor{Store: pol.Manager.Store, Engine: pol.Manager.Engine, Objects: pol.Live, Log: log.With("component", "audit")}
		river.AddWorker(workers, &policies.AuditWorker{Auditor: auditor})
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.PolicyAuditInterval),
			func() (river.JobArgs, *river.InsertOpts) { return policies.AuditArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	queue, err := jobs.New(db, log, jobs.Options{Workers: workers, Periodic: periodic})
	if err != nil {
		return nil, err
	}
	sched.Queue = queue
	return &services{catalog: portal.Catalog{Store: store, Ingester: ingester, Queue: queue}, policies: pol, provisioning: prov, queue: queue, cfg: cfg}, nil
}

// newPolicies builds the policy engine, its decision log and the admitter;
// Live is set when a cluster is configured.
func newPolicies(db *database.DB, cfg portal.Config, restCfg *rest.Config, log *slog.Logger) (portal.Policies, error) {
	store := policies.NewStore(db)
	plog := log.With("component", "policies")
	mgr := &policies.Manager{Store: store, Engine: policies.NewEngine(), Log: plog}
	decisions := policies.NewDecisionLog(store, plog, cfg.PolicyDecisionQueue, cfg.PolicyDecisionRetention)
	exempt := map[string]bool{cfg.Namespace: true}
	for _, ns := range cfg.PolicyExemptNamespaces {
		exempt[ns] = true
	}
	admitter := &policies.Admitter{Engine: mgr.Engine, Decisions: decisions, Exempt: exempt,
		Timeout: cfg.PolicyEvalTimeout, FailOpen: cfg.WebhookFailurePolicy == "Ignore", Log: plog}
	pol := portal.Policies{Manager: mgr, Decisions: decisions, Admitter: admitter}
	if restCfg != nil {
		live, err := policies.NewClusterObjects(restCfg, exempt)
		if err != nil {
			return pol, err
		}
		pol.Live = live
	}
	return pol, nil
}

// newProvisioning connects the default cluster (restCfg, nil for none)
// and the named ones; with a cluster it also builds the reconciler, whose
// Lease lives in Paved's own namespace on the default (or first) cluster.
func newProvisioning(db *database.DB, cfg portal.Config, restCfg *rest.Config, log *slog.Logger) (portal.Provisioning, error) {
	plog := log.With("component", "provisioning")
	// client-go (leader election, discovery) logs through klog: send it to
	// Paved's log, so JSON logs stay JSON.
	klog.SetSlogLogger(log.With("component", "client-go"))
	clusters, err := provision.ConnectClusters(&cfg.Provisioning, restCfg)
	if err != nil {
		return portal.Provisioning{}, err
	}
	p, err := provision.New(cfg.Provisioning, clusters, provision.NewStore(db), plog)
	if err != nil {
		return portal.Provisioning{}, err
	}
	p.Identity = replicaIdentity()
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
// new database), then starts the job queue and the policy loops.
func (s *services) start(ctx context.Context) error {
	if err := s.policies.Manager.Bootstrap(ctx); err != nil {
		return err
	}
	if err := s.queue.Start(ctx); err != nil {
		return err
	}
	s.loops.Add(2)
	go func() { defer s.loops.Done(); s.policies.Manager.Run(ctx, s.cfg.PolicySyncInterval) }()
	go func() { defer s.loops.Done(); s.policies.Decisions.Run(ctx) }()
	if r := s.provisioning.Reconciler; r != nil {
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
