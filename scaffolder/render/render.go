// Package render evaluates Backstage's template expressions: Nunjucks
// with ${{ }} delimiters, in skeleton files and in step inputs. It runs on
// gonja (a maintained Jinja engine in Go) with Backstage's filters, prints
// values the JavaScript way, treats a missing name or attribute as
// undefined (an empty string) as Backstage does, and reports every
// expression that rendered empty because of that as a warning.
package render

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	controlstructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// Options are fetch:template's rendering switches.
type Options struct {
	TrimBlocks, LstripBlocks bool
	// CookiecutterCompat renders {{ }} as well and names the values
	// cookiecutter too, for templates ported from cookiecutter.
	CookiecutterCompat bool
}

// Warning is something that rendered, but probably not as meant.
type Warning struct {
	Line    int
	Message string
}

func (w Warning) String() string { return fmt.Sprintf("line %d: %s", w.Line, w.Message) }

// Error is a template that does not parse or fails to render.
type Error struct {
	Line   int // 0 when the engine did not say
	Reason string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return e.Reason
}

// Engine renders templates. The zero value knows no integrations, so
// parseRepoUrl accepts any host as a plain git host.
type Engine struct {
	// HostType names the integration type of a host ("github", "gitlab",
	// "gitea", "git"), as Backstage's integrations config does for
	// parseRepoUrl and projectSlug.
	HostType func(host string) (string, bool)
}

// Render renders src (a skeleton file, a step input) with scope.
func (e *Engine) Render(src string, scope map[string]any, opts Options) (out string, warnings []Warning, err error) {
	defer func() {
		if r := recover(); r != nil { // gonja on input nobody tried
			out, err = "", &Error{Reason: fmt.Sprintf("the template cannot be rendered: %v", r)}
		}
	}()
	t, err := e.parse(src, opts)
	if err != nil {
		return "", nil, err
	}
	ctx, warnings := e.context(t.Root(), scope, opts)
	var buf limitedBuffer
	if err := t.Execute(&buf, ctx); err != nil {
		if buf.full {
			return "", warnings, &Error{Reason: fmt.Sprintf("renders to more than %d MiB", MaxOutput>>20)}
		}
		return "", warnings, engineError(err)
	}
	return buf.String(), append(warnings, undefinedWarnings(ctx)...), nil
}

func (e *Engine) parse(src string, opts Options) (*exec.Template, error) {
	cfg := config.New()
	cfg.VariableStartString, cfg.VariableEndString = "${{", "}}"
	if opts.CookiecutterCompat {
		cfg.VariableStartString = "{{"
	}
	cfg.KeepTrailingNewline = true // Nunjucks keeps a file's last newline
	cfg.TrimBlocks, cfg.LeftStripBlocks = opts.TrimBlocks, opts.LstripBlocks
	t, err := exec.NewTemplate(templateName, cfg, &oneTemplate{src: src}, e.environment())
	if err != nil {
		return nil, engineError(err)
	}
	return t, nil
}

// globals are Jinja's global functions with a bounded range.
func globals() *exec.Context {
	ctx := exec.EmptyContext().Update(builtins.GlobalFunctions)
	ctx.Set("range", rangeFunction)
	return ctx
}

func (e *Engine) environment() *exec.Environment {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters).Update(e.filters())
	return &exec.Environment{
		Context:           globals(),
		Filters:           filters,
		Tests:             builtins.Tests,
		ControlStructures: builtins.ControlStructures,
		Methods:           builtins.Methods,
	}
}

