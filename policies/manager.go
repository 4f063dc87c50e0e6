package policies

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paved-dev/paved"
)

// DefaultSet is the policy set installed from the library on first start.
const DefaultSet = "default"

// Manager runs the policy life cycle: versions are stored, activated only
// when they compile and pass their tests, and every replica's engine
// follows the active versions in the database.
type Manager struct {
	Store  *Store
	Engine *Engine
	Log    *slog.Logger
	// TestTimeout bounds a whole test run of a version (MaxTestRun when
	// zero).
	TestTimeout time.Duration
	// LatencyBudget is the p99 within which a version must decide the
	// sample and recent reviews to be activated (DefaultLatencyBudget
	// when zero).
	LatencyBudget time.Duration
	// Live lists cluster objects for the preview an activation reports;
	// nil without a cluster.
	Live ObjectLister

	// syncMu serialises Sync, so a local activation and the poller do not
	// compile the same version twice or install out of order.
	syncMu sync.Mutex
	// lastSyncErr is the last Sync failure logged, to log each once.
	lastSyncErr string
	// activated is the version this replica just compiled and activated,
	// so the Sync that installs it does not compile it again.
	activated atomic.Pointer[Loaded]
}

// latencyBudget is LatencyBudget, or DefaultLatencyBudget when unset.
func (m *Manager) latencyBudget() time.Duration {
	if m.LatencyBudget > 0 {
		return m.LatencyBudget
	}
	return DefaultLatencyBudget
}

// testTimeout is TestTimeout, or MaxTestRun when unset.
func (m *Manager) testTimeout() time.Duration {
	if m.TestTimeout > 0 {
		return m.TestTimeout
	}
	return MaxTestRun
}

// RefusedError is a version that may not be stored or activated, with
// every reason: compile errors, or failed tests.
type RefusedError struct {
	Message     string
	Compile     CompileErrors
	FailedTests []TestResult
}

func (e *RefusedError) Error() string {
	switch {
	case len(e.Compile) > 0:
		return e.Message + ": " + e.Compile.Error()
	case len(e.FailedTests) > 0:
		return e.Message + ": " + Summary(e.FailedTests)
	}
	return e.Message
}

// Unwrap classifies the refusal as unprocessable input: one detail per
// compile error (file, line, column), and the failed tests, whole, as the
// answer's failedTests.
func (e *RefusedError) Unwrap() error {
	pe := &paved.Error{Code: paved.CodeUnprocessable, Message: e.Message}
	for _, c := range e.Compile {
		pe.Details = append(pe.Details, paved.Detail{Field: c.File, Line: c.Row, Column: c.Col, Reason: c.Message})
	}
	if len(e.FailedTests) > 0 {
		pe.Payload = failedTests{e.FailedTests}
	}
	return pe
}

// failedTests is the payload of a version refused for its tests.
type failedTests struct {
	FailedTests []TestResult `json:"failedTests"`
}

// compileOrRefuse compiles src, turning compile errors into a refusal.
func compileOrRefuse(ctx context.Context, src Source, what string) (*Compiled, error) {
	c, err := Compile(ctx, src)
	var ces CompileErrors
	if errors.As(err, &ces) {
		return nil, &RefusedError{Message: what + " does not compile", Compile: ces}
	}
	return c, err
}

// Bootstrap installs the default library as version 1 of the default set
// and activates it, when the database has no policy set yet, then loads
// the active versions.
func (m *Manager) Bootstrap(ctx context.Context) error {
	sets, err := m.Store.Sets(ctx)
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		lib, err := Library()
		if err != nil {
			return fmt.Errorf("read the default policy library: %w", err)
		}
		v, err := m.CreateVersion(ctx, DefaultSet, lib, "default policy library")
		if err != nil {
			return fmt.Errorf("install the default policy library: %w", err)
		}
		if _, err := m.Activate(ctx, DefaultSet, v, "activate"); err != nil {
			return fmt.Errorf("activate the default policy library: %w", err)
		}
		m.Log.Info("installed the default policy library", "set", DefaultSet, "version", v)
	}
	return m.Sync(ctx)
}

// CreateVersion compiles src and stores it as the next version of set.
// It does not activate it.
func (m *Manager) CreateVersion(ctx context.Context, set string, src Source, message string) (int, error) {
	if err := checkSetName(set); err != nil {
		return 0, err
	}
	if _, err := compileOrRefuse(ctx, src, "the policy set"); err != nil {
		return 0, err
	}
	return m.Store.CreateVersion(ctx, set, src, message)
}

// DefaultLatencyBudget is the p99 decision time an activated version
// must meet; the admission webhook's own target is 2 ms at 1,000
// reviews/s, and a version several times slower would eat the
// evaluation deadline.
const DefaultLatencyBudget = 5 * time.Millisecond

