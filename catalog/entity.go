// Package catalog is Paved's service catalog: Backstage-compatible entity
// descriptors (parsing, validation, references, relations), the store that
// keeps them, the query language over them, and ingestion from locations.
package catalog

import (
	"slices"
	"strings"
	"unicode/utf16"
)

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

// sortedSpecLists are the spec fields Backstage 4.0 stores sorted, on any
// kind (seen on its catalog: a Domain's dependsOn too); other lists, tags
// and duplicates are kept as written.
var sortedSpecLists = []string{"providesApis", "consumesApis", "dependsOn", "dependencyOf", "memberOf", "children", "members"}

// sortRelationLists sorts those fields that are lists of strings in
// JavaScript's default order (UTF-16 code units), as Backstage's
// processing does before it stores an entity. Ingestion sorts after
// validation, so errors point at the lines as written.
func sortRelationLists(spec map[string]any) {
	for _, field := range sortedSpecLists {
		list, ok := spec[field].([]any)
		if !ok {
			continue
		}
		keys := make([][]uint16, len(list))
		for i, v := range list {
			s, ok := v.(string)
			if !ok {
				keys = nil
				break
			}
			keys[i] = utf16.Encode([]rune(s))
		}
		if keys == nil {
			continue
		}
		idx := make([]int, len(list))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return slices.Compare(keys[a], keys[b]) })
		sorted := make([]any, len(list))
		for i, j := range idx {
			sorted[i] = list[j]
		}
		spec[field] = sorted
	}
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
