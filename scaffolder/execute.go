package scaffolder

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder/render"
)

// StepStatus is a step's state, Backstage's words.
type StepStatus string

// Step states.
const (
	StepOpen       StepStatus = "open"
	StepProcessing StepStatus = "processing"
	StepCompleted  StepStatus = "completed"
	StepFailed     StepStatus = "failed"
	StepSkipped    StepStatus = "skipped"
)

// DryRunner is an Action that honours Call.DryRun. In a dry run, steps
// whose action is not one are skipped with an empty output, as Backstage
// skips actions without supportsDryRun.
type DryRunner interface {
	SupportsDryRun() bool
}

// Execution is one run of a template's steps: what Backstage's
// NunjucksWorkflowRunner does for a task or a dry run.
type Execution struct {
	Template  *Template
	Values    map[string]any
	Secrets   map[string]string
	User      map[string]any // {entity, ref}, as templates read user.*
	Workspace *os.Root
	Files     func(ctx context.Context, url string) (fs.FS, error)
	DryRun    bool
	Log       *slog.Logger
	Render    *render.Engine
	Actions   *Registry
	// Completed are the outputs of steps an earlier run of the same task
	// completed (a task resumed after its worker died): they are not run
	// again, and later steps read their outputs.
	Completed map[string]map[string]any
	// OnStep, when set, is told each step's result as soon as it is known,
	// so a task's progress is stored before the next step starts; its
	// error stops the run.
	OnStep func(ctx context.Context, res StepResult) error
	// OnStart, when set, is told that a step begins; its error stops the
	// run before the step.
	OnStart func(ctx context.Context, step Step) error

	// scope is what expressions read, kept for Undo.
	scope map[string]any
}

// StepResult is what one step did.
type StepResult struct {
	ID, Name, Action string
	Status           StepStatus
	Output           map[string]any
	Err              error
}

// Run runs the steps in order and then evaluates the template's output.
// A failing step stops the run: its result carries the error, the later
// steps are not run, and Run returns the error.
func (x *Execution) Run(ctx context.Context) ([]StepResult, map[string]any, error) {
	x.Log = redactSecrets(x.Log, x.Secrets)
	steps := map[string]any{}
	scope := map[string]any{"parameters": x.Values, "steps": steps, "secrets": stringMap(x.Secrets), "user": x.User}
	x.scope = scope
	var results []StepResult
	for _, step := range x.Template.Steps {
		if err := ctx.Err(); err != nil {
			return results, nil, err
		}
		res, resumed := x.resumed(step)
		if !resumed {
			if x.OnStart != nil {
				if err := x.OnStart(ctx, step); err != nil {
					return results, nil, err
				}
			}
			res = x.step(ctx, step, scope)
			if x.OnStep != nil {
				if err := x.OnStep(ctx, res); err != nil {
					return results, nil, err
				}
			}
		}
		results = append(results, res)
		if res.Status == StepFailed {
			return results, nil, res.Err
		}
		steps[step.ID] = map[string]any{"output": res.Output}
	}
	output, _ := x.Render.Input(x.Template.Output, scope)
	out, _ := output.(map[string]any)
	for _, key := range []string{"links", "text"} {
		if list, ok := out[key].([]any); ok {
			out[key] = conditionalItems(list)
		}
	}
	return results, out, nil
}

// resumed is the result of a step an earlier run completed.
func (x *Execution) resumed(step Step) (StepResult, bool) {
	out, ok := x.Completed[step.ID]
	if !ok {
		return StepResult{}, false
	}
	if out == nil {
		out = map[string]any{}
	}
	return StepResult{ID: step.ID, Name: step.Name, Action: step.Action, Status: StepCompleted, Output: out}, true
}

