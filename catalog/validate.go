package catalog

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/paved-dev/paved/catalog/schema"
)

// FieldError is one thing wrong with an entity, at a JSON pointer into it.
type FieldError struct {
	Pointer string `json:"field"`
	Reason  string `json:"reason"`
}

func (e FieldError) String() string {
	if e.Pointer == "" {
		return "(root): " + e.Reason
	}
	return e.Pointer + ": " + e.Reason
}

// schemaBase makes Backstage's relative schema ids ("Entity",
// "ComponentV1alpha1") absolute, as the validator needs URLs.
const schemaBase = "https://backstage.io/schema/"

// kindSchema is the validator for one kind at some apiVersions.
type kindSchema struct {
	kind        string
	apiVersions []string
	schema      *jsonschema.Schema
}

type schemas struct {
	envelope *jsonschema.Schema
	kinds    []kindSchema
}

var loadSchemas = sync.OnceValues(compileSchemas)

// compileSchemas compiles the embedded Backstage schemas once.
func compileSchemas() (*schemas, error) {
	c := jsonschema.NewCompiler()
	files, err := fs.Glob(schema.Files, "*.schema.json")
	if err != nil {
		return nil, err
	}
	var kindIDs []string
	for _, name := range files {
		data, err := fs.ReadFile(schema.Files, name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(schemaBase+id, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		if strings.Count(name, ".") == 3 { // Kind.version.schema.json
			kindIDs = append(kindIDs, id)
		}
	}
	s := &schemas{}
	if s.envelope, err = c.Compile(schemaBase + "Entity"); err != nil {
		return nil, err
	}
	for _, id := range kindIDs {
		sch, err := c.Compile(schemaBase + id)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", id, err)
		}
		ks := kindSchema{schema: sch}
		ks.kind, ks.apiVersions = kindEnums(sch)
		s.kinds = append(s.kinds, ks)
	}
	return s, nil
}

// kindEnums reads the kind and apiVersion enums a kind schema accepts
// (declared in the second branch of its allOf, after the Entity ref).
func kindEnums(sch *jsonschema.Schema) (kind string, apiVersions []string) {
	for _, part := range sch.AllOf {
		if k := part.Properties["kind"]; k != nil && k.Enum != nil && len(k.Enum.Values) > 0 {
			kind, _ = k.Enum.Values[0].(string)
		}
		if a := part.Properties["apiVersion"]; a != nil && a.Enum != nil {
			for _, v := range a.Enum.Values {
				s, _ := v.(string)
				apiVersions = append(apiVersions, s)
			}
		}
	}
	return kind, apiVersions
}

// Kinds lists the kinds Paved accepts with their apiVersions.
func Kinds() map[string][]string {
	s, err := loadSchemas()
	if err != nil {
		panic(err) // the embedded schemas are part of the binary; a test compiles them
	}
	out := map[string][]string{}
	for _, k := range s.kinds {
		out[k.kind] = append(out[k.kind], k.apiVersions...)
	}
	return out
}

var printer = message.NewPrinter(language.English)

// Validate checks a decoded descriptor as Backstage's catalog does: no
// foreign root fields, the entity envelope schema, the field formats of
// names, namespaces, labels, annotations, tags and links, and the schema of
// its kind. It returns every problem found, sorted by pointer; none means
// valid.
func Validate(v any) []FieldError {
	s, err := loadSchemas()
	if err != nil {
		return []FieldError{{Reason: "schemas failed to load: " + err.Error()}}
	}
	root, ok := v.(map[string]any)
	if !ok {
		return []FieldError{{Reason: fmt.Sprintf("an entity must be an object, not %s", typeName(v))}}
	}
	var errs []FieldError
	for _, k := range slices.Sorted(maps.Keys(root)) {
		if !slices.Contains(rootFields, k) {
			errs = append(errs, FieldError{"/" + escapePointer(k), "unknown root field; allowed: apiVersion, kind, metadata, spec"})
		}
	}
	envelopeErrs := schemaErrors(s.envelope, v)
	errs = append(errs, envelopeErrs...)
	errs = append(errs, fieldFormatErrors(root)...)
	if len(envelopeErrs) == 0 {
		errs = append(errs, kindErrors(s, root)...)
	}
	return dedupe(errs)
}

var rootFields = []string{"apiVersion", "kind", "metadata", "spec"}

// kindErrors validates against the schema of the entity's kind.
func kindErrors(s *schemas, root map[string]any) []FieldError {
	kind, _ := root["kind"].(string)
	apiVersion, _ := root["apiVersion"].(string)
	known := false
	for _, ks := range s.kinds {
		if ks.kind != kind {
			continue
		}
		known = true
		if slices.Contains(ks.apiVersions, apiVersion) {
			return schemaErrors(ks.schema, root)
		}
	}
	if known {
		return []FieldError{{"/apiVersion", fmt.Sprintf("kind %s does not exist in apiVersion %q; supported: %s", kind, apiVersion, strings.Join(Kinds()[kind], ", "))}}
	}
	return []FieldError{{"/kind", fmt.Sprintf("unknown kind %q; supported: %s", kind, strings.Join(slices.Sorted(maps.Keys(Kinds())), ", "))}}
}

// schemaErrors validates v and flattens the error tree to its leaves.
func schemaErrors(sch *jsonschema.Schema, v any) []FieldError {
	err := sch.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []FieldError{{Reason: err.Error()}}
	}
	var out []FieldError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, FieldError{pointer(e.InstanceLocation), e.ErrorKind.LocalizedString(printer)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

func pointer(loc []string) string {
	var b strings.Builder
	for _, p := range loc {
		b.WriteString("/" + escapePointer(p))
	}
	return b.String()
}

func dedupe(errs []FieldError) []FieldError {
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Pointer, b.Pointer) })
	return slices.Compact(errs)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	}
	if _, err := json.Marshal(v); err == nil {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
