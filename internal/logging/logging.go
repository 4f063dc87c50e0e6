// Package logging builds Paved's process logger and carries a request's id
// in its context, so every record logged while serving a request names it.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/paved-dev/paved"
)

// Options are the log-format and log-level settings.
type Options struct {
	// Format is auto (text on a terminal, JSON otherwise), text or json.
	Format string
	Level  slog.Level
}

// Validate checks the format. Details name the setting (log-format).
func (o Options) Validate() error {
	switch o.Format {
	case "auto", "text", "json":
		return nil
	}
	return paved.Invalid("invalid configuration", paved.Detail{Field: "log-format", Reason: fmt.Sprintf("%q is not one of auto, text, json", o.Format)})
}

// ParseLevel reads debug, info, warn or error (any case); slog's offsets
// such as info+2 are refused.
func ParseLevel(v string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil || !strings.EqualFold(l.String(), v) {
		return 0, fmt.Errorf("%q is not one of debug, info, warn, error", v)
	}
	return l, nil
}

// New returns the process logger: text when the format is "text" or when
// it is "auto" and w is a terminal, JSON otherwise. Every record logged
// with a request's context carries that request's id.
func New(w io.Writer, o Options) *slog.Logger {
	opts := &slog.HandlerOptions{Level: o.Level}
	var h slog.Handler
	if o.Format == "text" || (o.Format == "auto" && isTerminal(w)) {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(requestIDHandler{h})
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying a request's id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDHandler adds request_id to records logged with a request context.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
