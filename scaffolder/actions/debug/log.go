// Package debug is debug:log, Backstage's action for looking at a task
// while writing a template.
package debug

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
)

// Log is debug:log: it writes message to the step's log and, with
// listWorkspace, the workspace's files.
type Log struct{}

// ID is the action's name in templates.
func (Log) ID() string { return "debug:log" }

// Description says what the action does.
func (Log) Description() string {
	return "Write a message, and optionally the workspace's files, to the task log"
}

// SupportsDryRun: it changes nothing.
func (Log) SupportsDryRun() bool { return true }

// Replayable: it writes only the workspace.
func (Log) Replayable() bool { return true }

// Run logs. listWorkspace is true or "with-filenames" (the file names);
// Backstage's "with-contents" is refused rather than copying files into a
// log.
func (Log) Run(_ context.Context, call *scaffolder.Call) (map[string]any, error) {
	if msg, ok := call.Input["message"]; ok {
		s, ok := msg.(string)
		if !ok {
			return nil, paved.Invalid("invalid debug:log input", paved.Detail{Field: "input.message", Reason: "must be a string"})
		}
		call.Log.Info(s)
	}
	switch list := call.Input["listWorkspace"]; list {
	case nil, false:
		return map[string]any{}, nil
	case true, "with-filenames":
	default:
		return nil, paved.Invalid("invalid debug:log input", paved.Detail{Field: "input.listWorkspace", Reason: fmt.Sprintf("%v: want true or with-filenames", list)})
	}
	if call.Workspace == nil {
		return map[string]any{}, nil
	}
	var names []string
	_ = fs.WalkDir(call.Workspace.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	call.Log.Info("Workspace:\n  " + strings.Join(names, "\n  "))
	return map[string]any{}, nil
}

// Schema describes the input and output.
func (Log) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object(nil, map[string]any{
		"message":       scaffolder.Prop("string", "what to log"),
		"listWorkspace": scaffolder.Prop("string|boolean", "also log the workspace's files (true or with-contents)"),
	}), Output: scaffolder.Object(nil, map[string]any{})}
}
