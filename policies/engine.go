package policies

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
)

// Loaded is the compiled active version of one policy set.
type Loaded struct {
	Set        string
	Version    int
	Generation int64
	Compiled   *Compiled
}

// Snapshot is the active versions of every set at one moment. It is
// immutable; the engine swaps whole snapshots.
type Snapshot struct {
	Sets []*Loaded
	// Revision names the versions, e.g. "default@3"; it is reported with
	// every decision.
	Revision string
}

func newSnapshot(sets []*Loaded) *Snapshot {
	parts := make([]string, len(sets))
	for i, l := range sets {
		parts[i] = fmt.Sprintf("%s@%d", l.Set, l.Version)
	}
	return &Snapshot{Sets: sets, Revision: strings.Join(parts, ",")}
}

// loaded returns the set's loaded version, or nil.
func (s *Snapshot) loaded(set string) *Loaded {
	for _, l := range s.Sets {
		if l.Set == set {
			return l
		}
	}
	return nil
}

// Evaluate runs target's policies of every active set against input.
func (s *Snapshot) Evaluate(ctx context.Context, target Target, input any) ([]Violation, error) {
	var out []Violation
	for _, l := range s.Sets {
		v, err := l.Compiled.Evaluate(ctx, target, input)
		if err != nil {
			return nil, fmt.Errorf("policy set %s@%d: %w", l.Set, l.Version, err)
		}
		out = append(out, v...)
	}
	return out, nil
}

// Engine holds the snapshot decisions are made with. Reading it is one
// atomic load: decisions never wait for the database or an activation.
type Engine struct {
	current atomic.Pointer[Snapshot]
}

// NewEngine returns an engine with no active set: it allows everything
// until a snapshot is installed.
func NewEngine() *Engine {
	e := &Engine{}
	e.current.Store(newSnapshot(nil))
	return e
}

// Snapshot returns the active snapshot.
func (e *Engine) Snapshot() *Snapshot { return e.current.Load() }

// install makes s the active snapshot.
func (e *Engine) install(s *Snapshot) { e.current.Store(s) }

// Outcome is a decision's verdict: denied when any deny violation exists.
type Outcome struct {
	Allowed    bool        `json:"allowed"`
	Violations []Violation `json:"violations"`
	Warnings   []string    `json:"warnings"`
	Revision   string      `json:"revision"`
}

// maxWarning is the longest warning Paved sends: kubectl prints each one
// on a line, and the API server truncates long ones anyway.
const maxWarning = 120

// Verdict turns violations into an outcome: deny violations deny, warn
// violations become warnings, dryrun violations only reach the log.
func Verdict(violations []Violation, revision string) Outcome {
	o := Outcome{Allowed: true, Violations: violations, Warnings: []string{}, Revision: revision}
	if o.Violations == nil {
		o.Violations = []Violation{}
	}
	for _, v := range violations {
		switch v.Enforcement {
		case Deny:
			o.Allowed = false
		case Warn:
			o.Warnings = append(o.Warnings, Truncate("["+v.Policy+"] "+v.Message, maxWarning))
		}
	}
	return o
}

// DenyMessage names each denying policy with its message.
func DenyMessage(violations []Violation) string {
	var parts []string
	for _, v := range violations {
		if v.Enforcement == Deny {
			parts = append(parts, "["+v.Policy+"] "+v.Message)
		}
	}
	return strings.Join(parts, "; ")
}

// Truncate shortens s to at most n bytes on a rune boundary, ending in an
// ellipsis when cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
