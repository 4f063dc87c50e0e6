package render

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
)

// Limits on what one render may produce. Templates come from catalog
// locations and task requests: hostile until checked.
const (
	// MaxOutput bounds the text one template renders to.
	MaxOutput = 16 << 20
	// maxRange bounds range(): Jinja's builtin streams from a goroutine
	// that leaks when a loop stops early, and range(1e9) would run for
	// minutes.
	maxRange = 10_000
)

// limitedBuffer fails writes past MaxOutput, which stops the renderer.
type limitedBuffer struct {
	strings.Builder
	full bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxOutput {
		b.full = true
		return 0, errors.New("output limit")
	}
	return b.Builder.Write(p)
}

func (b *limitedBuffer) WriteString(s string) (int, error) { return b.Write([]byte(s)) }

// rangeFunction is Nunjucks' range([start,] stop[, step]) as a list,
// bounded by maxRange.
func rangeFunction(_ *exec.Evaluator, params *exec.VarArgs) ([]int, error) {
	args := make([]int, len(params.Args))
	for i, a := range params.Args {
		if !a.IsInteger() {
			return nil, errors.New("range: want [start,] stop[, step] as integers")
		}
		args[i] = a.Integer()
	}
	start, stop, step := 0, 0, 1
	switch len(args) {
	case 1:
		stop = args[0]
	case 2:
		start, stop = args[0], args[1]
	case 3:
		start, stop, step = args[0], args[1], args[2]
	default:
		return nil, errors.New("range: want [start,] stop[, step]")
	}
	if step == 0 {
		return nil, errors.New("range: step cannot be 0")
	}
	var out []int
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(out) == maxRange {
			return nil, fmt.Errorf("range: more than %d numbers", maxRange)
		}
		out = append(out, i)
	}
	return out, nil
}

// templateName is what the engine calls the template being rendered.
const templateName = "/template"

// oneTemplate is a loader that serves the template being parsed once and
// nothing else: {% include %}, {% import %} and {% extends %} find no file
// (and a template cannot include itself forever).
type oneTemplate struct {
	src  string
	read bool
}

func (l *oneTemplate) Read(path string) (io.Reader, error) {
	if l.read || path != templateName {
		return nil, fmt.Errorf("templates cannot include other files (%s)", path)
	}
	l.read = true
	return strings.NewReader(l.src), nil
}

func (l *oneTemplate) Resolve(path string) (string, error) { return path, nil }

func (l *oneTemplate) Inherit(string) (loaders.Loader, error) { return l, nil }

// maxIterations bounds the loop iterations of one render: a million
// renders any real skeleton file, and stops in about a second.
const maxIterations = 1_000_000

// budgetKey names a render's budget in its context. A template that
// assigns the name only ends its own render.
const budgetKey = "__paved_budget"

type budget struct{ left, calls int }

// maxMacroCalls bounds the macro calls of one render, recursion included.
// Recursion costs the square of its depth (gonja wraps the error at every
// level on the way out: 10,000 levels took 98 s), so the bound is low.
const maxMacroCalls = 1_000

// macroTickFilter is the filter each macro body's tick calls.
const macroTickFilter = "__paved_macro_tick"

func filterMacroTick(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	return spend(e, in, func(b *budget) *int { return &b.calls }, fmt.Errorf("more than %d macro calls", maxMacroCalls))
}

// tickFilter is the filter each loop body's tick calls.
const tickFilter = "__paved_tick"

func filterTick(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	return spend(e, in, func(b *budget) *int { return &b.left }, fmt.Errorf("more than %d loop iterations", maxIterations))
}

// spend takes one from the render's counter that of picks, failing the
// render with spent once it runs out.
func spend(e *exec.Evaluator, in *exec.Value, of func(*budget) *int, spent error) *exec.Value {
	v, _ := e.Environment.Context.Get(budgetKey)
	b, ok := v.(*budget)
	if !ok {
		return exec.AsValue(errors.New("the template changed the engine's budget"))
	}
	n := of(b)
	*n--
	if *n < 0 {
		return exec.AsValue(spent)
	}
	return in
}
