package catalog

import (
	"context"
	"crypto/sha1" //nolint:gosec // Backstage's naming of generated Location entities, not security
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/paved-dev/paved"
)

// Ingester reads locations and applies what they hold to the store.
type Ingester struct {
	Store *Store
	Fetch Fetcher
	// Policy says what may be read and which kinds accepted; nil reads
	// nothing.
	Policy *Policy
	Apply  ApplyOptions
	Log    *slog.Logger
	// Interval is the time between scheduled refreshes of a location
	// (default 5 minutes), jittered by up to a fifth either way.
	Interval time.Duration
	// SpoolDir holds what a refresh read until it is applied (default:
	// the system's temporary directory).
	SpoolDir string
	// Check, when set, judges each valid entity further (the scaffolder
	// checks Templates: they parse, their actions exist); its errors make
	// the entity fail like a schema error: reported on the location, on
	// the stored entity's status.items, and the entity not updated.
	Check func(Raw) []FieldError
}

// maxLocationDepth bounds Location entities pointing at Location entities.
const maxLocationDepth = 10

// read is what reading a location tree produced. Entities go to the spool
// when there is one (a refresh), else into emitted (a dry run).
type read struct {
	emitted  Emitted
	spool    *spool
	problems []string
	hash     string
}

// RefreshResult says what a refresh did.
type RefreshResult struct {
	Skipped bool // content unchanged since the last refresh
	Applied ApplyResult
	// Problems are documents that could not become entities.
	Problems []string
}

// Refresh reads loc and applies it. A location that cannot be read keeps its
// entities and records the reason; unchanged content is skipped unless
// force is set.
func (in *Ingester) Refresh(ctx context.Context, loc *Location, force bool) (RefreshResult, error) {
	sp, err := newSpool(in.SpoolDir)
	if err != nil {
		return RefreshResult{}, err
	}
	defer sp.close()
	r := read{spool: sp}
	err = in.read(ctx, loc, &r)
	next := in.nextRefresh()
	if err != nil {
		if rerr := in.Store.RecordRefresh(ctx, loc.ID, "", err, next); rerr != nil {
			return RefreshResult{}, rerr
		}
		return RefreshResult{}, err
	}
	if !force && r.hash == loc.ContentHash {
		return RefreshResult{Skipped: true}, in.Store.RecordRefresh(ctx, loc.ID, r.hash, nil, next)
	}
	applied, err := in.Store.applyEmissions(ctx, loc, sp.batches, r.emitted.Failed, in.Apply)
	if err != nil {
		return RefreshResult{}, err
	}
	problems := r.problems
	for _, c := range applied.Conflicts {
		problems = append(problems, c+": already provided by another location")
	}
	var problem error
	if len(problems) > 0 {
		problem = fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	if err := in.Store.RecordRefresh(ctx, loc.ID, r.hash, problem, next); err != nil {
		return RefreshResult{}, err
	}
	return RefreshResult{Applied: applied, Problems: problems}, nil
}

// DryRun reads a location without storing anything, as POST /locations?dryRun=true does.
func (in *Ingester) DryRun(ctx context.Context, typ, target string) (Emitted, []string, error) {
	var r read
	err := in.read(ctx, &Location{Type: typ, Target: target}, &r)
	return r.emitted, r.problems, err
}

func (in *Ingester) nextRefresh() time.Time {
	interval := in.Interval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(interval))
	return in.Store.Now().Add(interval + jitter)
}

// policy is the ingester's policy, or the zero one.
func (in *Ingester) policy() *Policy {
	if in.Policy == nil {
		return &Policy{}
	}
	return in.Policy
}

// CheckTarget reports whether a location's target may be read, as
// Policy.CheckTarget does.
func (in *Ingester) CheckTarget(target string) error { return in.policy().CheckTarget(target) }

