package policies

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Violation is one message of one policy.
type Violation struct {
	Policy      string      `json:"policy"`
	Message     string      `json:"message"`
	Severity    string      `json:"severity"`
	Enforcement Enforcement `json:"enforcement"`
}

// Evaluate runs every policy of target against input and returns their
// violations, ordered by policy then message. It reads only memory.
func (c *Compiled) Evaluate(ctx context.Context, target Target, input any) ([]Violation, error) {
	tq := c.queries[target]
	if tq == nil {
		return nil, nil
	}
	opt := rego.EvalInput(input)
	if v, ok := input.(ast.Value); ok {
		opt = rego.EvalParsedInput(v) // already converted: skip a copy
	}
	rs, err := tq.query.Eval(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s policies: %w", target, err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	var out []Violation
	for i, p := range tq.policies {
		msgs, _ := rs[0].Bindings[bindingName(i)].([]any)
		for _, m := range msgs {
			out = append(out, Violation{Policy: p.Name, Message: message(m), Severity: p.Severity, Enforcement: p.Enforcement})
		}
	}
	slices.SortFunc(out, func(a, b Violation) int {
		return cmp.Or(strings.Compare(a.Policy, b.Policy), strings.Compare(a.Message, b.Message))
	})
	return out, nil
}

// message turns a violation value into text: a string as is, an object's
// msg field (the Gatekeeper convention), anything else as JSON.
func message(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		if s, ok := t["msg"].(string); ok {
			return s
		}
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// bindingNames are the query variables of the first policies of a target,
// precomputed so evaluation does not format them.
var bindingNames = func() []string {
	names := make([]string, 64)
	for i := range names {
		names[i] = fmt.Sprintf("p%d", i)
	}
	return names
}()

func bindingName(i int) string {
	if i < len(bindingNames) {
		return bindingNames[i]
	}
	return fmt.Sprintf("p%d", i)
}
