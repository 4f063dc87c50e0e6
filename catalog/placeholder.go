package catalog

import (
	"context"
	"fmt"
	"strings"
)

// Placeholder kinds, as Backstage's PlaceholderProcessor resolves them: an
// object with exactly one key, "$text", "$json" or "$yaml", whose value is a
// path or URL relative to the descriptor.
const (
	PlaceholderText = "$text"
	PlaceholderJSON = "$json"
	PlaceholderYAML = "$yaml"
)

// Placeholder is one substitution found in a document.
type Placeholder struct {
	Pointer string
	Kind    string
	Target  string
}

// placeholderOf reports whether v is a placeholder object.
func placeholderOf(v any) (kind, target string, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", "", false
	}
	for k, t := range m {
		target, isString := t.(string)
		switch k {
		case PlaceholderText, PlaceholderJSON, PlaceholderYAML:
			return k, target, isString
		}
	}
	return "", "", false
}

// Resolver fetches the content a placeholder names; ingestion reads files
// and git, validation only pretends.
type Resolver interface {
	Resolve(ctx context.Context, p Placeholder) (any, error)
}

// ResolvePlaceholders replaces every placeholder in v with what r returns.
// Errors name the placeholder's pointer.
func ResolvePlaceholders(ctx context.Context, v any, r Resolver) (any, error) {
	return resolveAt(ctx, v, "", r)
}

func resolveAt(ctx context.Context, v any, ptr string, r Resolver) (any, error) {
	if kind, target, ok := placeholderOf(v); ok {
		out, err := r.Resolve(ctx, Placeholder{Pointer: ptr, Kind: kind, Target: target})
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", ptr, kind, target, err)
		}
		return out, nil
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			rc, err := resolveAt(ctx, c, ptr+"/"+escapePointer(k), r)
			if err != nil {
				return nil, err
			}
			out[k] = rc
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			rc, err := resolveAt(ctx, c, fmt.Sprintf("%s/%d", ptr, i), r)
			if err != nil {
				return nil, err
			}
			out[i] = rc
		}
		return out, nil
	}
	return v, nil
}

// assumedResolver stands in for content that is not fetched when only
// validating: $text becomes a non-empty string, $json and $yaml an empty
// value of the shape the schema wants there (see ValidateAssumingPlaceholders).
type assumedResolver struct{ arrays map[string]bool }

func (a assumedResolver) Resolve(_ context.Context, p Placeholder) (any, error) {
	switch {
	case p.Kind == PlaceholderText:
		return "(content of " + p.Target + ")", nil
	case a.arrays[p.Pointer]:
		return []any{}, nil
	}
	return map[string]any{}, nil
}

// ValidateAssumingPlaceholders validates v as if its placeholders had been
// resolved to content of the right shape: "$text" to a string, "$json" and
// "$yaml" to an empty object, or an empty array where the schema rejects an
// object. This is how `paved catalog validate` judges a descriptor without
// fetching what it refers to.
func ValidateAssumingPlaceholders(v any) []FieldError {
	r := assumedResolver{arrays: map[string]bool{}}
	for {
		resolved, _ := ResolvePlaceholders(context.Background(), v, r) // assumedResolver never fails
		errs := Validate(resolved)
		retry := false
		for _, e := range errs {
			if isPlaceholderAt(v, e.Pointer) && !r.arrays[e.Pointer] && strings.Contains(e.Reason, "want array") {
				r.arrays[e.Pointer], retry = true, true
			}
		}
		if !retry {
			return errs
		}
	}
}

// isPlaceholderAt reports whether the value at pointer in v is a placeholder.
func isPlaceholderAt(v any, pointer string) bool {
	_, _, ok := placeholderOf(lookupPointer(v, pointer))
	return ok
}