func (in *Ingester) read(ctx context.Context, loc *Location, r *read) error {
	h := sha256.New()
	seen := map[string]bool{}
	policy := in.policy()
	fetch := guarded{policy, session(in.Fetch)}
	var walk func(target string, depth int) error
	walk = func(target string, depth int) error {
		if seen[target] {
			return nil
		}
		seen[target] = true
		data, err := fetch.Fetch(ctx, target)
		if err != nil {
			return fmt.Errorf("read %s: %w", redactURL(target), err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", target, len(data))
		h.Write(data)
		children, err := readFile(ctx, fileRead{fetch: fetch, target: target, loc: loc, policy: policy, check: in.Check}, data, r, h)
		if err != nil {
			return err
		}
		if depth >= maxLocationDepth && len(children) > 0 {
			return fmt.Errorf("%s: Location entities nested more than %d deep", redactURL(target), maxLocationDepth)
		}
		for _, c := range children {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(loc.Target, 0)
	r.hash = hex.EncodeToString(h.Sum(nil))
	if err == nil {
		err = r.emit(GeneratedLocation(loc), loc.Type+":"+loc.PublicTarget())
	}
	return err
}

// emit adds an entity read from source.
func (r *read) emit(raw Raw, source string) error {
	if r.spool != nil {
		return r.spool.add(raw, source)
	}
	r.emitted.Entities = append(r.emitted.Entities, raw)
	if r.emitted.Sources == nil {
		r.emitted.Sources = map[string]string{}
	}
	r.emitted.Sources[raw.Ref().String()] = source
	return nil
}

// sourceOf is the managed-by-location value of a file of a location tree.
func sourceOf(target string) string {
	if !strings.Contains(target, "://") {
		return LocationFile + ":" + target
	}
	return LocationURL + ":" + redactURL(target)
}

// GeneratedLocation is the Location entity Backstage creates for a
// registered location: location:default/generated-<sha1 of type:target>
// (the target without credentials here, so the name does not change with
// a token).
func GeneratedLocation(loc *Location) Raw {
	sum := sha1.Sum([]byte(loc.Type + ":" + loc.PublicTarget()))
	return Raw{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "Location",
		"metadata":   map[string]any{"name": "generated-" + hex.EncodeToString(sum[:]), "namespace": DefaultNamespace},
		"spec":       map[string]any{"type": loc.Type, "target": loc.PublicTarget()},
	}
}

// fileRead is one file of a location tree being read.
type fileRead struct {
	fetch  Fetcher
	target string
	loc    *Location
	policy *Policy
	check  func(Raw) []FieldError
}

// readFile turns one file into entities and returns the targets of the
// Location entities in it.
func readFile(ctx context.Context, f fileRead, data []byte, r *read, h io.Writer) ([]string, error) {
	target := redactURL(f.target) // in messages
	docs, err := ParseDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	var children []string
	for _, d := range docs {
		if err := entityShaped(d); err != nil {
			r.problems = append(r.problems, fmt.Sprintf("%s document %d: %v", target, d.Index, err))
			continue
		}
		resolved, err := ResolvePlaceholders(ctx, d.Value, placeholderFetcher{f.fetch, f.target, h})
		if err != nil {
			r.problems = append(r.problems, fmt.Sprintf("%s document %d: %v", target, d.Index, err))
			continue
		}
		raw, errs := NewRaw(resolved)
		if errs == nil {
			_, errs = Edges(raw)
		}
		if errs == nil && f.check != nil {
			errs = f.check(raw)
		}
		if len(errs) > 0 {
			r.problems = append(r.problems, describeFailure(target, &d, errs))
			if ref, ok := refOf(resolved); ok {
				r.emitted.Failed = append(r.emitted.Failed, FailedEntity{Ref: ref, Errors: errs})
			}
			continue
		}
		if err := f.policy.KindAllowed(raw.Ref().Kind, f.loc); err != nil {
			r.problems = append(r.problems, fmt.Sprintf("%s document %d: %s", target, d.Index, paved.ErrorMessage(err)))
			continue
		}
		sortRelationLists(raw.Spec())
		if err := r.emit(raw, sourceOf(f.target)); err != nil {
			return nil, err
		}
		if kindKey(raw.Ref().Kind) == "location" {
			children = append(children, locationTargets(f.target, raw.Spec())...)
		}
	}
	return children, nil
}

// entityShaped refuses documents that cannot be entities (a file that is
// not a catalog file: a key, a password file), saying what they are and
// where, never what they hold.
func entityShaped(d Document) error {
	m, ok := d.Value.(map[string]any)
	if !ok {
		return fmt.Errorf("line %d: not a catalog entity: a YAML %s, not a mapping", d.Position("").Line, yamlKind(d.Value))
	}
	// A mapping with none of the envelope's keys is some other file; its
	// keys may be its content, so it is not validated (which would quote
	// them). One with any of them is a descriptor, judged field by field.
	for _, key := range []string{"apiVersion", "kind", "metadata"} {
		if _, ok := m[key]; ok {
			return nil
		}
	}
	return fmt.Errorf("line %d: not a catalog entity: no apiVersion, kind or metadata", d.Position("").Line)
}

func yamlKind(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64:
		return "number"
	}
	return "value"
}

func describeFailure(target string, d *Document, errs []FieldError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = fmt.Sprintf("line %d: %s", d.Position(e.Pointer).Line, e)
	}
	return fmt.Sprintf("%s document %d: %s", target, d.Index, strings.Join(parts, "; "))
}

// refOf returns the reference of an invalid descriptor if it names one.
func refOf(v any) (Ref, bool) {
	m, _ := v.(map[string]any)
	meta, _ := m["metadata"].(map[string]any)
	kind, _ := m["kind"].(string)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if kind == "" || name == "" {
		return Ref{}, false
	}
	if ns == "" {
		ns = DefaultNamespace
	}
	return Ref{Kind: kind, Namespace: ns, Name: name}, true
}

func locationTargets(base string, spec map[string]any) []string {
	var out []string
	if t, ok := spec["target"].(string); ok {
		out = append(out, resolveTarget(base, t))
	}
	for _, t := range refsIn(spec["targets"]) {
		out = append(out, resolveTarget(base, t))
	}
	return out
}

// notJSON says where a document stops being JSON, without quoting it.
func notJSON(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not JSON (at byte %d)", se.Offset)
	}
	return errors.New("not JSON")
}

// placeholderFetcher resolves $text, $json and $yaml relative to the file
// they appear in; their content counts towards the location's hash.
type placeholderFetcher struct {
	fetch Fetcher
	base  string
	hash  io.Writer
}

func (p placeholderFetcher) Resolve(ctx context.Context, ph Placeholder) (any, error) {
	data, err := p.fetch.Fetch(ctx, resolveTarget(p.base, ph.Target))
	if err != nil {
		return nil, err
	}
	p.hash.Write(data)
	switch ph.Kind {
	case PlaceholderJSON:
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, notJSON(err) // never the bytes read
		}
		return v, nil
	case PlaceholderYAML:
		docs, err := ParseDocuments(data)
		if err != nil {
			return nil, err
		}
		if len(docs) != 1 {
			return nil, fmt.Errorf("want one YAML document, found %d", len(docs))
		}
		return docs[0].Value, nil
	}
	return string(data), nil
}
