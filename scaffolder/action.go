package scaffolder

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/paved-dev/paved"
)

// Action is what a template step runs: `action: <ID>`. Run gets the step's
// call (its `input:`, expressions evaluated, and the task it runs in) and
// returns the output that later steps and the template's output read as
// steps['<id>'].output. Each family of actions lives in a package of its
// own under scaffolder/actions; the task runner finds them in a Registry.
type Action interface {
	ID() string
	// Description is one sentence for people choosing an action.
	Description() string
	Run(ctx context.Context, call *Call) (map[string]any, error)
}

// Undoer is an Action that can take back what its Run did. When a later
// step of the same task fails, the runner calls Undo, in reverse step
// order, with the call and output of the successful Run.
type Undoer interface {
	Undo(ctx context.Context, call *Call, output map[string]any) error
}

// Replayable is an Action whose Run changes nothing but the workspace
// (fetch:*, catalog:write, debug:log), so running it again with the same
// input rebuilds the same files. A task resumed in a new process starts
// with an empty workspace: the runner runs its completed replayable steps
// again, and takes the recorded output of the others (a repository is
// not created twice).
type Replayable interface {
	Replayable() bool
}

// Call is one run of an action by a step.
type Call struct {
	// Input is the step's input, expressions evaluated.
	Input map[string]any
	// Workspace is the task's working directory. Every file an action
	// writes goes through it, so no path leaves it.
	Workspace *os.Root
	// Files opens a directory of files a step names by URL (fetch:*'s
	// url), resolved against the template's own location and allowed by
	// the reading rules; nil when the task reads none.
	Files func(ctx context.Context, url string) (fs.FS, error)
	// Template is the reference of the template the task runs
	// (template:default/name), as Backstage's templateInfo.entityRef.
	Template string
	// DryRun asks for no side effects outside the workspace: an action
	// that would change the world says what it would do instead.
	DryRun bool
	// Log is the step's log, shown in the task's event stream.
	Log *slog.Logger
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