func (x *Execution) step(ctx context.Context, step Step, scope map[string]any) StepResult {
	res := StepResult{ID: step.ID, Name: step.Name, Action: step.Action, Output: map[string]any{}}
	fail := func(err error) StepResult {
		res.Status, res.Err = StepFailed, fmt.Errorf("step %s (%s): %w", step.ID, step.Action, err)
		return res
	}
	if step.Each == nil && !x.truthy(step.If, scope) {
		res.Status = StepSkipped
		return res
	}
	action, err := x.Actions.Action(step.Action)
	if err != nil {
		return fail(err)
	}
	if x.DryRun {
		if dr, ok := action.(DryRunner); !ok || !dr.SupportsDryRun() {
			x.Log.Info(fmt.Sprintf("skipping %s in a dry run: the action has side effects it cannot simulate", action.ID()))
			res.Status = StepSkipped
			return res
		}
	}
	iterations, err := x.iterations(step, scope)
	if err != nil {
		return fail(err)
	}
	for _, each := range iterations {
		iterScope := scope
		if each != nil {
			iterScope = withKey(scope, "each", each)
			if !x.truthy(step.If, iterScope) {
				continue
			}
		}
		input, _ := x.Render.Input(step.Input, iterScope)
		in, _ := input.(map[string]any)
		if in == nil {
			in = map[string]any{}
		}
		out, err := action.Run(ctx, &Call{Input: in, Workspace: x.Workspace, Files: x.Files, DryRun: x.DryRun, Template: x.Template.Ref,
			Log: x.Log.With("step", step.ID)})
		if err != nil {
			return fail(err)
		}
		mergeOutput(res.Output, out, each != nil)
	}
	res.Status = StepCompleted
	return res
}

// iterations are the values of `each` as {key, value} objects, or one nil
// iteration for a step without it.
func (x *Execution) iterations(step Step, scope map[string]any) ([]map[string]any, error) {
	if step.Each == nil {
		return []map[string]any{nil}, nil
	}
	v, _ := x.Render.Input(map[string]any{"each": step.Each}, scope)
	resolved := v.(map[string]any)["each"]
	var out []map[string]any
	switch t := resolved.(type) {
	case []any:
		for i, item := range t {
			out = append(out, map[string]any{"key": strconv.Itoa(i), "value": item})
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, map[string]any{"key": k, "value": t[k]})
		}
	case nil:
		return nil, paved.Invalid("invalid step", paved.Detail{Field: "spec.steps." + step.ID + ".each", Reason: fmt.Sprintf("%v cannot be resolved to a value", step.Each)})
	default:
		return nil, paved.Invalid("invalid step", paved.Detail{Field: "spec.steps." + step.ID + ".each", Reason: "must resolve to an array or object"})
	}
	return out, nil
}

// truthy evaluates a step's `if` as Backstage does: absent runs, false
// skips, a string is evaluated and judged by JavaScript's truthiness (an
// empty array is false).
func (x *Execution) truthy(cond any, scope map[string]any) bool {
	switch t := cond.(type) {
	case nil:
		return true
	case bool:
		return t
	case string:
		v, _ := x.Render.Input(map[string]any{"if": t}, scope)
		return isTruthy(v.(map[string]any)["if"])
	}
	return isTruthy(cond)
}

// isTruthy is Backstage's: a non-empty array, or a JavaScript truthy value.
func isTruthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case int64:
		return t != 0
	case float64:
		return t != 0
	case []any:
		return len(t) > 0
	}
	return true
}

// conditionalItems drops output links and text whose `if` is false.
func conditionalItems(items []any) []any {
	out := make([]any, 0, len(items))
	for _, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			out = append(out, item)
			continue
		}
		if cond, has := m["if"]; has {
			if !isTruthy(cond) {
				continue
			}
			m = withoutKey(m, "if")
		}
		out = append(out, m)
	}
	return out
}

// mergeOutput adds an action's output to the step's; with each, every
// name collects a list of the iterations' values, as on Backstage.
func mergeOutput(into, out map[string]any, each bool) {
	for k, v := range out {
		if !each {
			into[k] = v
			continue
		}
		list, _ := into[k].([]any)
		into[k] = append(list, v)
	}
}

func withKey(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}

func withoutKey(m map[string]any, k string) map[string]any {
	out := make(map[string]any, len(m))
	for key, val := range m {
		if key != k {
			out[key] = val
		}
	}
	return out
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