// previewSamples is how many logged reviews an activation replays.
const previewSamples = 200

// Activated is what an activation did: the set's new state, and the
// preview of what it changed against the version active until then.
type Activated struct {
	SetState
	Preview Preview `json:"preview"`
}

// Activate compiles version of set, runs all its tests (which must cover
// every module), previews it against recent reviews and live objects and
// checks it decides them and the sample reviews within the latency
// budget; when all of that holds, it makes the version active here at
// once and on every replica at its next sync. action is "activate" or
// "rollback".
func (m *Manager) Activate(ctx context.Context, set string, version int, action string) (Activated, error) {
	v, err := m.Store.Version(ctx, set, version)
	if err != nil {
		return Activated{}, err
	}
	what := fmt.Sprintf("%s@%d", set, version)
	compiled, err := compileOrRefuse(ctx, v.Source, what)
	if err != nil {
		return Activated{}, err
	}
	results, err := testWithin(ctx, v.Source, m.testTimeout())
	if err != nil {
		return Activated{}, err
	}
	if failed := Failed(results); len(failed) > 0 {
		return Activated{}, &RefusedError{Message: fmt.Sprintf("%s was not activated: %s", what, Summary(results)), FailedTests: failed}
	}
	if untested := Untested(v.Source, results); len(untested) > 0 {
		return Activated{}, &RefusedError{Message: fmt.Sprintf("%s was not activated: every policy module needs tests; none cover %s", what, strings.Join(untested, ", "))}
	}
	preview, err := m.preview(ctx, compiled, set, version, previewSamples, m.Live)
	if err != nil {
		return Activated{}, err
	}
	samples, err := sampleLatencies(ctx, compiled)
	if err != nil {
		return Activated{}, err
	}
	if p99, budget := percentile(append(samples, preview.durations...), 0.99), m.latencyBudget(); p99 > budget {
		return Activated{}, &RefusedError{Message: fmt.Sprintf("%s was not activated: it decides reviews in %s at p99, over the budget of %s", what, p99.Round(10*time.Microsecond), budget)}
	}
	state, err := m.Store.SetActive(ctx, set, version, action)
	if err != nil {
		return Activated{}, err
	}
	m.Log.Info("policy version activated", "set", set, "version", version, "action", action, "tests", len(results),
		"newly_denied", len(preview.NewlyDenied), "newly_allowed", len(preview.NewlyAllowed))
	m.activated.Store(&Loaded{Set: set, Version: version, Compiled: compiled})
	return Activated{SetState: state, Preview: preview}, m.Sync(ctx)
}

// TestVersion runs a stored version's tests.
func (m *Manager) TestVersion(ctx context.Context, set string, version int) ([]TestResult, error) {
	v, err := m.Store.Version(ctx, set, version)
	if err != nil {
		return nil, err
	}
	results, err := testWithin(ctx, v.Source, m.testTimeout())
	var ces CompileErrors
	if errors.As(err, &ces) {
		return nil, &RefusedError{Message: fmt.Sprintf("%s@%d does not compile", set, version), Compile: ces}
	}
	return results, err
}

// Sync makes the engine run the versions the database says are active. A
// version that was already loaded is reused, so an unchanged database
// costs one small query.
func (m *Manager) Sync(ctx context.Context) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	refs, err := m.Store.ActiveRefs(ctx)
	if err != nil {
		return err
	}
	current := m.Engine.Snapshot()
	if sameRefs(current, refs) {
		return nil
	}
	var sets []*Loaded
	var errs []error
	for _, ref := range refs {
		l, err := m.load(ctx, current, ref)
		if err != nil {
			errs = append(errs, err)
			if prev := current.loaded(ref.Set); prev != nil {
				sets = append(sets, prev) // keep deciding with what worked
			}
			continue
		}
		sets = append(sets, l)
	}
	next := newSnapshot(sets)
	if next.Revision != current.Revision {
		m.Log.Info("policy engine now runs", "revision", next.Revision, "previous", current.Revision)
	}
	m.Engine.install(next)
	return errors.Join(errs...)
}

// load returns the compiled version ref names, reusing the current one.
func (m *Manager) load(ctx context.Context, current *Snapshot, ref ActiveRef) (*Loaded, error) {
	if prev := current.loaded(ref.Set); prev != nil && prev.Version == ref.Version {
		return &Loaded{Set: ref.Set, Version: ref.Version, Generation: ref.Generation, Compiled: prev.Compiled}, nil
	}
	if a := m.activated.Load(); a != nil && a.Set == ref.Set && a.Version == ref.Version {
		return &Loaded{Set: ref.Set, Version: ref.Version, Generation: ref.Generation, Compiled: a.Compiled}, nil
	}
	v, err := m.Store.Version(ctx, ref.Set, ref.Version)
	if err != nil {
		return nil, err
	}
	c, err := Compile(ctx, v.Source)
	if err != nil {
		return nil, fmt.Errorf("compile active version %s@%d: %w", ref.Set, ref.Version, err)
	}
	return &Loaded{Set: ref.Set, Version: ref.Version, Generation: ref.Generation, Compiled: c}, nil
}

