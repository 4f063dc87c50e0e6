package scaffolder

import (
	"context"
	"log/slog"
	"strings"
)

// taskEvents is a slog handler that appends a task's log to its event
// log, in Backstage's shape: type "log", body {message, stepId, status}.
// Secrets are replaced before records reach it (redactSecrets).
type taskEvents struct {
	store *TaskStore
	id    string
	attrs []slog.Attr
}

func (h *taskEvents) Enabled(context.Context, slog.Level) bool { return true }

func (h *taskEvents) Handle(ctx context.Context, r slog.Record) error {
	body := map[string]any{"message": r.Message}
	if r.Level >= slog.LevelWarn {
		body["level"] = strings.ToLower(r.Level.String())
	}
	visit := func(a slog.Attr) bool {
		if a.Key == "step" {
			body["stepId"] = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		visit(a)
	}
	r.Attrs(visit)
	_, err := h.store.AppendEvent(context.WithoutCancel(ctx), h.id, "log", body)
	return err
}

func (h *taskEvents) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &taskEvents{store: h.store, id: h.id, attrs: append(append([]slog.Attr{}, h.attrs...), attrs...)}
}

func (h *taskEvents) WithGroup(string) slog.Handler { return h }

// log appends a runner's own entry, with the step and its new status.
func (h *taskEvents) log(ctx context.Context, stepID string, status StepStatus, message string) {
	body := map[string]any{"message": message}
	if stepID != "" {
		body["stepId"] = stepID
	}
	if status != "" {
		body["status"] = string(status)
	}
	_, _ = h.store.AppendEvent(context.WithoutCancel(ctx), h.id, "log", body)
}
