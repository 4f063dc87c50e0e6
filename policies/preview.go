package policies

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// PreviewChange is one input whose admission verdict a version changes.
type PreviewChange struct {
	// Source is "logged" (a recent admission review) or "live" (an object
	// in the cluster now).
	Source    string `json:"source"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Violations are the denying violations: the candidate's for a newly
	// denied input, the active version's for a newly allowed one.
	Violations []Violation `json:"violations"`
}

// Preview reports what activating a version would change at admission.
type Preview struct {
	Set     string `json:"set"`
	Version int    `json:"version"`
	// Against is the revision compared with: the set's active version, or
	// empty when none is active (then nothing was denied by it).
	Against string `json:"against"`
	Logged  int    `json:"loggedInputs"`
	Live    int    `json:"liveObjects"`
	// Cluster says whether live objects were read: "ok", "not configured"
	// or the error that prevented it.
	Cluster      string          `json:"cluster"`
	NewlyDenied  []PreviewChange `json:"newlyDenied"`
	NewlyAllowed []PreviewChange `json:"newlyAllowed"`
	// Unchanged counts inputs whose verdict stays the same.
	Unchanged int `json:"unchanged"`
	// CandidateP99 is the 99th percentile of the version's time to decide
	// one input (the best of three tries each, so scheduling noise does
	// not count); zero without inputs.
	CandidateP99 time.Duration `json:"candidateP99Ns"`
	durations    []time.Duration
}

// previewInput is one input to replay.
type previewInput struct {
	source, kind, namespace, name string
	input                         any
}

// Preview replays the last samples logged admission reviews (stored
// whole, as received) and the live
// objects (when live is not nil) against version and against the set's
// active version, and reports the inputs whose verdict differs.
func (m *Manager) Preview(ctx context.Context, set string, version, samples int, live ObjectLister) (Preview, error) {
	v, err := m.Store.Version(ctx, set, version)
	if err != nil {
		return Preview{}, err
	}
	candidate, err := compileOrRefuse(ctx, v.Source, fmt.Sprintf("%s@%d", set, version))
	if err != nil {
		return Preview{}, err
	}
	return m.preview(ctx, candidate, set, version, samples, live)
}

// preview is Preview of a compiled candidate.
func (m *Manager) preview(ctx context.Context, candidate *Compiled, set string, version, samples int, live ObjectLister) (Preview, error) {
	p := Preview{Set: set, Version: version, NewlyDenied: []PreviewChange{}, NewlyAllowed: []PreviewChange{}, Cluster: "not configured"}
	var active *Compiled
	if l := m.Engine.Snapshot().loaded(set); l != nil {
		active, p.Against = l.Compiled, fmt.Sprintf("%s@%d", l.Set, l.Version)
	}
	inputs, err := m.previewInputs(ctx, samples, live, &p)
	if err != nil {
		return Preview{}, err
	}
	for _, in := range inputs {
		after, took, err := timedEvaluate(ctx, candidate, in.input)
		p.durations = append(p.durations, took)
		if err != nil {
			after = []Violation{{Policy: "paved", Message: "evaluation failed: " + err.Error(), Enforcement: Deny, Severity: "high"}}
		}
		var before []Violation
		if active != nil {
			if before, err = active.Evaluate(ctx, Admission, in.input); err != nil {
				before = []Violation{{Policy: "paved", Message: "evaluation failed: " + err.Error(), Enforcement: Deny, Severity: "high"}}
			}
		}
		wasDenied, isDenied := denies(before), denies(after)
		change := PreviewChange{Source: in.source, Kind: in.kind, Namespace: in.namespace, Name: in.name}
		switch {
		case isDenied && !wasDenied:
			change.Violations = denying(after)
			p.NewlyDenied = append(p.NewlyDenied, change)
		case wasDenied && !isDenied:
			change.Violations = denying(before)
			p.NewlyAllowed = append(p.NewlyAllowed, change)
		default:
			p.Unchanged++
		}
	}
	p.CandidateP99 = percentile(p.durations, 0.99)
	return p, nil
}

// timedEvaluate evaluates input three times and returns the violations
// and the fastest time.
func timedEvaluate(ctx context.Context, c *Compiled, input any) ([]Violation, time.Duration, error) {
	var best time.Duration
	var vs []Violation
	var err error
	for i := range 3 {
		start := time.Now()
		vs, err = c.Evaluate(ctx, Admission, input)
		if took := time.Since(start); i == 0 || took < best {
			best = took
		}
	}
	return vs, best, err
}

// percentile is the q-th quantile of ds (nearest rank), zero when empty.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func (m *Manager) previewInputs(ctx context.Context, samples int, live ObjectLister, p *Preview) ([]previewInput, error) {
	logged, err := m.Store.Samples(ctx, samples)
	if err != nil {
		return nil, err
	}
	var inputs []previewInput
	for _, raw := range logged {
		var doc map[string]any
		if err := util.UnmarshalJSON(raw, &doc); err != nil {
			continue // a sample that cannot be read is no evidence either way
		}
		req, ok := doc["request"].(map[string]any)
		if !ok {
			continue
		}
		in := previewInput{source: "logged", input: map[string]any{"request": req}}
		kind, _ := req["kind"].(map[string]any)
		in.kind, _ = kind["kind"].(string)
		in.namespace, _ = req["namespace"].(string)
		in.name, _ = req["name"].(string)
		if in.name == "" {
			in.name = objectName(req["object"])
		}
		inputs = append(inputs, in)
	}
	p.Logged = len(inputs)
	if live == nil {
		return inputs, nil
	}
	objs, err := live.ListObjects(ctx)
	if err != nil {
		p.Cluster = "live objects could not be listed: " + err.Error()
		return inputs, nil
	}
	p.Cluster, p.Live = "ok", len(objs)
	for _, obj := range objs {
		// Round-trip through JSON so numbers are json.Number, as in reviews.
		b, _ := json.Marshal(obj)
		var norm map[string]any
		if err := util.UnmarshalJSON(b, &norm); err != nil {
			continue
		}
		u := unstructured.Unstructured{Object: obj}
		inputs = append(inputs, previewInput{source: "live", kind: u.GetKind(), namespace: u.GetNamespace(), name: u.GetName(), input: ObjectInput(norm)})
	}
	return inputs, nil
}

func denies(vs []Violation) bool { return len(denying(vs)) > 0 }

func denying(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Enforcement == Deny {
			out = append(out, v)
		}
	}
	return out
}

// sampleReviews are admission reviews every version must decide within
// the latency budget before it is activated, besides the logged ones.
//
//go:embed samples/*.json
var sampleReviews embed.FS

// sampleLatencies are the candidate's times to decide the built-in sample
// reviews.
func sampleLatencies(ctx context.Context, c *Compiled) ([]time.Duration, error) {
	entries, err := sampleReviews.ReadDir("samples")
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for _, e := range entries {
		body, err := sampleReviews.ReadFile("samples/" + e.Name())
		if err != nil {
			return nil, err
		}
		r, err := ParseReview(body)
		if err != nil {
			return nil, fmt.Errorf("sample %s: %w", e.Name(), err)
		}
		_, took, _ := timedEvaluate(ctx, c, r.Input) // an evaluation error counts as its time
		out = append(out, took)
	}
	return out, nil
}
