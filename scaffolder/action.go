package scaffolder

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/paved-dev/paved"
)

// Action is what a template step runs: `action: <ID>`. Run gets the step's
// input (its `input:`, expressions evaluated) and returns the output that
// later steps and the template's output read as steps['<id>'].output.
// Each family of actions lives in a package of its own under
// scaffolder/actions; the task runner finds them in a Registry.
type Action interface {
	ID() string
	// Description is one sentence for people choosing an action.
	Description() string
	Run(ctx context.Context, input map[string]any) (map[string]any, error)
}

// Undoer is an Action that can take back what its Run did. When a later
// step of the same task fails, the runner calls Undo, in reverse step
// order, with the input and output of the successful Run.
type Undoer interface {
	Undo(ctx context.Context, input, output map[string]any) error
}

// Registry holds the actions templates may use, by ID. It is read-only
// once built, so safe for concurrent use.
type Registry struct {
	actions map[string]Action
}

// NewRegistry returns a registry of actions. It refuses an empty ID, one
// with spaces, and two actions with one ID (the second would silently
// replace the first in every template).
func NewRegistry(actions ...Action) (*Registry, error) {
	r := &Registry{actions: make(map[string]Action, len(actions))}
	for _, a := range actions {
		id := a.ID()
		switch {
		case id == "" || strings.ContainsAny(id, " \t\n"):
			return nil, fmt.Errorf("scaffolder action %q: an ID is one word such as fetch:template", id)
		case r.actions[id] != nil:
			return nil, fmt.Errorf("scaffolder action %q is registered twice", id)
		}
		r.actions[id] = a
	}
	return r, nil
}

// Action returns the action with id, or a CodeUnprocessable error naming
// the registered ones (a template naming an unknown action is wrong input).
func (r *Registry) Action(id string) (Action, error) {
	if a, ok := r.actions[id]; ok {
		return a, nil
	}
	return nil, paved.Errorf(paved.CodeUnprocessable, "no scaffolder action %q; registered: %s", id, strings.Join(r.IDs(), ", "))
}

// IDs lists the registered actions' IDs, sorted.
func (r *Registry) IDs() []string {
	ids := make([]string, 0, len(r.actions))
	for id := range r.actions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
