package policies

import (
	"context"
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// ObjectLister lists the live objects audits and previews check.
type ObjectLister interface {
	ListObjects(ctx context.Context) ([]map[string]any, error)
}

// auditedResources are the resources of AdmissionKinds.
var auditedResources = []schema.GroupVersionResource{
	{Version: "v1", Resource: "pods"},
	{Version: "v1", Resource: "services"},
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "apps", Version: "v1", Resource: "daemonsets"},
	{Group: "apps", Version: "v1", Resource: "replicasets"},
	{Group: "batch", Version: "v1", Resource: "jobs"},
	{Group: "batch", Version: "v1", Resource: "cronjobs"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
}

// ExemptLabel exempts a namespace from admission policies and audits when
// set to "true".
const ExemptLabel = "paved.dev/policy-exempt"

// ClusterObjects lists the audited kinds from a cluster.
type ClusterObjects struct {
	client dynamic.Interface
	// Exempt namespaces are left out.
	Exempt map[string]bool
}

// NewClusterObjects returns a lister for the cluster cfg reaches.
func NewClusterObjects(cfg *rest.Config, exempt map[string]bool) (*ClusterObjects, error) {
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &ClusterObjects{client: c, Exempt: exempt}, nil
}

// ListObjects returns every object of the audited kinds in every namespace
// that is not exempt by configuration or by label. Objects a controller owns (a Deployment's
// ReplicaSets and Pods) are left out: their owner is checked instead, and
// reporting them too would repeat each violation down the chain.
func (l *ClusterObjects) ListObjects(ctx context.Context) ([]map[string]any, error) {
	exempt, err := l.exemptNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, gvr := range auditedResources {
		opts := metav1.ListOptions{Limit: 500}
		for {
			list, err := l.client.Resource(gvr).List(ctx, opts)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", gvr.String(), err)
			}
			for i := range list.Items {
				obj := &list.Items[i]
				if exempt[obj.GetNamespace()] || metav1.GetControllerOf(obj) != nil {
					continue
				}
				out = append(out, obj.Object)
			}
			if opts.Continue = list.GetContinue(); opts.Continue == "" {
				break
			}
		}
	}
	return out, nil
}

// ObjectInput is the admission input for a live object: a CREATE review
// of it, as if it were submitted now.
func ObjectInput(obj map[string]any) map[string]any {
	u := unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	return map[string]any{"request": map[string]any{
		"uid":       "audit",
		"kind":      map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind},
		"operation": "CREATE",
		"namespace": u.GetNamespace(),
		"name":      u.GetName(),
		"object":    obj,
	}}
}

// exemptNamespaces are the configured ones and those labelled exempt.
func (l *ClusterObjects) exemptNamespaces(ctx context.Context) (map[string]bool, error) {
	out := maps.Clone(l.Exempt)
	if out == nil {
		out = map[string]bool{}
	}
	nss := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	list, err := l.client.Resource(nss).List(ctx, metav1.ListOptions{LabelSelector: ExemptLabel + "=true"})
	if err != nil {
		return nil, fmt.Errorf("list exempt namespaces: %w", err)
	}
	for _, ns := range list.Items {
		out[ns.GetName()] = true
	}
	return out, nil
}
