package scaffolder

// ActionSchema is what GET /v2/actions shows of an action: JSON Schemas
// of its input and output, as Backstage's actions list them.
type ActionSchema struct {
	Input  map[string]any `json:"input"`
	Output map[string]any `json:"output,omitempty"`
}

// Described is an Action that describes its input and output.
type Described interface {
	Schema() ActionSchema
}

// Object is the JSON Schema of an object with the properties, the
// required ones named.
func Object(required []string, props map[string]any) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// Prop is the JSON Schema of a property: a type (or types, "string|boolean")
// and what it means.
func Prop(typ, description string) map[string]any {
	s := map[string]any{"description": description}
	switch typ {
	case "":
	case "string|boolean":
		s["type"] = []any{"string", "boolean"}
	case "string|array":
		s["type"] = []any{"string", "array"}
	default:
		s["type"] = typ
	}
	return s
}