// context is the scope as the template sees it: values wrapped, and every
// free name the scope lacks bound to undefined, so that an attribute of it
// (github.sha) is empty as on Backstage instead of an error. Each output
// of a CI system's context (github, secrets, env, matrix, …) that renders
// empty this way is a warning: on Backstage it silently disappears. The
// syntax tree is then instrumented: outputs printed the JavaScript way,
// loops and macros counted.
func (e *Engine) context(root *nodes.Template, scope map[string]any, opts Options) (*exec.Context, []Warning) {
	data := make(map[string]any, len(scope)+2)
	for k, v := range scope {
		data[k] = wrap(v)
	}
	if opts.CookiecutterCompat {
		if v, ok := data["values"]; ok {
			data["cookiecutter"] = v
		}
	}
	t := survey(root)
	for _, name := range t.names {
		if _, ok := data[name]; !ok && !builtinName(name) {
			data[name] = undefined("")
		}
	}
	warnings := ciWarnings(t, scope)
	undef := &undefinedLog{texts: make([]string, len(t.outputs)), lines: make([]int, len(t.outputs)), skip: map[int]bool{}}
	for i, o := range t.outputs {
		undef.texts[i], undef.lines[i] = exprText(o.Expression), o.Start.Line
		if name := rootName(o.Expression); ciContexts[name] {
			undef.skip[i] = true // ciWarnings said it, with advice
		}
	}
	t.instrument()
	data[budgetKey] = &budget{left: maxIterations, calls: maxMacroCalls}
	data[undefinedKey] = undef
	return exec.NewContext(data), warnings
}

// tree is what survey found in a template's syntax tree.
type tree struct {
	names   []string
	outputs []*nodes.Output
	loops   []*controlstructures.ForControlStructure
	macros  []*nodes.Macro
	bound   map[string]bool // loop variables
}

// survey walks the syntax tree once, collecting what context needs and
// reading bare dict keys as strings on the way.
func survey(root *nodes.Template) *tree {
	t := &tree{bound: map[string]bool{}}
	inspect(reflect.ValueOf(root), map[uintptr]bool{}, func(v reflect.Value) {
		switch v.Type() {
		case nameType:
			t.names = append(t.names, v.FieldByName("Name").Elem().FieldByName("Val").String())
		case outputType:
			if v.CanAddr() && v.Addr().CanInterface() {
				t.outputs = append(t.outputs, v.Addr().Interface().(*nodes.Output))
			}
		case forType:
			t.bound[v.FieldByName("Key").String()] = true
			t.bound[v.FieldByName("Value").String()] = true
			if v.CanAddr() {
				t.loops = append(t.loops, v.Addr().Interface().(*controlstructures.ForControlStructure))
			}
		case macroType:
			if v.CanAddr() {
				t.macros = append(t.macros, v.Addr().Interface().(*nodes.Macro))
			}
		case dictType:
			if v.CanAddr() {
				bareKeys(v.Addr().Interface().(*nodes.Dict))
			}
		}
	})
	return t
}

// ciWarnings are the outputs of CI contexts the scope does not define.
func ciWarnings(t *tree, scope map[string]any) []Warning {
	var warnings []Warning
	for _, o := range t.outputs {
		name := rootName(o.Expression)
		if _, inScope := scope[name]; inScope || t.bound[name] || !ciContexts[name] {
			continue
		}
		warnings = append(warnings, Warning{Line: o.Start.Line, Message: fmt.Sprintf(
			"${{ %s }} rendered empty: %s is not defined here; if it is meant for the CI system, keep it with {%% raw %%}…{%% endraw %%} or copyWithoutTemplating",
			exprText(o.Expression), name)})
	}
	return warnings
}

// instrument prints every output the JavaScript way, whatever computed it
// (4040 / 2 is 2020 on Backstage, 2020.0 in Jinja: Jinja's finalize, which
// gonja lacks, as a filter on each output), and starts every loop and
// macro body with a tick that counts against the render's budget.
func (t *tree) instrument() {
	for i, o := range t.outputs {
		// The output's index lets the filter say which output printed an
		// undefined value (undefinedWarnings).
		index := &nodes.Integer{Location: o.Start, Val: i}
		o.Expression = &nodes.FilteredExpression{Expression: o.Expression, Filters: []*nodes.FilterCall{{Token: o.Start, Name: printFilter, Args: []nodes.Expression{index}}}}
	}
	for _, l := range t.loops {
		if l.BodyWrapper != nil {
			l.BodyWrapper.Nodes = append([]nodes.Node{tick(l.Position(), tickFilter)}, l.BodyWrapper.Nodes...)
		}
	}
	for _, m := range t.macros {
		if m.Wrapper != nil {
			m.Wrapper.Nodes = append([]nodes.Node{tick(m.Location, macroTickFilter)}, m.Wrapper.Nodes...)
		}
	}
}

