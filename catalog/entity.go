// Package catalog is Paved's service catalog: Backstage-compatible entity
// descriptors (parsing, validation, references, relations), the store that
// keeps them, the query language over them, and ingestion from locations.
package catalog

import "strings"

// Relation is a directed edge from the entity that carries it.
type Relation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
	// Target is the parsed TargetRef, which Backstage still serves for
	// older clients.
	Target RelationTarget `json:"target"`
}

// RelationTarget is the deprecated object form of a relation's target.
type RelationTarget struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Status carries what processing found wrong with an entity.
type Status struct {
	Items []StatusItem `json:"items"`
}

// StatusItem is one processing problem.
type StatusItem struct {
	Type    string          `json:"type"`
	Level   string          `json:"level"`
	Message string          `json:"message"`
	Error   *StatusItemText `json:"error,omitempty"`
}

// StatusItemText is the error detail of a status item.
type StatusItemText struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// Raw is a validated descriptor: the decoded document with the default
// namespace filled in. It keeps every field as written, including metadata
// fields Paved does not model, and is what the store keeps and serves.
type Raw map[string]any

// NewRaw validates a decoded document and fills in the default namespace.
// It returns the validation errors if any.
func NewRaw(v any) (Raw, []FieldError) {
	if errs := Validate(v); len(errs) > 0 {
		return nil, errs
	}
	raw := Raw(deepCopy(v).(map[string]any))
	meta := raw["metadata"].(map[string]any) // Validate guarantees the envelope
	if _, ok := meta["namespace"]; !ok {
		meta["namespace"] = DefaultNamespace
	}
	return raw, nil
}

// Ref returns the descriptor's reference.
func (r Raw) Ref() Ref {
	meta, _ := r["metadata"].(map[string]any)
	kind, _ := r["kind"].(string)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	return Ref{Kind: kind, Namespace: ns, Name: name}
}

// Spec returns the spec object, or nil.
func (r Raw) Spec() map[string]any {
	s, _ := r["spec"].(map[string]any)
	return s
}

// Metadata returns the metadata object.
func (r Raw) Metadata() map[string]any {
	m, _ := r["metadata"].(map[string]any)
	return m
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			out[k] = deepCopy(c)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = deepCopy(c)
		}
		return out
	}
	return v
}

// kindKey is how kinds compare: case-insensitively.
func kindKey(kind string) string { return strings.ToLower(kind) }
