package policies_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/policies"
)

// smallSet is a set with one deny and one warn policy, and a test of each.
// testBody replaces the deny policy's test, to make it fail.
func smallSet(denyMsg, testBody string) policies.Source {
	if testBody == "" {
		testBody = `count(no_x.violation) == 1 with input as {"request": {"object": {"x": true}}}`
	}
	return policies.Source{Modules: map[string]string{
		"no_x/policy.rego": `# METADATA
# title: No x
# custom:
#   severity: high
#   targets: [admission]
package paved.policies.no_x

violation contains msg if {
	input.request.object.x
	msg := sprintf("` + denyMsg + ` (limit %v)", [data.params.no_x.limit])
}
`,
		"no_x/policy_test.rego": "package paved.policies.no_x_test\n\nimport data.paved.policies.no_x\n\ntest_x if " + testBody + "\n",
		"warn_y/policy.rego": `# METADATA
# title: Warn y
# custom:
#   enforcement: warn
#   targets: [admission]
package paved.policies.warn_y

violation contains "y is deprecated" if input.request.object.y
`,
		"warn_y/policy_test.rego": "package paved.policies.warn_y_test\n\nimport data.paved.policies.warn_y\n\n" +
			"test_y if count(warn_y.violation) == 1 with input as {\"request\": {\"object\": {\"y\": true}}}\n",
	}, Data: map[string]any{"no_x": map[string]any{"limit": 3}}}
}

func newManager(t *testing.T, db *database.DB) *policies.Manager {
	return &policies.Manager{Store: policies.NewStore(db), Engine: policies.NewEngine(), Log: testsupport.DiscardLogger()}
}

func objectReview(obj map[string]any) map[string]any {
	return map[string]any{"request": map[string]any{"operation": "CREATE", "object": obj}}
}

func decide(t *testing.T, m *policies.Manager, obj map[string]any) policies.Outcome {
	t.Helper()
	o, _, err := m.Decide(context.Background(), policies.Admission, objectReview(obj), nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestPolicyLifecycle(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		m := newManager(t, testsupport.OpenDB(t, dialect))

		// First start installs and activates the library.
		if err := m.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
		if rev := m.Engine.Snapshot().Revision; rev != "default@1" {
			t.Fatalf("revision after bootstrap = %q, want default@1", rev)
		}
		if err := m.Bootstrap(ctx); err != nil { // a second start installs nothing
			t.Fatal(err)
		}

		// A version that does not compile is refused with positions and
		// not stored.
		broken := smallSet("x", "")
		broken.Modules["no_x/policy.rego"] += "\nbroken := \n"
		_, err := m.CreateVersion(ctx, "default", broken, "broken")
		var ref *policies.RefusedError
		if !errors.As(err, &ref) || len(ref.Compile) == 0 || ref.Compile[0].File != "no_x/policy.rego" || ref.Compile[0].Row == 0 {
			t.Fatalf("broken version: err = %v, want compile errors with positions", err)
		}
		if paved.ErrorCode(err) != paved.CodeUnprocessable {
			t.Fatalf("code = %s, want unprocessable", paved.ErrorCode(err))
		}
		if vs, _ := m.Store.Versions(ctx, "default"); len(vs) != 1 {
			t.Fatalf("versions after a refused one = %d, want 1", len(vs))
		}

		// Version 2 compiles; it decides only once activated.
		v2, err := m.CreateVersion(ctx, "default", smallSet("x is forbidden", ""), "small set")
		if err != nil || v2 != 2 {
			t.Fatalf("create: %d, %v", v2, err)
		}
		if o := decide(t, m, map[string]any{"x": true}); !o.Allowed {
			t.Fatalf("x denied before version 2 is active: %+v", o)
		}
		if _, err := m.Activate(ctx, "default", v2, "activate"); err != nil {
			t.Fatal(err)
		}
		o := decide(t, m, map[string]any{"x": true, "y": true})
		if o.Allowed || o.Revision != "default@2" || len(o.Warnings) != 1 || o.Warnings[0] != "[warn_y] y is deprecated" ||
			len(o.Violations) != 2 || o.Violations[0].Message != "x is forbidden (limit 3)" {
			t.Fatalf("outcome with version 2 = %+v", o)
		}

		// Version 3 compiles but fails its test: stored, not activated.
		v3, err := m.CreateVersion(ctx, "default", smallSet("x!", "count(no_x.violation) == 2"), "failing test")
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Activate(ctx, "default", v3, "activate")
		if !errors.As(err, &ref) || len(ref.FailedTests) != 1 || ref.FailedTests[0].Name != "data.paved.policies.no_x_test.test_x" {
			t.Fatalf("activating a version whose test fails: %v", err)
		}
		if rev := m.Engine.Snapshot().Revision; rev != "default@2" {
			t.Fatalf("revision after a refused activation = %s, want default@2", rev)
		}

		// Roll back to the library.
		state, err := m.Activate(ctx, "default", 1, "rollback")
		if err != nil || state.ActiveVersion != 1 {
			t.Fatalf("rollback: %+v, %v", state, err)
		}
		if o := decide(t, m, map[string]any{"x": true}); !o.Allowed || o.Revision != "default@1" {
			t.Fatalf("after rollback: %+v", o)
		}
		acts, err := m.Store.Activations(ctx, "default", 10)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%s %d %d %s %d %d %d", acts[0].Action, acts[0].Version, acts[0].PreviousVersion, acts[1].Action, acts[1].Version, acts[1].PreviousVersion, len(acts))
		if got != "rollback 1 2 activate 2 1 3" {
			t.Fatalf("activation history = %s", got)
		}

		// Diff between versions 2 and 3: the policy and its test changed.
		a, _ := m.Store.Version(ctx, "default", 2)
		b, _ := m.Store.Version(ctx, "default", 3)
		d, err := policies.Diff(a, b)
		if err != nil || len(d.Files) != 2 || d.Files[0].File != "no_x/policy.rego" || !strings.Contains(d.Files[0].Unified, "+\tmsg := sprintf(\"x! (limit") {
			t.Fatalf("diff = %+v, %v", d, err)
		}

		// Unknown sets and versions are not found.
		if _, err := m.Activate(ctx, "default", 9, "activate"); paved.ErrorCode(err) != paved.CodeNotFound {
			t.Fatalf("activate v9: %v", err)
		}
		if _, err := m.CreateVersion(ctx, "Bad Name", smallSet("x", ""), ""); paved.ErrorCode(err) != paved.CodeInvalid {
			t.Fatalf("bad set name: %v", err)
		}
	})
}

