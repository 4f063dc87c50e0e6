package provision

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/paved-dev/paved"
)

// liveFunc reads a live object, or nil when it does not exist.
type liveFunc func(ctx context.Context, ref ObjectRef) (*unstructured.Unstructured, error)

// inspect compares each object with its live version: in-sync, drifted
// (with the fields) or missing.
func (c *Cluster) inspect(ctx context.Context, objs []Object, live liveFunc) ([]ObjectStatus, error) {
	out := make([]ObjectStatus, len(objs))
	for i, o := range objs {
		out[i] = ObjectStatus{ObjectRef: o.ObjectRef, State: StateMissing}
		l, err := live(ctx, o.ObjectRef)
		if err != nil {
			return nil, paved.Errorf(paved.CodeUnavailable, "cluster %s: read %s: %w", c.Name, o.ObjectRef, err)
		}
		if l == nil {
			continue
		}
		out[i].ResourceVersion = l.GetResourceVersion()
		out[i].State = StateInSync
		if fields := diff(o.body, l); len(fields) > 0 {
			out[i].State, out[i].Fields = StateDrifted, fields
			out[i].changedBy = changedBy(l)
			out[i].Message = changedByMessage(out[i].changedBy)
		}
	}
	return out, nil
}

func changedByMessage(managers []string) string {
	if len(managers) == 0 {
		return ""
	}
	return "also written by " + strings.Join(managers, ", ")
}

// correct applies the objects that are missing or drifted and returns
// every object's state and the drift corrected. The namespace goes first
// when it is among them; the others go concurrently, and one refusal does
// not stop the rest.
func (p *Provisioner) correct(ctx context.Context, c *Cluster, t Target, objs []Object, live liveFunc) ([]ObjectStatus, []DriftEvent, error) {
	states, err := c.inspect(ctx, objs, live)
	if err != nil {
		return nil, nil, err
	}
	var fix []int
	for i, s := range states {
		if s.State == StateDrifted || s.State == StateMissing {
			fix = append(fix, i)
		}
	}
	events := make([]*DriftEvent, len(objs))
	errs := make([]error, len(objs))
	now := p.store.Now()
	applyOne := func(ctx context.Context, i int) error {
		before := states[i]
		rv, err := c.apply(ctx, objs[i])
		if err != nil {
			states[i].State, states[i].Message = StateFailed, err.Error()
			errs[i] = refusal(c.Name, objs[i].ObjectRef, err)
			return errs[i]
		}
		states[i].State, states[i].ResourceVersion = StateApplied, rv
		ev := &DriftEvent{Service: t.Service, Environment: t.Environment, Object: objs[i].ObjectRef, Reason: DriftChanged,
			Fields: before.Fields, ChangedBy: before.changedBy, CorrectedBy: p.Identity, CorrectedAt: now}
		if before.State == StateMissing {
			ev.Reason = DriftDeleted
		}
		events[i] = ev
		return nil
	}
	if len(fix) > 0 && fix[0] == 0 {
		if err := applyOne(ctx, 0); err != nil {
			return states, collect(events), err
		}
		fix = fix[1:]
	}
	_ = forEach(ctx, len(fix), applyConcurrency, func(ctx context.Context, k int) error {
		applyOne(ctx, fix[k]) // recorded in errs; the others still go
		return nil
	})
	return states, collect(events), errors.Join(errs...)
}

func collect(events []*DriftEvent) []DriftEvent {
	var out []DriftEvent
	for _, e := range events {
		if e != nil {
			out = append(out, *e)
		}
	}
	return out
}

// Reconciled is what reconciling one environment did: its state after,
// and the drift corrected. A reconcile that fails part-way carries it as
// its error's payload, since a refusal is part of the outcome.
type Reconciled struct {
	Environment Environment  `json:"environment"`
	Corrected   []DriftEvent `json:"corrected"`
}

// Reconcile re-applies one environment's desired state now, fixing and
// recording whatever drifted.
func (p *Provisioner) Reconcile(ctx context.Context, service, env string) (Reconciled, error) {
	if err := p.on(); err != nil {
		return Reconciled{}, err
	}
	e, err := p.store.Get(ctx, service, env)
	if err != nil {
		return Reconciled{}, err
	}
	e, corrected, err := p.reconcileStored(ctx, e)
	out := Reconciled{Environment: e, Corrected: corrected}
	if out.Corrected == nil {
		out.Corrected = []DriftEvent{}
	}
	if err != nil {
		return out, paved.WithPayload(err, out)
	}
	return out, nil
}

