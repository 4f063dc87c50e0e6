package policies_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/policies"
)

func TestDecisionLogWritesAndQueries(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx, cancel := context.WithCancel(context.Background())
		store := policies.NewStore(testsupport.OpenDB(t, dialect))
		log := policies.NewDecisionLog(store, testsupport.DiscardLogger(), 100, time.Hour)
		done := make(chan struct{})
		go func() { log.Run(ctx); close(done) }()

		base := time.Now().UTC().Truncate(time.Millisecond)
		for i := range 7 {
			d := policies.Decision{ID: fmt.Sprintf("d%d", i), At: base.Add(time.Duration(i) * time.Second), Source: "admission",
				Target: policies.Admission, Kind: "Deployment", Namespace: "team-a", Name: fmt.Sprintf("web-%d", i),
				Operation: "CREATE", User: "alice", Revision: "default@1", Allowed: i%2 == 0, Duration: 1500 * time.Microsecond,
				SampleKey: "Deployment/team-a/web", SampleInput: json.RawMessage(fmt.Sprintf(`{"uid":"%d"}`, i))}
			if !d.Allowed {
				d.Violations = []policies.Violation{{Policy: "no_latest_tag", Message: "m", Severity: "high", Enforcement: policies.Deny}}
			}
			log.Record(d)
		}
		log.Record(policies.Decision{ID: "api1", At: base.Add(10 * time.Second), Source: "api", Target: policies.Service, Allowed: true})
		// Cancelling drains what is queued.
		cancel()
		<-done
		if log.Written() != 8 || log.Dropped() != 0 {
			t.Fatalf("written %d, dropped %d; want 8, 0", log.Written(), log.Dropped())
		}

		page, err := store.Decisions(context.Background(), policies.DecisionFilter{Source: "admission", Limit: 3})
		if err != nil || len(page.Items) != 3 || page.Items[0].ID != "d6" || page.NextCursor == "" {
			t.Fatalf("first page: %+v, %v", page, err)
		}
		if d := page.Items[0]; d.Duration != 1500*time.Microsecond || d.User != "alice" || !d.At.Equal(base.Add(6*time.Second)) {
			t.Fatalf("decision read back = %+v", d)
		}
		var ids []string
		for cursor := ""; ; {
			p, err := store.Decisions(context.Background(), policies.DecisionFilter{Source: "admission", Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range p.Items {
				ids = append(ids, d.ID)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if fmt.Sprint(ids) != "[d6 d5 d4 d3 d2 d1 d0]" {
			t.Fatalf("paged ids = %v", ids)
		}
		denied := false
		page, err = store.Decisions(context.Background(), policies.DecisionFilter{Allowed: &denied, Policy: "no_latest_tag"})
		if err != nil || len(page.Items) != 3 || page.Items[0].Violations[0].Policy != "no_latest_tag" {
			t.Fatalf("denied by no_latest_tag: %+v, %v", page, err)
		}
		page, err = store.Decisions(context.Background(), policies.DecisionFilter{Since: base.Add(5 * time.Second), Until: base.Add(7 * time.Second)})
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("time window: %+v, %v", page, err)
		}
		if _, err := store.Decisions(context.Background(), policies.DecisionFilter{Cursor: "nope"}); paved.ErrorCode(err) != paved.CodeInvalid {
			t.Fatalf("bad cursor: %v", err)
		}
		if _, err := store.Decisions(context.Background(), policies.DecisionFilter{Policy: "x%"}); paved.ErrorCode(err) != paved.CodeInvalid {
			t.Fatalf("bad policy filter: %v", err)
		}

		// One sample per object: the newest.
		samples, err := store.Samples(context.Background(), 10)
		if err != nil || len(samples) != 1 || string(samples[0]) != `{"uid":"6"}` {
			t.Fatalf("samples = %s, %v", samples, err)
		}

		// Retention.
		n, err := store.DeleteDecisionsBefore(context.Background(), base.Add(3*time.Second))
		if err != nil || n != 3 {
			t.Fatalf("deleted %d, %v; want 3", n, err)
		}
	})
}

// A full queue drops decisions and counts them; Record never blocks.
func TestDecisionLogDropsWhenFull(t *testing.T) {
	store := policies.NewStore(testsupport.OpenDB(t, database.SQLite))
	log := policies.NewDecisionLog(store, testsupport.DiscardLogger(), 2, time.Hour)
	for i := range 5 {
		log.Record(policies.Decision{ID: fmt.Sprint(i)}) // nothing is draining the queue
	}
	if log.Dropped() != 3 {
		t.Fatalf("dropped = %d, want 3", log.Dropped())
	}
}

type objectList []map[string]any

func (l objectList) ListObjects(context.Context) ([]map[string]any, error) { return l, nil }

func TestAuditStoresViolationsPerObject(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		m := newManager(t, testsupport.OpenDB(t, dialect))
		if err := m.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
		good := goldenPath()["request"].(map[string]any)["object"].(map[string]any)
		bad := map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "edge", "namespace": "team-a",
			"labels": map[string]any{"app.kubernetes.io/name": "edge", "team": "a"}},
			"spec": map[string]any{"type": "NodePort"}}
		a := &policies.Auditor{Store: m.Store, Engine: m.Engine, Objects: objectList{good, bad}, Log: testsupport.DiscardLogger()}
		run, err := a.Run(ctx)
		if err != nil || run.Objects != 2 || run.Violating != 1 || run.Revision != "default@1" {
			t.Fatalf("run = %+v, %v", run, err)
		}
		rep, err := m.Store.Audit(ctx, policies.AuditFilter{Limit: 10})
		if err != nil || rep.Run == nil || rep.TotalItems != 1 || rep.Items[0].Name != "edge" || rep.Items[0].Violations[0].Policy != "service_types" {
			t.Fatalf("report = %+v, %v", rep, err)
		}
		if rep, _ := m.Store.Audit(ctx, policies.AuditFilter{Limit: 10, Namespace: "other"}); rep.TotalItems != 0 {
			t.Fatalf("namespace filter: %+v", rep)
		}
		// A second run replaces the results.
		a.Objects = objectList{good}
		if _, err := a.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if rep, _ := m.Store.Audit(ctx, policies.AuditFilter{Limit: 10}); rep.TotalItems != 0 || rep.Run.Objects != 1 {
			t.Fatalf("after a clean run: %+v", rep)
		}
	})
}
