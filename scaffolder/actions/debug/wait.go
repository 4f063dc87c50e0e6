package debug

import (
	"context"
	"fmt"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
)

// maxWait is Backstage's bound on debug:wait.
const maxWait = 10 * time.Minute

// Wait is debug:wait: it waits minutes + seconds + milliseconds (at most
// ten minutes), or until the task stops.
type Wait struct{}

// ID is the action's name in templates.
func (Wait) ID() string { return "debug:wait" }

// Description says what the action does.
func (Wait) Description() string {
	return "Wait for a while (minutes, seconds, milliseconds; at most 10 minutes)"
}

// SupportsDryRun: waiting changes nothing.
func (Wait) SupportsDryRun() bool { return true }

// Run waits.
func (Wait) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	var d time.Duration
	for _, part := range []struct {
		key  string
		unit time.Duration
	}{{"minutes", time.Minute}, {"seconds", time.Second}, {"milliseconds", time.Millisecond}} {
		v, ok := call.Input[part.key]
		if !ok {
			continue
		}
		n, ok := number(v)
		if !ok || n < 0 {
			return nil, paved.Invalid("invalid debug:wait input", paved.Detail{Field: "input." + part.key, Reason: "must be a number of at least 0"})
		}
		d += time.Duration(n * float64(part.unit))
	}
	if d > maxWait {
		return nil, paved.Invalid("invalid debug:wait input", paved.Detail{Field: "input", Reason: fmt.Sprintf("waits %s; at most %s", d, maxWait)})
	}
	call.Log.Info(fmt.Sprintf("Waiting for %s", d))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return map[string]any{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}

// Schema describes the input and output.
func (Wait) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object(nil, map[string]any{
		"minutes":      scaffolder.Prop("number", "minutes to wait"),
		"seconds":      scaffolder.Prop("number", "seconds to wait"),
		"milliseconds": scaffolder.Prop("number", "milliseconds to wait"),
	}), Output: scaffolder.Object(nil, map[string]any{})}
}
