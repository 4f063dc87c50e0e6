package provision

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// FieldManager owns every field Paved applies.
const FieldManager = "paved"

// Labels Paved puts on everything it provisions.
const (
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	LabelTeam        = "paved.dev/team"
	LabelService     = "paved.dev/service"
	LabelEnvironment = "paved.dev/environment"
	managedByPaved   = "paved"
)

// ObjectRef names one object in API responses and drift records.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// GVK is the object's group, version and kind.
func (r ObjectRef) GVK() schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(r.APIVersion, r.Kind)
}

// Object is one object Paved applies with server-side apply.
type Object struct {
	ObjectRef
	// body is the desired state as JSON data: what is sent, and what live
	// objects are compared with to find drift.
	body map[string]any
	// typed applies the object through client-go's typed clients and apply
	// configurations; nil for custom resources, which go through the
	// dynamic client.
	typed func(ctx context.Context, cs kubernetes.Interface, opts metav1.ApplyOptions) (metav1.Object, error)
}

// applyFunc is the Apply method of one typed client, such as
// cs.CoreV1().Namespaces().Apply.
type applyFunc[AC any, R metav1.Object] func(ctx context.Context, ac AC, opts metav1.ApplyOptions) (R, error)

// typedObject wraps an apply configuration and the typed client method that
// applies it. client picks that method from a clientset at apply time.
func typedObject[AC any, R metav1.Object](ac AC, client func(kubernetes.Interface) applyFunc[AC, R]) Object {
	body := mustJSONMap(ac)
	o := Object{ObjectRef: refOf(body), body: body}
	o.typed = func(ctx context.Context, cs kubernetes.Interface, opts metav1.ApplyOptions) (metav1.Object, error) {
		return client(cs)(ctx, ac, opts)
	}
	return o
}

// customObject is a custom resource applied through the dynamic client.
func customObject(apiVersion, kind, namespace, name string, labels map[string]string, fields map[string]any) Object {
	body := map[string]any{"apiVersion": apiVersion, "kind": kind}
	meta := map[string]any{"name": name, "labels": toAnyMap(labels)}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	body["metadata"] = meta
	for k, v := range fields {
		body[k] = v
	}
	body = mustJSONMap(body) // normalise numbers and nested types as a live object has them
	return Object{ObjectRef: refOf(body), body: body}
}

// unstructured is a copy of the desired state for the dynamic client,
// which may change what it is given.
func (o Object) unstructured() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: mustJSONMap(o.body)}
}

func refOf(body map[string]any) ObjectRef {
	meta, _ := body["metadata"].(map[string]any)
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	return ObjectRef{APIVersion: str(body, "apiVersion"), Kind: str(body, "kind"), Namespace: str(meta, "namespace"), Name: str(meta, "name")}
}

// mustJSONMap turns an apply configuration into JSON data. Apply
// configurations always marshal; a failure is a bug.
func mustJSONMap(v any) map[string]any {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("provision: encode %T: %v", v, err))
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		panic(fmt.Sprintf("provision: decode %T: %v", v, err))
	}
	return m
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// targetLabels mark an object as Paved's and say whose it is.
func targetLabels(t Target) map[string]string {
	return map[string]string{LabelManagedBy: managedByPaved, LabelTeam: t.Team, LabelService: t.Service, LabelEnvironment: t.Environment}
}