// tick is an output of nothing that calls filter.
func tick(tok *tokens.Token, filter string) *nodes.Output {
	return &nodes.Output{Start: tok, End: tok, Expression: &nodes.FilteredExpression{
		Expression: &nodes.String{Location: tok, Val: ""}, Filters: []*nodes.FilterCall{{Token: tok, Name: filter}}}}
}

// ciContexts are the names CI systems give their own ${{ }} expressions.
var ciContexts = map[string]bool{"github": true, "secrets": true, "env": true, "matrix": true, "steps": true, "needs": true,
	"inputs": true, "runner": true, "job": true, "strategy": true, "vars": true}

var (
	nameType   = reflect.TypeOf(nodes.Name{})
	outputType = reflect.TypeOf(nodes.Output{})
	forType    = reflect.TypeOf(controlstructures.ForControlStructure{})
	dictType   = reflect.TypeOf(nodes.Dict{})
	macroType  = reflect.TypeOf(nodes.Macro{})
)

// bareKeys reads { defaultKind: "group" } as JavaScript (and Nunjucks)
// do, with the key a string; Jinja would look up a variable defaultKind.
func bareKeys(d *nodes.Dict) {
	for _, p := range d.Pairs {
		if n, ok := p.Key.(*nodes.Name); ok {
			p.Key = &nodes.String{Location: n.Name, Val: n.Name.Val}
		}
	}
}

// inspect calls visit for every struct reachable from v. It follows
// unexported fields too: gonja keeps some parts of its syntax tree (a
// set's target and value) in them, and only exported types have a walker.
func inspect(v reflect.Value, seen map[uintptr]bool, visit func(reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		inspect(v.Elem(), seen, visit)
	case reflect.Interface:
		if !v.IsNil() {
			inspect(v.Elem(), seen, visit)
		}
	case reflect.Struct:
		visit(v)
		for i := range v.NumField() {
			inspect(v.Field(i), seen, visit)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			inspect(v.Index(i), seen, visit)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			inspect(it.Value(), seen, visit)
		}
	}
}

func builtinName(name string) bool {
	_, ok := builtins.GlobalFunctions.Get(name)
	return ok
}

// rootName is the name an output expression starts from (github in
// github.event.ref), or "".
func rootName(expr nodes.Expression) string {
	for {
		switch t := expr.(type) {
		case *nodes.Name:
			return t.Name.Val
		case *nodes.GetAttribute:
			expr = t.Node
		case *nodes.GetItem:
			expr = t.Node
		case *nodes.FilteredExpression:
			expr = t.Expression
		default:
			return ""
		}
	}
}

// exprText writes an attribute chain back as written (github.event.ref).
func exprText(expr nodes.Expression) string {
	switch t := expr.(type) {
	case *nodes.Name:
		return t.Name.Val
	case *nodes.GetAttribute:
		if t.Attribute != "" {
			return exprText(t.Node) + "." + t.Attribute
		}
		return exprText(t.Node) + "[" + strconv.Itoa(t.Index) + "]"
	case *nodes.GetItem:
		return exprText(t.Node) + "[…]"
	case *nodes.FilteredExpression:
		return exprText(t.Expression) + " | …"
	}
	return "…"
}

// maxReason bounds an error's text: gonja wraps an error at every level
// of nesting, so a deep template's message can run to hundreds of
// kilobytes. Its start names the place, its end the cause.
const maxReason = 600

func shorten(msg string) string {
	if len(msg) <= maxReason {
		return msg
	}
	return strings.ToValidUTF8(msg[:maxReason/2], "") + " … " + strings.ToValidUTF8(msg[len(msg)-maxReason/2:], "")
}

// engineLine finds gonja's "Line: N" or "line N" in an error.
var engineLine = regexp.MustCompile(`(?i)line[: ]+(\d+)`)

func engineError(err error) error {
	msg := err.Error()
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	out := &Error{Reason: shorten(strings.TrimPrefix(msg, "unable to execute template: "))}
	if m := engineLine.FindStringSubmatch(msg); m != nil {
		out.Line, _ = strconv.Atoi(m[1])
	}
	return out
}
