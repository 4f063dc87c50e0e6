package policies

import (
	_ "embed"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	textmessage "golang.org/x/text/message"

	"github.com/paved-dev/paved"
)

//go:embed service-input.schema.json
var serviceInputSchema string

var printer = textmessage.NewPrinter(language.English)

var serviceSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(serviceInputSchema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("service-input.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("service-input.schema.json")
})

// CheckInput refuses an input the target's policies cannot judge. A
// service request must match service-input.schema.json (a `service`
// object with a `name`; known fields of the right types; nothing else at
// the top), so a malformed request is a 400 naming the field instead of
// an allow by policies that found nothing to look at. Admission input is
// checked when the review is parsed.
func CheckInput(target Target, input any) error {
	if target != Service {
		return nil
	}
	sch, err := serviceSchema()
	if err != nil {
		return err // the embedded schema is part of the binary; a test compiles it
	}
	err = sch.Validate(input)
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err
	}
	var d paved.Details
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			field := "input"
			for _, p := range e.InstanceLocation {
				field += "." + p
			}
			d.Add(field, "%s", e.ErrorKind.LocalizedString(printer))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return d.Err("the input is not a service request (see policies/service-input.schema.json)")
}