// reconcileStored reconciles a stored environment.
func (p *Provisioner) reconcileStored(ctx context.Context, e Environment) (Environment, []DriftEvent, error) {
	if e.Status == StatusDeprovisioning {
		return e, nil, paved.Errorf(paved.CodeConflict, "%s/%s is being deprovisioned; finish with DELETE", e.Service, e.Environment)
	}
	t, c, err := p.target(e)
	if err == nil && t.Pipeline != "" {
		err = c.checkProvider(t.Pipeline)
	}
	if err != nil {
		return p.recordFailure(ctx, e, err), nil, err
	}
	objs, err := p.desired(ctx, t)
	if err != nil {
		return e, nil, err
	}
	return p.reconcileOne(ctx, e, t, c, objs, c.get, nil)
}

// reconcileOne corrects the target's objects and deletes stale ones:
// objects labelled as the target's that it no longer wants (a policy for
// a monitoring namespace since removed from the settings, the Argo CD
// Application of an environment moved to Flux).
func (p *Provisioner) reconcileOne(ctx context.Context, e Environment, t Target, c *Cluster, objs []Object, live liveFunc, stale []ObjectRef) (Environment, []DriftEvent, error) {
	states, events, err := p.correct(ctx, c, t, objs, live)
	if err == nil {
		var removed []DriftEvent
		removed, err = p.prune(ctx, c, t, stale)
		events = append(events, removed...)
	}
	now := p.store.Now()
	e.LastReconciledAt = &now
	if states != nil {
		e.Objects = states
	}
	e.Status, e.LastError = StatusReady, ""
	if err != nil {
		e.Status, e.LastError = StatusFailed, paved.ErrorMessage(err)
	}
	ctx = context.WithoutCancel(ctx) // what was applied is recorded
	if serr := p.store.UpdateState(ctx, e); serr != nil {
		return e, events, errors.Join(err, serr)
	}
	if serr := p.store.AddDrift(ctx, events); serr != nil {
		return e, events, errors.Join(err, serr)
	}
	for _, ev := range events {
		p.log.InfoContext(ctx, "corrected drift", "service", ev.Service, "environment", ev.Environment,
			"object", ev.Object.String(), "reason", ev.Reason, "fields", len(ev.Fields), "changed_by", ev.ChangedBy)
	}
	return e, events, err
}

func (p *Provisioner) recordFailure(ctx context.Context, e Environment, err error) Environment {
	now := p.store.Now()
	e.LastReconciledAt, e.Status, e.LastError = &now, StatusFailed, paved.ErrorMessage(err)
	if serr := p.store.UpdateState(context.WithoutCancel(ctx), e); serr != nil {
		p.log.ErrorContext(ctx, "record reconcile failure", "service", e.Service, "environment", e.Environment, "err", serr)
	}
	return e
}

// PassResult sums up one reconcile pass.
type PassResult struct {
	Environments int           `json:"environments"`
	Objects      int           `json:"objects"`
	Corrected    int           `json:"corrected"`
	Failed       int           `json:"failed"`
	Duration     time.Duration `json:"duration"`
}

// ReconcileAll re-applies the desired state of every provisioned
// environment. Each cluster's objects are read with one paged list per
// kind (those labelled managed-by=paved), so a pass costs a few requests
// plus one apply per drifted object, not a read per object.
func (p *Provisioner) ReconcileAll(ctx context.Context) (PassResult, error) {
	start := time.Now()
	if err := p.on(); err != nil {
		return PassResult{}, err
	}
	envs, err := p.store.List(ctx, Filter{})
	if err != nil {
		return PassResult{}, err
	}
	byCluster := map[string][]Environment{}
	for _, e := range envs {
		if e.Status != StatusDeprovisioning {
			byCluster[e.Cluster] = append(byCluster[e.Cluster], e)
		}
	}
	var total PassResult
	var errs []error
	for name, list := range byCluster {
		r, err := p.reconcileCluster(ctx, name, list, envs)
		total.Environments += r.Environments
		total.Objects += r.Objects
		total.Corrected += r.Corrected
		total.Failed += r.Failed
		errs = append(errs, err)
	}
	total.Duration = time.Since(start)
	return total, errors.Join(errs...)
}

// reconcileJob is one environment of a pass.
type reconcileJob struct {
	env    Environment
	target Target
	objs   []Object
	err    error
}

