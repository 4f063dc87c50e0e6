package scaffolder

import (
	"context"
	"fmt"
)

// UndoResult is what became of one completed step when its task failed.
type UndoResult struct {
	StepID string
	// Outcome is StepUndone, StepUndoFailed or StepNotUndoable.
	Outcome string
	Err     error
}

// Undo takes back the completed steps of results, last first, whose
// action is an Undoer: each gets its input evaluated as it was (with the
// outputs of every step before it) and its recorded output. A failing
// undo is recorded and the others still run: the task says what was left
// behind. Steps with `each` are not undone (their iterations' outputs
// are merged) and say so.
func (x *Execution) Undo(ctx context.Context, results []StepResult) []UndoResult {
	byID := make(map[string]Step, len(x.Template.Steps))
	for _, st := range x.Template.Steps {
		byID[st.ID] = st
	}
	if x.scope == nil { // undone without having run here (cancelled before)
		steps := map[string]any{}
		for _, r := range results {
			steps[r.ID] = map[string]any{"output": r.Output}
		}
		x.scope = map[string]any{"parameters": x.Values, "steps": steps, "secrets": stringMap(x.Secrets), "user": x.User}
	}
	var out []UndoResult
	for i := len(results) - 1; i >= 0; i-- {
		res := results[i]
		if res.Status != StepCompleted {
			continue
		}
		out = append(out, x.undoStep(ctx, byID[res.ID], res))
	}
	return out
}

func (x *Execution) undoStep(ctx context.Context, step Step, res StepResult) UndoResult {
	r := UndoResult{StepID: res.ID, Outcome: StepNotUndoable}
	action, err := x.Actions.Action(step.Action)
	if err != nil {
		return r
	}
	undoer, ok := action.(Undoer)
	if !ok {
		return r
	}
	if step.Each != nil {
		r.Outcome, r.Err = StepUndoFailed, fmt.Errorf("steps with each are not undone; %s may have left something behind", step.ID)
		return r
	}
	input, _ := x.Render.Input(step.Input, x.scope)
	in, _ := input.(map[string]any)
	if in == nil {
		in = map[string]any{}
	}
	call := &Call{Input: in, Workspace: x.Workspace, Files: x.Files, Template: x.Template.Ref, Log: x.Log.With("step", step.ID)}
	if err := undoer.Undo(ctx, call, res.Output); err != nil {
		r.Outcome, r.Err = StepUndoFailed, err
		return r
	}
	r.Outcome = StepUndone
	return r
}
