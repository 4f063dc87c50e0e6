package provision

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paved-dev/paved"
)

// Deprovisioned says what deprovisioning removed and what it left.
type Deprovisioned struct {
	Service     string         `json:"service"`
	Environment string         `json:"environment"`
	Cluster     string         `json:"cluster"`
	Namespace   string         `json:"namespace"`
	Deleted     []ObjectRef    `json:"deleted"`
	Kept        []ObjectStatus `json:"kept"`
}

// Deprovision removes one environment: its pipeline objects outside the
// namespace, then the namespace (and with it everything inside), then
// Paved's record. confirm must be "<service>/<env>": deleting a namespace
// is never a side effect. A namespace Paved did not create is kept.
func (p *Provisioner) Deprovision(ctx context.Context, service, env, confirm string) (Deprovisioned, error) {
	out := Deprovisioned{Service: service, Environment: env, Deleted: []ObjectRef{}, Kept: []ObjectStatus{}}
	if err := p.on(); err != nil {
		return out, err
	}
	want := service + "/" + env
	if confirm != want {
		return out, &paved.Error{Code: paved.CodeUnprocessable, Message: "deprovisioning deletes the namespace and everything in it; confirm it",
			Details: []paved.Detail{{Field: "confirm", Reason: fmt.Sprintf("must be %q, got %q", want, confirm)}}}
	}
	e, err := p.store.Get(ctx, service, env)
	if err != nil {
		return out, err
	}
	out.Cluster, out.Namespace = e.Cluster, e.Namespace
	c, ok := p.clusters[e.Cluster]
	if !ok {
		return out, paved.Errorf(paved.CodeUnavailable, "cluster %q of %s is not connected; %s", e.Cluster, want, knownList(p.ClusterNames()))
	}
	// Marked first, so a reconcile pass does not put back what is being
	// removed; a removal that fails half-way keeps the mark and its record.
	e.Status = StatusDeprovisioning
	if err := p.store.UpdateState(ctx, e); err != nil {
		return out, err
	}
	if err := p.removePipeline(ctx, c, e, &out); err != nil {
		return out, err
	}
	if err := p.removeNamespace(ctx, c, e, &out); err != nil {
		return out, err
	}
	if err := p.store.Delete(context.WithoutCancel(ctx), service, env); err != nil {
		return out, err
	}
	p.log.InfoContext(ctx, "deprovisioned environment", "service", service, "environment", env,
		"namespace", e.Namespace, "cluster", e.Cluster, "deleted", len(out.Deleted))
	return out, nil
}

// removePipeline deletes the pipeline objects that live outside the
// namespace (Argo CD's Application) and shrinks, or deletes with the
// team's last environment, the team's shared objects.
func (p *Provisioner) removePipeline(ctx context.Context, c *Cluster, e Environment, out *Deprovisioned) error {
	if e.Pipeline == "" {
		return nil
	}
	t := e.Target // pipeline objects do not depend on the profile
	all, err := p.store.List(ctx, Filter{Team: t.Team, Cluster: t.Cluster})
	if err != nil {
		return err
	}
	team := teamTargets(all, t)
	others := team[1:]
	for _, o := range providers[t.Pipeline].objects(&p.settings, t, team) {
		if o.Namespace == t.Namespace {
			continue // goes with the namespace
		}
		shared := o.ObjectRef
		if len(others) > 0 && !isOwnedByTarget(o, t) {
			// Rebuild the team-wide object without this environment.
			for _, rebuilt := range providers[t.Pipeline].objects(&p.settings, others[0], others) {
				if rebuilt.ObjectRef == shared {
					if _, err := c.apply(ctx, rebuilt); err != nil {
						return refusal(c.Name, shared, err)
					}
				}
			}
			out.Kept = append(out.Kept, ObjectStatus{ObjectRef: shared, State: StateApplied, Message: "shared by the team's other environments; updated without this one"})
			continue
		}
		if err := c.delete(ctx, o.ObjectRef); err != nil {
			return err
		}
		out.Deleted = append(out.Deleted, o.ObjectRef)
	}
	return nil
}

// isOwnedByTarget tells an environment's own objects from team-wide ones.
func isOwnedByTarget(o Object, t Target) bool {
	meta, _ := o.body["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	return labels[LabelService] == t.Service && labels[LabelEnvironment] == t.Environment
}

// removeNamespace deletes the namespace only if its labels still say Paved
// created it for this service and environment.
func (p *Provisioner) removeNamespace(ctx context.Context, c *Cluster, e Environment, out *Deprovisioned) error {
	ref := ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: e.Namespace}
	ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, e.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return paved.Errorf(paved.CodeUnavailable, "cluster %s: read namespace %s: %w", c.Name, e.Namespace, err)
	}
	if !ownedBy(ns.Labels, e.Target) {
		out.Kept = append(out.Kept, ObjectStatus{ObjectRef: ref, State: StateInSync,
			Message: "kept: its labels do not say Paved created it for this environment"})
		return nil
	}
	if err := c.delete(ctx, ref); err != nil {
		return err
	}
	out.Deleted = append(out.Deleted, ref)
	return nil
}

// delete removes one object; one already gone is fine.
func (c *Cluster) delete(ctx context.Context, ref ObjectRef) error {
	ri, err := c.resource(ref)
	if err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		return refusal(c.Name, ref, err)
	}
	return nil
}
