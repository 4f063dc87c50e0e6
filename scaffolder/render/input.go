package render

import (
	"bytes"
	"encoding/json"
	"regexp"

	"github.com/nikolalohinski/gonja/v2/nodes"

	"github.com/paved-dev/paved/internal/jsonvalue"
)

// Input evaluates a step's input (or the template's output) as Backstage's
// workflow runner does: every string in it is a template; a string that is
// one whole ${{ }} expression keeps the value's type (a number, a list, an
// object) and is dropped from its object when undefined; a string whose
// expression fails to render is kept as written.
func (e *Engine) Input(v any, scope map[string]any) (any, []Warning) {
	var warnings []Warning
	out, _ := e.input(v, scope, &warnings)
	return out, warnings
}

func (e *Engine) input(v any, scope map[string]any, warnings *[]Warning) (any, bool) {
	switch t := v.(type) {
	case string:
		return e.inputString(t, scope, warnings)
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, c := range t {
			if r, ok := e.input(c, scope, warnings); ok {
				m[k] = r
			}
		}
		return m, true
	case []any:
		l := make([]any, 0, len(t))
		for _, c := range t {
			if r, ok := e.input(c, scope, warnings); ok {
				l = append(l, r)
			}
		}
		return l, true
	}
	return v, true
}

// wholeExpression is Backstage's rewrite of a single expression into one
// that dumps its value as JSON.
var wholeExpression = regexp.MustCompile(`^\$\{\{(.+)\}\}$`)

func (e *Engine) inputString(s string, scope map[string]any, warnings *[]Warning) (any, bool) {
	if !e.isSingleExpression(s) {
		out, w, err := e.Render(s, scope, Options{})
		*warnings = append(*warnings, w...)
		if err != nil {
			return s, true // as Backstage: the input keeps its text
		}
		return out, true
	}
	out, w, err := e.Render(wholeExpression.ReplaceAllString(s, "$${{ ( $1 ) | dump }}"), scope, Options{})
	*warnings = append(*warnings, w...)
	switch {
	case err != nil:
		return s, true
	case out == "":
		return nil, false // undefined: the key goes
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(out)))
	dec.UseNumber()
	var parsed any
	if dec.Decode(&parsed) != nil || dec.More() {
		return out, true
	}
	return jsonvalue.PlainNumbers(parsed), true
}

// isSingleExpression is Backstage's test: the string parses to exactly one
// output node and nothing else.
func (e *Engine) isSingleExpression(s string) bool {
	if !wholeExpression.MatchString(s) {
		return false
	}
	t, err := e.parse(s, Options{})
	if err != nil {
		return false
	}
	root := t.Root()
	if len(root.Nodes) != 1 {
		return false
	}
	_, ok := root.Nodes[0].(*nodes.Output)
	return ok
}
