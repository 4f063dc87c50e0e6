package scaffolder

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	textmessage "golang.org/x/text/message"

	"github.com/paved-dev/paved"
)

// Template is a Backstage software template (apiVersion
// scaffolder.backstage.io/v1beta3, kind Template) as the task runner uses
// it. The catalog keeps and validates the entity; ParseTemplate reads what
// the scaffolder needs from it.
type Template struct {
	// Ref is the entity's reference, template:default/name.
	Ref string
	// Pages are spec.parameters: one JSON Schema object per form page,
	// ui:* hints kept for forms.
	Pages []map[string]any
	Steps []Step
	// Output is spec.output: links, text and other values, evaluated
	// after the steps.
	Output map[string]any
	// Entity is the Template entity it was read from.
	Entity map[string]any
}

// Step is one entry of spec.steps.
type Step struct {
	ID, Name, Action string
	Input            map[string]any
	// If is the step's condition: a boolean or an expression; nil runs
	// the step.
	If any
	// Each repeats the step for every element of a list (or entry of an
	// object) it evaluates to; nil runs it once.
	Each any
}

// ParseTemplate reads a Template entity. Its errors are CodeInvalid and
// name the field (spec.steps[2].action).
func ParseTemplate(entity map[string]any) (*Template, error) {
	var d paved.Details
	meta, _ := entity["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if ns == "" {
		ns = "default"
	}
	if kind, _ := entity["kind"].(string); !strings.EqualFold(kind, "Template") {
		d.Add("kind", "is %q; want Template", kind)
	}
	if api, _ := entity["apiVersion"].(string); api != "scaffolder.backstage.io/v1beta3" {
		d.Add("apiVersion", "is %q; want scaffolder.backstage.io/v1beta3", api)
	}
	spec, _ := entity["spec"].(map[string]any)
	t := &Template{Ref: "template:" + ns + "/" + name, Entity: entity}
	t.Pages = pagesOf(spec["parameters"], &d)
	t.Steps = stepsOf(spec["steps"], &d)
	if out, ok := spec["output"].(map[string]any); ok {
		t.Output = out
	} else if spec["output"] != nil {
		d.Add("spec.output", "must be an object")
	}
	if err := d.Err("invalid template " + t.Ref); err != nil {
		return nil, err
	}
	return t, nil
}

// pagesOf reads spec.parameters: one schema object or an array of them.
func pagesOf(v any, d *paved.Details) []map[string]any {
	switch t := v.(type) {
	case nil:
		return nil
	case map[string]any:
		return []map[string]any{t}
	case []any:
		pages := make([]map[string]any, 0, len(t))
		for i, p := range t {
			page, ok := p.(map[string]any)
			if !ok {
				d.Add(fmt.Sprintf("spec.parameters[%d]", i), "must be an object (a JSON Schema)")
				continue
			}
			pages = append(pages, page)
		}
		return pages
	}
	d.Add("spec.parameters", "must be an object or an array of objects")
	return nil
}

func stepsOf(v any, d *paved.Details) []Step {
	list, ok := v.([]any)
	if !ok {
		if v != nil {
			d.Add("spec.steps", "must be an array")
		}
		return nil
	}
	steps := make([]Step, 0, len(list))
	seen := map[string]bool{}
	for i, item := range list {
		field := fmt.Sprintf("spec.steps[%d]", i)
		m, ok := item.(map[string]any)
		if !ok {
			d.Add(field, "must be an object")
			continue
		}
		s := Step{If: m["if"], Each: m["each"]}
		s.ID, _ = m["id"].(string)
		s.Name, _ = m["name"].(string)
		s.Action, _ = m["action"].(string)
		if s.Action == "" {
			d.Add(field+".action", "is required")
		}
		if s.ID == "" {
			s.ID = "step-" + strconv.Itoa(i) // Backstage's runner names them by position too
		} else if seen[s.ID] {
			d.Add(field+".id", "%q is used by an earlier step", s.ID)
		}
		seen[s.ID] = true
		if in, ok := m["input"].(map[string]any); ok {
			s.Input = in
		} else if m["input"] != nil {
			d.Add(field+".input", "must be an object")
		}
		steps = append(steps, s)
	}
	return steps
}

var printer = textmessage.NewPrinter(language.English)

// WithDefaults returns values with the default of every top-level
// property of every page the values leave out, as Backstage's form fills
// them in before it sends a task; a task created through the API gets the
// same values as one created through the form.
func (t *Template) WithDefaults(values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		out[k] = v
	}
	for _, page := range t.Pages {
		props, _ := page["properties"].(map[string]any)
		for name, p := range props {
			prop, _ := p.(map[string]any)
			if def, ok := prop["default"]; ok {
				if _, given := out[name]; !given {
					out[name] = def
				}
			}
		}
	}
	return out
}

// CheckValues validates values against every page of the template's
// parameters and reports every error of every page at once (Backstage's
// form stops at the first page), each as a JSON pointer into the values
// and a reason. ui:* keys are hints for forms and ignored here.
func (t *Template) CheckValues(values map[string]any) error {
	var d paved.Details
	doc, err := jsonValue(values)
	if err != nil {
		return err
	}
	for i, page := range t.Pages {
		sch, err := compilePage(page)
		if err != nil {
			d.Add(fmt.Sprintf("spec.parameters[%d]", i), "is not a valid JSON Schema: %v", err)
			continue
		}
		ve, ok := sch.Validate(doc).(*jsonschema.ValidationError)
		if !ok {
			continue
		}
		for _, leaf := range leaves(ve) {
			pointer := "/" + strings.Join(leaf.InstanceLocation, "/")
			d.Add(pointer, "%s", leaf.ErrorKind.LocalizedString(printer))
		}
	}
	return d.Err("the values do not match the template's parameters")
}

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// compilePage compiles one page's schema (draft 7, as Backstage's forms
// use, unless it says otherwise).
func compilePage(page map[string]any) (*jsonschema.Schema, error) {
	doc, err := jsonValue(page)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	if err := c.AddResource("page.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("page.json")
}

// jsonValue is v as the JSON Schema library reads JSON: numbers as
// json.Number.
func jsonValue(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
}

// CheckEntity judges a Template entity as the catalog registers it: it
// must parse, and every step must name an action of the registry. It
// returns the problems, each naming its field (spec.steps[1].action);
// entities of other kinds have none.
func CheckEntity(entity map[string]any, actions *Registry) []paved.Detail {
	if kind, _ := entity["kind"].(string); !strings.EqualFold(kind, "Template") {
		return nil
	}
	if api, _ := entity["apiVersion"].(string); api != "scaffolder.backstage.io/v1beta3" {
		return nil // an older template format, for Backstage's own scaffolder
	}
	tpl, err := ParseTemplate(entity)
	if err != nil {
		var pe *paved.Error
		if errors.As(err, &pe) && len(pe.Details) > 0 {
			return pe.Details
		}
		return []paved.Detail{{Reason: err.Error()}}
	}
	var out []paved.Detail
	for i, st := range tpl.Steps {
		if _, err := actions.Action(st.Action); err != nil {
			out = append(out, paved.Detail{Field: fmt.Sprintf("spec.steps[%d].action", i), Reason: paved.ErrorMessage(err)})
		}
	}
	return out
}
