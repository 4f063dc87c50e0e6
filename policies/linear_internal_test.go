package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// eventCounter counts the evaluator's trace events: a measure of the work
// of an evaluation that, unlike its time, does not depend on the machine.
type eventCounter struct{ n int }

func (c *eventCounter) Enabled() bool               { return true }
func (c *eventCounter) TraceEvent(topdown.Event)    { c.n++ }
func (c *eventCounter) Config() topdown.TraceConfig { return topdown.TraceConfig{} }

// podReview is a review of a Pod of n containers made by container(i).
func podReview(t *testing.T, n int, container func(i int) map[string]any) []byte {
	t.Helper()
	cs := make([]any, n)
	for i := range cs {
		cs[i] = container(i)
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": "u", "kind": map[string]any{"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE", "namespace": "team-a",
		"object": map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "big"}, "spec": map[string]any{"containers": cs}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The default library's work grows linearly with the containers of an
// object, whether they are alike or each differs (distinct images and
// quantities, every one a finding of its own): twice the containers, at
// most a little over twice the evaluation events. Grouping findings by
// value once made the distinct case quadratic (16 s at 2,000 containers).
func TestLibraryEvaluationIsLinear(t *testing.T) {
	ctx := context.Background()
	src, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string]func(i int) map[string]any{
		"alike": func(i int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("c%d", i), "image": "nginx:latest"}
		},
		"distinct": func(i int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("c%d", i), "image": fmt.Sprintf("img%d:latest", i),
				"resources": map[string]any{"limits": map[string]any{"cpu": fmt.Sprint(100 + i), "memory": "x" + fmt.Sprint(i)}}}
		},
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			events := func(n int) int {
				r, err := ParseReview(podReview(t, n, shape))
				if err != nil {
					t.Fatal(err)
				}
				counter := &eventCounter{}
				rs, err := c.queries[Admission].query.Eval(ctx, rego.EvalParsedInput(r.Input), rego.EvalQueryTracer(counter))
				if err != nil || len(rs) == 0 {
					t.Fatalf("evaluate %d containers: %v", n, err)
				}
				return counter.n
			}
			small, large := events(500), events(1000)
			if ratio := float64(large) / float64(small); ratio > 2.2 {
				t.Fatalf("500 containers: %d events, 1,000: %d (×%.2f); want linear growth (≤ ×2.2)", small, large, ratio)
			}
		})
	}
}
