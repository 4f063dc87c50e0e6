package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paved-dev/paved"
)

// Provisioner provisions environments, keeps them as desired and removes
// them when asked. It is safe for concurrent use.
type Provisioner struct {
	settings Settings
	clusters map[string]*Cluster
	store    *Store
	log      *slog.Logger
	// Identity names this replica in drift records.
	Identity string
}

// New returns a provisioner over the connected clusters; with none,
// provisioning is off and every call says so. The settings must have had
// their defaults applied and passed Validate (loading the configuration
// does both).
func New(s Settings, clusters map[string]*Cluster, store *Store, log *slog.Logger) *Provisioner {
	return &Provisioner{settings: s, clusters: clusters, store: store, log: log, Identity: "paved"}
}

// Enabled reports whether a cluster is configured.
func (p *Provisioner) Enabled() bool { return len(p.clusters) > 0 }

// Settings returns the provisioning settings in effect.
func (p *Provisioner) Settings() Settings { return p.settings }

// Store returns the store of provisioned environments.
func (p *Provisioner) Store() *Store { return p.store }

// ClusterNames lists the connected clusters.
func (p *Provisioner) ClusterNames() []string {
	return slices.Sorted(maps.Keys(p.clusters))
}

// Cluster returns a connected cluster.
func (p *Provisioner) Cluster(name string) (*Cluster, bool) {
	c, ok := p.clusters[name]
	return c, ok
}

// ErrOff is the answer to every provisioning call without a cluster.
var ErrOff = &paved.Error{Code: paved.CodeUnavailable, Message: "provisioning is off: no Kubernetes cluster is configured; " +
	"set --kubeconfig (PAVED_KUBECONFIG), run Paved in a pod with a service account, or name clusters under provisioning.clusters in the config file"}

func (p *Provisioner) on() error {
	if !p.Enabled() {
		return ErrOff
	}
	return nil
}

// ApplyError is a provisioning request the cluster refused part-way: it
// says which objects were applied before the refusal.
type ApplyError struct {
	Err          error
	Environments []Environment
}

func (e *ApplyError) Error() string { return e.Err.Error() }

// Unwrap classifies the refusal as its cause is classified, with every
// environment and its objects' states as the answer's items.
func (e *ApplyError) Unwrap() error {
	return paved.WithPayload(e.Err, EnvironmentList{Items: e.Environments})
}

// EnvironmentList is a list of environments as the API answers it.
type EnvironmentList struct {
	Items []Environment `json:"items"`
}

// Provision applies everything the request's environments need, in order.
// The request is checked as a whole first (names, environments, clusters,
// pipeline CRDs, namespace ownership): nothing is applied unless all of it
// is valid. A refusal by the API server stops the request with an
// *ApplyError; the environment is recorded as failed, so the reconciler
// and a retry finish it.
func (p *Provisioner) Provision(ctx context.Context, r Request) ([]Environment, error) {
	if err := p.on(); err != nil {
		return nil, err
	}
	targets, err := p.settings.Resolve(r, p.ClusterNames())
	if err != nil {
		return nil, err
	}
	if r.keepPipeline {
		for i, t := range targets {
			if prev, err := p.store.Get(ctx, t.Service, t.Environment); err == nil && prev.Pipeline != "" {
				targets[i].Pipeline, targets[i].RepoURL = prev.Pipeline, prev.RepoURL
			}
		}
	}
	for _, t := range targets {
		if err := p.preflight(ctx, t); err != nil {
			return nil, err
		}
	}
	var out []Environment
	for i, t := range targets {
		e, err := p.provisionOne(ctx, t)
		out = append(out, e)
		if err != nil {
			for _, rest := range targets[i+1:] {
				out = append(out, Environment{Target: rest, Status: StatusSkipped, Objects: []ObjectStatus{}})
			}
			return out, &ApplyError{Err: err, Environments: out}
		}
	}
	return out, nil
}

// ProvisionNamespaces is Provision leaving pipelines as they are: an
// environment already provisioned with a pipeline keeps it when r names
// none.
func (p *Provisioner) ProvisionNamespaces(ctx context.Context, r Request) ([]Environment, error) {
	r.keepPipeline = true
	return p.Provision(ctx, r)
}