func (p *Provisioner) reconcileCluster(ctx context.Context, name string, envs, all []Environment) (PassResult, error) {
	res := PassResult{Environments: len(envs)}
	c, ok := p.clusters[name]
	jobs := make([]reconcileJob, len(envs))
	kinds := managedKinds()
	for i, e := range envs {
		j := reconcileJob{env: e}
		j.target, _, j.err = p.target(e)
		if j.err == nil && !ok {
			j.err = paved.Errorf(paved.CodeUnavailable, "cluster %q is not connected", name)
		}
		if j.err == nil && j.target.Pipeline != "" {
			j.err = c.checkProvider(j.target.Pipeline)
		}
		if j.err == nil {
			j.objs = p.settings.objects(j.target, all)
		}
		jobs[i] = j
	}
	var index map[ObjectRef]*unstructured.Unstructured
	if ok {
		var err error
		if index, err = c.listManaged(ctx, kinds); err != nil {
			return res, err
		}
	}
	byOwner := groupByOwner(index)
	live := func(ctx context.Context, ref ObjectRef) (*unstructured.Unstructured, error) {
		if u, ok := index[ref]; ok {
			return u, nil
		}
		return c.get(ctx, ref) // gone, or its managed-by label was removed
	}
	counts := make([]PassResult, len(jobs))
	_ = forEach(ctx, len(jobs), applyConcurrency, func(ctx context.Context, i int) error {
		j := jobs[i]
		if j.err != nil {
			p.recordFailure(ctx, j.env, j.err)
			counts[i].Failed = 1
			return nil
		}
		owned := byOwner[ownerKey{j.target.Team, j.target.Service, j.target.Environment}]
		_, events, err := p.reconcileOne(ctx, j.env, j.target, c, j.objs, live, staleObjects(owned, j.objs))
		counts[i] = PassResult{Objects: len(j.objs), Corrected: len(events)}
		if err != nil {
			counts[i].Failed = 1
		}
		return nil
	})
	for _, n := range counts {
		res.Objects += n.Objects
		res.Corrected += n.Corrected
		res.Failed += n.Failed
	}
	return res, ctx.Err()
}

// listManaged reads every object of the kinds that carries Paved's
// managed-by label, indexed by reference. Kinds the cluster does not serve
// are skipped; checkProvider reports them.
func (c *Cluster) listManaged(ctx context.Context, kinds map[schema.GroupVersionKind]bool) (map[ObjectRef]*unstructured.Unstructured, error) {
	index := map[ObjectRef]*unstructured.Unstructured{}
	for gvk := range kinds {
		m, err := c.mapping(gvk)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, paved.Errorf(paved.CodeUnavailable, "cluster %s: discover %s: %w", c.Name, gvk, err)
		}
		opts := metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + managedByPaved, Limit: 500}
		for {
			list, err := c.Dynamic.Resource(m.Resource).List(ctx, opts)
			if err != nil {
				return nil, paved.Errorf(paved.CodeUnavailable, "cluster %s: list %s: %w", c.Name, m.Resource.Resource, err)
			}
			for i := range list.Items {
				u := &list.Items[i]
				index[ObjectRef{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}] = u
			}
			if opts.Continue = list.GetContinue(); opts.Continue == "" {
				break
			}
		}
	}
	return index, nil
}

// DriftRemoved is a stale object the reconciler deleted.
const DriftRemoved = "removed"

// managedKinds is every kind Paved creates, listed by each pass whether or
// not any environment still wants it, so stale objects are found.
func managedKinds() map[schema.GroupVersionKind]bool {
	kinds := map[schema.GroupVersionKind]bool{}
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "Namespace"}, {Version: "v1", Kind: "ResourceQuota"}, {Version: "v1", Kind: "LimitRange"},
		{Version: "v1", Kind: "ServiceAccount"}, {Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}, {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	} {
		kinds[gvk] = true
	}
	for _, prov := range providers {
		for _, k := range prov.kinds {
			kinds[k.GroupVersionKind] = true
		}
	}
	return kinds
}

// ownerKey is whose an object is, by its labels.
type ownerKey struct{ team, service, env string }

// groupByOwner indexes listed objects by the environment their labels name.
// Namespaces are left out: only deprovisioning deletes them.
func groupByOwner(index map[ObjectRef]*unstructured.Unstructured) map[ownerKey][]ObjectRef {
	out := map[ownerKey][]ObjectRef{}
	for ref, u := range index {
		if ref.Kind == "Namespace" {
			continue
		}
		l := u.GetLabels()
		if l[LabelService] == "" || l[LabelEnvironment] == "" {
			continue // team-wide, such as an AppProject
		}
		k := ownerKey{l[LabelTeam], l[LabelService], l[LabelEnvironment]}
		out[k] = append(out[k], ref)
	}
	return out
}

// staleObjects are the environment's labelled objects its desired state no
// longer has.
func staleObjects(owned []ObjectRef, objs []Object) []ObjectRef {
	want := map[ObjectRef]bool{}
	for _, o := range objs {
		want[o.ObjectRef] = true
	}
	var out []ObjectRef
	for _, ref := range owned {
		if !want[ref] {
			out = append(out, ref)
		}
	}
	slices.SortFunc(out, func(a, b ObjectRef) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func (p *Provisioner) prune(ctx context.Context, c *Cluster, t Target, stale []ObjectRef) ([]DriftEvent, error) {
	var events []DriftEvent
	for _, ref := range stale {
		if err := c.delete(ctx, ref); err != nil {
			return events, err
		}
		events = append(events, DriftEvent{Service: t.Service, Environment: t.Environment, Object: ref, Reason: DriftRemoved,
			CorrectedBy: p.Identity, CorrectedAt: p.store.Now()})
	}
	return events, nil
}
