package provision

import (
	"fmt"
	"reflect"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FieldDrift is one field whose live value is not the one Paved applied.
type FieldDrift struct {
	Path    string `json:"path"`
	Live    any    `json:"live"`
	Desired any    `json:"desired"`
}

// diff compares the fields Paved sets with the live object. Only fields in
// desired count: the API server adds defaults, status and metadata, and
// other managers may add fields of their own. Lists are compared item by
// item, since every list Paved sets is one it owns entirely.
func diff(desired map[string]any, live *unstructured.Unstructured) []FieldDrift {
	var out []FieldDrift
	diffValue("", desired, live.Object, &out)
	return out
}

func diffValue(path string, desired, live any, out *[]FieldDrift) {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			if len(d) == 0 && live == nil {
				return // an empty object the server dropped
			}
			*out = append(*out, FieldDrift{Path: path, Live: live, Desired: desired})
			return
		}
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			diffValue(join(path, k), d[k], l[k], out)
		}
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(d) {
			*out = append(*out, FieldDrift{Path: path, Live: live, Desired: desired})
			return
		}
		for i := range d {
			diffValue(fmt.Sprintf("%s[%d]", path, i), d[i], l[i], out)
		}
	default:
		if !scalarEqual(desired, live) {
			*out = append(*out, FieldDrift{Path: path, Live: live, Desired: desired})
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// scalarEqual compares JSON scalars; numbers may be float64 (decoded by
// encoding/json) on one side and int64 (decoded by client-go) on the other.
func scalarEqual(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	}
	return 0, false
}

// changedBy names the other field managers that wrote the object, not
// counting status updates by controllers: who to ask about a drift.
func changedBy(live *unstructured.Unstructured) []string {
	var out []string
	for _, mf := range live.GetManagedFields() {
		if mf.Manager == FieldManager || mf.Subresource != "" || mf.Operation != metav1.ManagedFieldsOperationUpdate {
			continue
		}
		if !slices.Contains(out, mf.Manager) {
			out = append(out, mf.Manager)
		}
	}
	return out
}
