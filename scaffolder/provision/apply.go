package provision

import (
	"context"
	"errors"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/paved-dev/paved"
)

// Object states reported by the API.
const (
	StateApplied   = "applied"   // created or changed by this apply
	StateUnchanged = "unchanged" // applied; the server had it already
	StateInSync    = "in-sync"   // live object matches the desired state
	StateDrifted   = "drifted"   // live object differs; Fields says where
	StateMissing   = "missing"   // not in the cluster
	StateFailed    = "failed"    // the server refused it; Message says why
	StatePending   = "pending"   // not attempted: an earlier object failed
)

// ObjectStatus is what is known of one object.
type ObjectStatus struct {
	ObjectRef
	State           string       `json:"state"`
	ResourceVersion string       `json:"resourceVersion,omitempty"`
	Message         string       `json:"message,omitempty"`
	Fields          []FieldDrift `json:"fields,omitempty"`
	changedBy       []string
}

// applyConcurrency bounds the requests one environment sends at once.
const applyConcurrency = 8

// apply sends o with server-side apply, taking over fields others changed
// (Force): the desired state wins, which is the point of provisioning.
func (c *Cluster) apply(ctx context.Context, o Object) (string, error) {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if o.typed != nil {
		obj, err := o.typed(ctx, c.Typed, opts)
		if err != nil {
			return "", err
		}
		return obj.GetResourceVersion(), nil
	}
	ri, err := c.resource(o.ObjectRef)
	if err != nil {
		return "", err
	}
	u, err := ri.Apply(ctx, o.Name, o.unstructured(), opts)
	if err != nil {
		return "", err
	}
	return u.GetResourceVersion(), nil
}

// resource is the dynamic client of ref's kind, in ref's namespace.
func (c *Cluster) resource(ref ObjectRef) (dynamic.ResourceInterface, error) {
	m, err := c.mapping(ref.GVK())
	if err != nil {
		return nil, paved.Errorf(paved.CodeUnprocessable, "cluster %s does not serve %s %s: %w", c.Name, ref.APIVersion, ref.Kind, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(m.Resource).Namespace(ref.Namespace), nil
	}
	return c.Dynamic.Resource(m.Resource), nil
}

// get reads the live object, or nil when it does not exist.
func (c *Cluster) get(ctx context.Context, ref ObjectRef) (*unstructured.Unstructured, error) {
	ri, err := c.resource(ref)
	if err != nil {
		return nil, err
	}
	u, err := ri.Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}

// applyAll applies objs, the first (the namespace) before the others,
// which go concurrently. previous holds resourceVersions of earlier applies,
// to tell changed objects from unchanged ones. It stops at the first
// refusal and reports every object's state; the error says which object
// the server refused and why.
func (c *Cluster) applyAll(ctx context.Context, objs []Object, previous map[versionKey]bool) ([]ObjectStatus, error) {
	out := make([]ObjectStatus, len(objs))
	for i, o := range objs {
		out[i] = ObjectStatus{ObjectRef: o.ObjectRef, State: StatePending}
	}
	if len(objs) == 0 {
		return out, nil
	}
	applyOne := func(ctx context.Context, i int) error {
		rv, err := c.apply(ctx, objs[i])
		if err != nil {
			out[i].State, out[i].Message = StateFailed, err.Error()
			return refusal(c.Name, objs[i].ObjectRef, err)
		}
		out[i].ResourceVersion, out[i].State = rv, StateApplied
		if previous[versionKey{objs[i].ObjectRef, rv}] {
			out[i].State = StateUnchanged
		}
		return nil
	}
	if err := applyOne(ctx, 0); err != nil {
		return out, err
	}
	return out, forEach(ctx, len(objs)-1, applyConcurrency, func(ctx context.Context, i int) error { return applyOne(ctx, i+1) })
}

// forEach runs fn for 0..n-1 on up to workers goroutines. The first error
// cancels the rest (not yet started calls are skipped) and is returned.
func forEach(ctx context.Context, n, workers int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// refusal classifies an API error: the server saying no to this object
// (invalid, forbidden by RBAC, quota or admission) is the caller's to fix;
// anything else means the cluster could not be reached or failed.
func refusal(cluster string, ref ObjectRef, err error) error {
	var pe *paved.Error
	if errors.As(err, &pe) {
		return err
	}
	if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) ||
		apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) || apierrors.IsRequestEntityTooLargeError(err) {
		return paved.Errorf(paved.CodeUnprocessable, "cluster %s refused %s: %s", cluster, ref, string(apierrors.ReasonForError(err))+": "+errorMessage(err))
	}
	return paved.Errorf(paved.CodeUnavailable, "cluster %s: apply %s: %w", cluster, ref, err)
}

func errorMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}