// preflight refuses a target whose pipeline cannot run on its cluster or
// whose namespace belongs to someone else.
func (p *Provisioner) preflight(ctx context.Context, t Target) error {
	c := p.clusters[t.Cluster]
	if t.Pipeline != "" {
		if err := c.checkProvider(t.Pipeline); err != nil {
			return err
		}
	}
	if t.Pipeline == ArgoCD {
		if err := c.checkNamespace(ctx, p.settings.ArgoCD.Namespace, "provisioning.argocd.namespace: Argo CD's AppProjects and Applications go there"); err != nil {
			return err
		}
	}
	prev, err := p.store.Get(ctx, t.Service, t.Environment)
	switch {
	case err == nil && prev.Status == StatusDeprovisioning:
		return paved.Errorf(paved.CodeConflict, "%s/%s is being deprovisioned; finish with DELETE before provisioning it again", t.Service, t.Environment)
	case err == nil && (prev.Cluster != t.Cluster || prev.Namespace != t.Namespace):
		return paved.Errorf(paved.CodeConflict, "%s/%s is already provisioned in namespace %s on cluster %s; deprovision it before moving it to %s on %s",
			t.Service, t.Environment, prev.Namespace, prev.Cluster, t.Namespace, t.Cluster)
	case err != nil && paved.ErrorCode(err) != paved.CodeNotFound:
		return err
	}
	return p.checkNamespace(ctx, c, t)
}

// checkNamespace allows a namespace that does not exist yet or that Paved
// created for this service and environment: Paved never takes over (and
// so never later deletes) a namespace someone else made.
func (p *Provisioner) checkNamespace(ctx context.Context, c *Cluster, t Target) error {
	ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, t.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return paved.Errorf(paved.CodeUnavailable, "cluster %s: read namespace %s: %w", c.Name, t.Namespace, err)
	}
	if ns.DeletionTimestamp != nil {
		return paved.Errorf(paved.CodeConflict, "namespace %s on cluster %s is being deleted; provision again once it is gone", t.Namespace, c.Name)
	}
	if !ownedBy(ns.Labels, t) {
		return paved.Errorf(paved.CodeConflict, "namespace %s already exists on cluster %s and was not created by Paved for %s/%s; Paved does not take over namespaces it did not create",
			t.Namespace, c.Name, t.Service, t.Environment)
	}
	return nil
}

func ownedBy(labels map[string]string, t Target) bool {
	return labels[LabelManagedBy] == managedByPaved && labels[LabelService] == t.Service && labels[LabelEnvironment] == t.Environment
}

// provisionOne records the target, applies its objects and records the
// outcome. The outcome is recorded even if ctx ends, so nothing applied
// goes unrecorded.
func (p *Provisioner) provisionOne(ctx context.Context, t Target) (Environment, error) {
	e := Environment{Target: t, Status: StatusProvisioning}
	team, err := p.store.List(ctx, Filter{Team: t.Team, Cluster: t.Cluster})
	if err != nil {
		return e, err
	}
	for _, prev := range team {
		if prev.Service == t.Service && prev.Environment == t.Environment {
			e.CreatedAt, e.Objects, e.LastReconciledAt = prev.CreatedAt, prev.Objects, prev.LastReconciledAt
		}
	}
	if err := p.store.Save(ctx, e); err != nil {
		return e, err
	}
	statuses, applyErr := p.clusters[t.Cluster].applyAll(ctx, p.settings.objects(t, team), knownVersions(team))
	now := p.store.Now()
	e.Objects, e.LastAppliedAt, e.Status, e.LastError = statuses, &now, StatusReady, ""
	if applyErr != nil {
		e.Status, e.LastError = StatusFailed, paved.ErrorMessage(applyErr)
	}
	if err := p.store.Save(context.WithoutCancel(ctx), e); err != nil {
		return e, errors.Join(applyErr, err)
	}
	p.log.InfoContext(ctx, "provisioned environment", "service", t.Service, "environment", t.Environment,
		"namespace", t.Namespace, "cluster", t.Cluster, "pipeline", t.Pipeline, "status", e.Status)
	return e, applyErr
}

