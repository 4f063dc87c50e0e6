package scaffolder_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
)

// echo is an action that returns its input.
type echo struct{ id string }

func (e echo) ID() string          { return e.id }
func (e echo) Description() string { return "returns its input" }
func (e echo) Run(_ context.Context, call *scaffolder.Call) (map[string]any, error) {
	return call.Input, nil
}

func TestRegistry(t *testing.T) {
	r, err := scaffolder.NewRegistry(echo{"debug:log"}, echo{"fetch:template"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.IDs(); !reflect.DeepEqual(got, []string{"debug:log", "fetch:template"}) {
		t.Errorf("IDs() = %v", got)
	}
	a, err := r.Action("fetch:template")
	if err != nil || a.ID() != "fetch:template" {
		t.Errorf("Action(fetch:template) = %v, %v", a, err)
	}
	_, err = r.Action("publish:github")
	if paved.ErrorCode(err) != paved.CodeUnprocessable || !strings.Contains(err.Error(), "registered: debug:log, fetch:template") {
		t.Errorf("unknown action: %v, want unprocessable naming the registered ones", err)
	}
}

func TestRegistryRefuses(t *testing.T) {
	for _, tt := range []struct {
		Name    string
		Actions []scaffolder.Action
		Want    string
	}{
		{"Twice", []scaffolder.Action{echo{"kube:namespace"}, echo{"kube:namespace"}}, "registered twice"},
		{"EmptyID", []scaffolder.Action{echo{""}}, "an ID is one word"},
		{"Spaces", []scaffolder.Action{echo{"kube namespace"}}, "an ID is one word"},
	} {
		t.Run(tt.Name, func(t *testing.T) {
			if _, err := scaffolder.NewRegistry(tt.Actions...); err == nil || !strings.Contains(err.Error(), tt.Want) {
				t.Errorf("NewRegistry = %v, want an error saying %q", err, tt.Want)
			}
		})
	}
}
