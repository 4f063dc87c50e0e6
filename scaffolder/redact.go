package scaffolder

import (
	"context"
	"log/slog"
	"strings"
)

// redacting is a log handler that replaces every secret value in a
// record's message and string attributes with ***, as Backstage's task
// logger does: a step that logs `${{ secrets.token }}` shows ***.
type redacting struct {
	inner   slog.Handler
	secrets *strings.Replacer
}

// redactSecrets wraps log so no secret value reaches it.
func redactSecrets(log *slog.Logger, secrets map[string]string) *slog.Logger {
	var pairs []string
	for _, v := range secrets {
		if v != "" {
			pairs = append(pairs, v, "***")
		}
	}
	if len(pairs) == 0 {
		return log
	}
	return slog.New(&redacting{inner: log.Handler(), secrets: strings.NewReplacer(pairs...)})
}

func (h *redacting) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *redacting) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.secrets.Replace(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *redacting) attr(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.secrets.Replace(a.Value.String()))
	case slog.KindGroup:
		group := a.Value.Group()
		attrs := make([]any, len(group))
		for i, g := range group {
			attrs[i] = h.attr(g)
		}
		return slog.Group(a.Key, attrs...)
	case slog.KindAny:
		return slog.String(a.Key, h.secrets.Replace(a.Value.String()))
	}
	return a
}

func (h *redacting) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &redacting{inner: h.inner.WithAttrs(clean), secrets: h.secrets}
}

func (h *redacting) WithGroup(name string) slog.Handler {
	return &redacting{inner: h.inner.WithGroup(name), secrets: h.secrets}
}