// knownVersions are the resourceVersions recorded for the objects of
// environments (a team's, on one cluster): an apply returning one of them
// changed nothing. Team-wide objects are recorded by several environments.
func knownVersions(envs []Environment) map[versionKey]bool {
	out := map[versionKey]bool{}
	for _, e := range envs {
		for _, o := range e.Objects {
			out[versionKey{o.ObjectRef, o.ResourceVersion}] = true
		}
	}
	return out
}

type versionKey struct {
	ref ObjectRef
	rv  string
}

// desired is every object of a target, reading its team's environments
// for the team-wide objects.
func (p *Provisioner) desired(ctx context.Context, t Target) ([]Object, error) {
	if t.Pipeline == "" {
		return p.settings.objects(t, nil), nil
	}
	envs, err := p.store.List(ctx, Filter{Team: t.Team, Cluster: t.Cluster})
	if err != nil {
		return nil, err
	}
	return p.settings.objects(t, envs), nil
}

// objects is every object of a target: its namespace and what goes in it,
// then its pipeline. Team-wide objects (Argo CD's AppProject) are built
// from envs, the stored environments, with t in place of its own.
func (s *Settings) objects(t Target, envs []Environment) []Object {
	objs := s.namespaceObjects(t)
	if t.Pipeline == "" {
		return objs
	}
	return append(objs, providers[t.Pipeline].objects(s, t, teamTargets(envs, t))...)
}

// teamTargets are the environments sharing t's team-wide pipeline objects:
// same team, cluster and provider; t itself replaces its stored version.
func teamTargets(envs []Environment, t Target) []Target {
	out := []Target{t}
	for _, e := range envs {
		same := e.Service == t.Service && e.Environment == t.Environment
		if !same && e.Status != StatusDeprovisioning && e.Team == t.Team && e.Cluster == t.Cluster && e.Pipeline == t.Pipeline {
			out = append(out, e.Target)
		}
	}
	return out
}

// target rebuilds a stored environment's target from the current
// settings, so profile changes reach existing namespaces.
func (p *Provisioner) target(e Environment) (Target, *Cluster, error) {
	prof, ok := p.settings.Profile(e.Environment)
	if !ok {
		return Target{}, nil, paved.Errorf(paved.CodeUnprocessable, "environment %q of %s is no longer configured; %s",
			e.Environment, e.Service, knownList(p.settings.EnvironmentNames()))
	}
	c, ok := p.clusters[e.Cluster]
	if !ok {
		return Target{}, nil, paved.Errorf(paved.CodeUnavailable, "cluster %q of %s/%s is not connected; %s",
			e.Cluster, e.Service, e.Environment, knownList(p.ClusterNames()))
	}
	t := e.Target
	t.profile = prof
	return t, c, nil
}

// Get returns a stored environment with the live state of each of its
// objects and its recent drift.
func (p *Provisioner) Get(ctx context.Context, service, env string) (Environment, []DriftEvent, error) {
	if err := p.on(); err != nil {
		return Environment{}, nil, err
	}
	e, err := p.store.Get(ctx, service, env)
	if err != nil {
		return e, nil, err
	}
	drift, err := p.store.Drift(ctx, service, env, 50)
	if err != nil {
		return e, nil, err
	}
	t, c, err := p.target(e)
	if err != nil {
		return e, drift, nil // the stored state is all there is to show
	}
	objs, err := p.desired(ctx, t)
	if err != nil {
		return e, drift, err
	}
	live, err := c.inspect(ctx, objs, c.get)
	if err != nil {
		return e, drift, err
	}
	e.Objects = live
	return e, drift, nil
}

// List returns stored environments.
func (p *Provisioner) List(ctx context.Context, f Filter) ([]Environment, error) {
	if err := p.on(); err != nil {
		return nil, err
	}
	return p.store.List(ctx, f)
}

// Targets lists the environments of a request without applying anything,
// for callers that show what would be provisioned.
func (p *Provisioner) Targets(r Request) ([]Target, error) {
	if err := p.on(); err != nil {
		return nil, err
	}
	return p.settings.Resolve(r, p.ClusterNames())
}

func (t Target) String() string { return fmt.Sprintf("%s/%s", t.Service, t.Environment) }