func sameRefs(s *Snapshot, refs []ActiveRef) bool {
	return slices.EqualFunc(s.Sets, refs, func(l *Loaded, r ActiveRef) bool {
		return l.Set == r.Set && l.Version == r.Version && l.Generation == r.Generation
	})
}

// Run syncs every interval until ctx is done. Failures (the database down)
// are logged once each; the engine keeps deciding with what it has.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := m.Sync(ctx)
		switch {
		case err != nil && err.Error() != m.lastSyncErr && ctx.Err() == nil:
			m.Log.Warn("policy sync failed; deciding with the loaded versions", "revision", m.Engine.Snapshot().Revision, "err", err)
			m.lastSyncErr = err.Error()
		case err == nil && m.lastSyncErr != "":
			m.Log.Info("policy sync recovered", "revision", m.Engine.Snapshot().Revision)
			m.lastSyncErr = ""
		}
	}
}

// checkSetName accepts lowercase DNS-label-like names.
func checkSetName(name string) error {
	ok := name != "" && len(name) <= 63
	for i, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(name)-1) {
			ok = false
		}
	}
	if !ok {
		return paved.Invalid("invalid policy set name", paved.Detail{Field: "set", Reason: fmt.Sprintf("%q is not 1-63 lowercase letters, digits and inner dashes", name)})
	}
	return nil
}

// SetDetail is a set with its active version's policies and parameters.
type SetDetail struct {
	SetState
	// Policies and Data describe the active version; empty when none is.
	Policies []Policy       `json:"policies"`
	Data     map[string]any `json:"data"`
	Recent   []Activation   `json:"recentActivations"`
}

// Describe returns a set, its active policies with their metadata, its
// parameters and its latest activations.
func (m *Manager) Describe(ctx context.Context, set string) (SetDetail, error) {
	state, err := m.Store.Set(ctx, set)
	if err != nil {
		return SetDetail{}, err
	}
	d := SetDetail{SetState: state, Policies: []Policy{}, Data: map[string]any{}}
	if d.Recent, err = m.Store.Activations(ctx, set, 10); err != nil {
		return SetDetail{}, err
	}
	if state.ActiveVersion == 0 {
		return d, nil
	}
	v, err := m.Store.Version(ctx, set, state.ActiveVersion)
	if err != nil {
		return SetDetail{}, err
	}
	if v.Source.Data != nil {
		d.Data = v.Source.Data
	}
	if l := m.Engine.Snapshot().loaded(set); l != nil && l.Version == state.ActiveVersion {
		d.Policies = l.Compiled.Policies
		return d, nil
	}
	c, err := Compile(ctx, v.Source)
	if err != nil {
		return SetDetail{}, fmt.Errorf("compile %s@%d: %w", set, state.ActiveVersion, err)
	}
	d.Policies = c.Policies
	return d, nil
}

// Decide evaluates input for target with the active policies and records
// the decision as coming from source.
func (m *Manager) Decide(ctx context.Context, target Target, input any, log *DecisionLog) (Outcome, string, error) {
	if err := CheckInput(target, input); err != nil {
		return Outcome{}, "", err
	}
	start := time.Now()
	snap := m.Engine.Snapshot()
	violations, err := snap.Evaluate(ctx, target, input)
	if err != nil {
		return Outcome{}, "", paved.Errorf(paved.CodeUnprocessable, "policy evaluation failed: %w", err)
	}
	o := Verdict(violations, snap.Revision)
	d := Decision{ID: NewDecisionID(), At: start, Source: "api", Target: target, Revision: snap.Revision,
		Allowed: o.Allowed, Violations: violations, Duration: time.Since(start)}
	doc, _ := input.(map[string]any)
	if req, ok := doc["request"].(map[string]any); ok {
		kind, _ := req["kind"].(map[string]any)
		d.Kind, _ = kind["kind"].(string)
		d.Namespace, _ = req["namespace"].(string)
		d.Operation, _ = req["operation"].(string)
		d.Name, _ = req["name"].(string)
		if d.Name == "" {
			d.Name = objectName(req["object"])
		}
	} else if svc, ok := doc["service"].(map[string]any); ok {
		d.Kind = "Service request"
		d.Name, _ = svc["name"].(string)
	}
	if log != nil {
		log.Record(d)
	}
	return o, d.ID, nil
}