// Replicas share the database: an activation on one reaches the others at
// their next sync, within the 2 s the issue allows at the default interval.
func TestReplicasFollowActivation(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		db := testsupport.OpenDB(t, dialect)
		a, b := newManager(t, db), newManager(t, db)
		if err := a.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
		go b.Run(ctx, time.Second) // the default policy-sync-interval

		v, err := a.CreateVersion(ctx, "default", smallSet("x", ""), "")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := a.Activate(ctx, "default", v, "activate"); err != nil {
			t.Fatal(err)
		}
		for b.Engine.Snapshot().Revision != "default@2" {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("replica b still runs %s 2 s after the activation", b.Engine.Snapshot().Revision)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Re-activating the same version is noticed too (generation).
		if _, err := a.Activate(ctx, "default", 1, "rollback"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Activate(ctx, "default", v, "activate"); err != nil {
			t.Fatal(err)
		}
		if err := b.Sync(ctx); err != nil || b.Engine.Snapshot().Sets[0].Generation != 4 {
			t.Fatalf("generation after two more activations: %+v, %v", b.Engine.Snapshot().Sets[0], err)
		}
	})
}

// With the database gone, sync fails but decisions go on with the loaded
// versions.
func TestDecidesWithTheDatabaseDown(t *testing.T) {
	ctx := context.Background()
	db := testsupport.OpenDB(t, database.SQLite)
	m := newManager(t, db)
	if err := m.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	db.SQL.Close()
	if err := m.Sync(ctx); err == nil {
		t.Fatal("sync with a closed database succeeded")
	}
	if o := decide(t, m, map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": map[string]any{"containers": []any{map[string]any{"name": "a", "image": "nginx:latest"}}}}); o.Allowed || o.Revision != "default@1" {
		t.Fatalf("decision with the database down: %+v", o)
	}
}

// The activation gate: a version whose modules are not all covered by
// tests is refused (a one-module version without rules or tests used to
// replace the whole library), and a test run has an overall deadline.
func TestActivationGate(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, testsupport.OpenDB(t, database.SQLite))
	if err := m.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	empty := policies.Source{Modules: map[string]string{"nothing.rego": "package nothing\n"}}
	v, err := m.CreateVersion(ctx, "default", empty, "nothing at all")
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Activate(ctx, "default", v, "activate")
	if paved.ErrorCode(err) != paved.CodeUnprocessable || !strings.Contains(err.Error(), "every policy module needs tests; none cover nothing.rego") {
		t.Fatalf("activating an untested module: %v", err)
	}
	if rev := m.Engine.Snapshot().Revision; rev != "default@1" {
		t.Fatalf("revision = %s, want the library still deciding", rev)
	}
	// Tests that do not finish in time refuse the version.
	slow := smallSet("x is forbidden", "count([y | some y in numbers.range(1, 100000000)]) > 0")
	slow.Modules["no_x/policy_test.rego"] += "\ntest_x_again if count(no_x.violation) == 1 with input as {\"request\": {\"object\": {\"x\": true}}}\n"
	v, err = m.CreateVersion(ctx, "default", slow, "slow tests")
	if err != nil {
		t.Fatal(err)
	}
	m.TestTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err = m.Activate(ctx, "default", v, "activate")
	if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms") || time.Since(start) > 10*time.Second {
		t.Fatalf("slow tests: %v after %s, want refused at the deadline", err, time.Since(start))
	}
	if _, err := m.TestVersion(ctx, "default", v); err == nil || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Fatalf("POST .../test of slow tests: %v", err)
	}
	m.TestTimeout = 0

	// A version that decides too slowly is refused: the sample reviews
	// take it over the latency budget.
	sluggish := smallSet("x is forbidden", "")
	sluggish.Modules["no_x/policy.rego"] += "\nviolation contains \"slow\" if {\n\tcount([y | some y in numbers.range(1, 400000); y < 0]) > 0\n}\n"
	v, err = m.CreateVersion(ctx, "default", sluggish, "sluggish")
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Activate(ctx, "default", v, "activate")
	if paved.ErrorCode(err) != paved.CodeUnprocessable || !strings.Contains(err.Error(), "at p99, over the budget of 5ms") {
		t.Fatalf("a slow version: %v, want refused over the latency budget", err)
	}
	// The same version passes a budget it meets, and the answer carries
	// the preview with the candidate's p99.
	m.LatencyBudget = time.Minute
	a, err := m.Activate(ctx, "default", v, "activate")
	if err != nil || a.ActiveVersion != v || a.Preview.Against != "default@1" || a.Preview.CandidateP99 != 0 {
		t.Fatalf("activation = %+v, %v", a, err)
	}
}
