package scaffolder_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
)

const twoPages = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: go-service}
spec:
  owner: team-platform
  type: service
  parameters:
    - title: Service
      required: [name, owner]
      properties:
        name: {type: string, pattern: '^[a-z][a-z0-9-]*$', ui:autofocus: true}
        owner: {type: string, ui:field: OwnerPicker}
    - title: Runtime
      required: [timeout]
      properties:
        timeout: {type: integer, minimum: 1, maximum: 30}
  steps:
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {name: '${{ parameters.name }}'}}
    - id: log
      action: debug:log
      if: '${{ parameters.timeout > 10 }}'
  output:
    links: [{title: Repository, url: '${{ steps.fetch.output.remoteUrl }}'}]
`

func parse(t *testing.T, doc string) *scaffolder.Template {
	t.Helper()
	var entity map[string]any
	if err := yaml.Unmarshal([]byte(doc), &entity); err != nil {
		t.Fatal(err)
	}
	tpl, err := scaffolder.ParseTemplate(entity)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestParseTemplate(t *testing.T) {
	tpl := parse(t, twoPages)
	if tpl.Ref != "template:default/go-service" || len(tpl.Pages) != 2 || len(tpl.Steps) != 2 {
		t.Fatalf("parsed %+v", tpl)
	}
	if s := tpl.Steps[1]; s.ID != "log" || s.Action != "debug:log" || s.If != "${{ parameters.timeout > 10 }}" {
		t.Fatalf("step 1 = %+v", s)
	}
}

func TestParseTemplateErrorsNameTheField(t *testing.T) {
	var entity map[string]any
	_ = yaml.Unmarshal([]byte(`apiVersion: scaffolder.backstage.io/v1beta2
kind: Template
metadata: {name: t}
spec:
  parameters: [{}, 3]
  steps: [{id: a, action: x}, {id: a}, {action: log, input: nope}]
`), &entity)
	_, err := scaffolder.ParseTemplate(entity)
	var pe *paved.Error
	if !errors.As(err, &pe) || pe.Code != paved.CodeInvalid {
		t.Fatalf("err = %v, want an invalid error", err)
	}
	var fields []string
	for _, d := range pe.Details {
		fields = append(fields, d.Field)
	}
	want := []string{"apiVersion", "spec.parameters[1]", "spec.steps[1].action", "spec.steps[1].id", "spec.steps[2].input"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields = %v, want %v", fields, want)
	}
}

// Every page's errors come at once, each a JSON pointer into the values.
func TestCheckValuesReportsEveryPage(t *testing.T) {
	tpl := parse(t, twoPages)
	if err := tpl.CheckValues(map[string]any{"name": "svc", "owner": "team-a", "timeout": 5}); err != nil {
		t.Fatalf("valid values: %v", err)
	}
	err := tpl.CheckValues(map[string]any{"name": "Bad Name", "timeout": 60})
	var pe *paved.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	var fields []string
	for _, d := range pe.Details {
		fields = append(fields, d.Field)
	}
	slices.Sort(fields)
	if want := []string{"/", "/name", "/timeout"}; !slices.Equal(fields, want) {
		t.Fatalf("fields = %v (%v), want %v: the missing owner, the pattern, the maximum", fields, pe.Details, want)
	}
}

func TestWithDefaults(t *testing.T) {
	tpl := parse(t, `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: d}
spec:
  parameters:
    - properties: {name: {type: string}, port: {type: integer, default: 8080}}
    - properties: {mesh: {type: string, default: none}, envs: {type: array, default: [dev]}}
  steps: []
`)
	got := tpl.WithDefaults(map[string]any{"name": "svc", "mesh": "istio"})
	want := map[string]any{"name": "svc", "mesh": "istio", "port": int64(8080), "envs": []any{"dev"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("WithDefaults = %v, want %v", got, want)
	}
}
