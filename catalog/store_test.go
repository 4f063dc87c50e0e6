package catalog_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// mustRaws parses and validates descriptors for tests.
func mustRaws(t *testing.T, yaml string) []catalog.Raw {
	t.Helper()
	docs, err := catalog.ParseDocuments([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	var out []catalog.Raw
	for _, d := range docs {
		raw, errs := catalog.NewRaw(d.Value)
		if errs != nil {
			t.Fatalf("document %d: %v", d.Index, errs)
		}
		out = append(out, raw)
	}
	return out
}

const shopYAML = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments, title: Payments}
spec: {type: service, lifecycle: production, owner: team-a, providesApis: [payments-api]}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: payments-api}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: "openapi: 3.0.0"}
`

func newStore(t *testing.T, dialect database.Dialect) (*catalog.Store, *catalog.Location) {
	t.Helper()
	s := catalog.NewStore(testsupport.OpenDB(t, dialect))
	loc, err := s.CreateLocation(context.Background(), "url", "https://git.example.com/shop/catalog-info.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s, loc
}

func relationsOf(raw catalog.Raw) []string {
	var out []string
	for _, r := range raw["relations"].([]catalog.Relation) {
		out = append(out, r.Type+" "+r.TargetRef)
	}
	return out
}

func TestApplyLocation(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		s, loc := newStore(t, dialect)
		res, err := s.ApplyLocation(ctx, loc, catalog.Emitted{Entities: mustRaws(t, shopYAML)}, catalog.ApplyOptions{})
		if err != nil || res.Added != 3 {
			t.Fatalf("first apply = %+v, %v; want 3 added", res, err)
		}

		group, err := s.EntityByRef(ctx, catalog.MustParseRef("Group:default/Team-A"))
		if err != nil {
			t.Fatal(err)
		}
		// The group declares nothing; both edges come from the others.
		want := []string{"ownerOf api:default/payments-api", "ownerOf component:default/payments"}
		if got := relationsOf(group); !reflect.DeepEqual(got, want) {
			t.Fatalf("group relations = %v, want %v", got, want)
		}
		if ann := group.Metadata()["annotations"].(map[string]any); ann[catalog.AnnotationLocation] != "url:"+loc.Target {
			t.Fatalf("annotations = %v, want the managed-by-location", ann)
		}

		res, err = s.ApplyLocation(ctx, loc, catalog.Emitted{Entities: mustRaws(t, shopYAML)}, catalog.ApplyOptions{})
		if err != nil || !reflect.DeepEqual(res, catalog.ApplyResult{Unchanged: 3}) {
			t.Fatalf("identical apply = %+v, %v; want 3 unchanged", res, err)
		}

		// Drop the API: it becomes an orphan, kept and marked.
		res, err = s.ApplyLocation(ctx, loc, catalog.Emitted{Entities: mustRaws(t, shopYAML)[:2]}, catalog.ApplyOptions{})
		if err != nil || res.Orphaned != 1 || res.Unchanged != 2 {
			t.Fatalf("apply without the API = %+v, %v", res, err)
		}
		api, err := s.EntityByRef(ctx, catalog.MustParseRef("api:payments-api"))
		if err != nil {
			t.Fatal(err)
		}
		if ann := api.Metadata()["annotations"].(map[string]any); ann[catalog.AnnotationOrphan] != "true" {
			t.Fatalf("orphan annotations = %v", ann)
		}

		// Another location claiming the component gets a conflict.
		other, err := s.CreateLocation(ctx, "file", "/srv/other/catalog-info.yaml")
		if err != nil {
			t.Fatal(err)
		}
		res, err = s.ApplyLocation(ctx, other, catalog.Emitted{Entities: mustRaws(t, shopYAML)[1:2]}, catalog.ApplyOptions{})
		if err != nil || !reflect.DeepEqual(res.Conflicts, []string{"component:default/payments"}) {
			t.Fatalf("conflicting apply = %+v, %v", res, err)
		}
	})
}

func TestBrokenUpdateKeepsLastGoodVersion(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		s, loc := newStore(t, dialect)
		good := mustRaws(t, shopYAML)
		if _, err := s.ApplyLocation(ctx, loc, catalog.Emitted{Entities: good}, catalog.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		ref := catalog.MustParseRef("component:default/payments")
		failed := catalog.FailedEntity{Ref: ref, Errors: []catalog.FieldError{{Pointer: "/spec", Reason: "missing property 'owner'"}}}
		res, err := s.ApplyLocation(ctx, loc, catalog.Emitted{Entities: []catalog.Raw{good[0], good[2]}, Failed: []catalog.FailedEntity{failed}}, catalog.ApplyOptions{})
		if err != nil || res.Orphaned != 0 {
			t.Fatalf("apply = %+v, %v; the failed entity must not be orphaned", res, err)
		}
		got, err := s.EntityByRef(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec()["owner"] != "team-a" {
			t.Fatalf("spec = %v, want the last good version", got.Spec())
		}
		st, ok := got["status"].(catalog.Status)
		if !ok || len(st.Items) != 1 || st.Items[0].Message != "/spec: missing property 'owner'" {
			t.Fatalf("status = %#v", got["status"])
		}
	})
}

func TestEntitiesByRefsAndDelete(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		s, loc := newStore(t, dialect)
		if _, err := s.ApplyLocation(ctx, loc, catalog.Emitted{Entities: mustRaws(t, shopYAML)}, catalog.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := s.EntitiesByRefs(ctx, []string{"api:default/payments-api", "component:default/nope", "Component:default/Payments"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Ref().Name != "payments-api" || got[1] != nil || got[2].Ref().Name != "payments" {
			t.Fatalf("by refs = %v", got)
		}
		uid := got[2].Metadata()["uid"].(string)
		if err := s.DeleteEntity(ctx, uid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EntityByUID(ctx, uid); paved.ErrorCode(err) != paved.CodeNotFound {
			t.Fatalf("after delete: %v, want not found", err)
		}
		if err := s.DeleteEntity(ctx, uid); paved.ErrorCode(err) != paved.CodeNotFound {
			t.Fatalf("second delete: %v, want not found", err)
		}
	})
}

// The relation and search tables have no foreign key: every way an entity
// goes must take its rows along.
func TestDeletedEntitiesLeaveNoIndexRows(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		db := testsupport.OpenDB(t, dialect)
		s := catalog.NewStore(db)
		loc, err := s.CreateLocation(ctx, "file", "/srv/shop/catalog-info.yaml")
		if err != nil {
			t.Fatal(err)
		}
		stray := func() (n int64) {
			t.Helper()
			err := db.Gorm.Raw(`SELECT (SELECT count(*) FROM catalog_search WHERE entity_id NOT IN (SELECT id FROM catalog_entities))
				+ (SELECT count(*) FROM catalog_relations WHERE entity_id NOT IN (SELECT id FROM catalog_entities))`).Scan(&n).Error
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if _, err := s.ApplyLocation(ctx, loc, catalog.Emitted{Entities: mustRaws(t, shopYAML)}, catalog.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		payments, err := s.EntityByRef(ctx, catalog.MustParseRef("component:payments"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteEntity(ctx, payments.Metadata()["uid"].(string)); err != nil {
			t.Fatal(err)
		}
		if n := stray(); n != 0 {
			t.Fatalf("%d index rows outlive a deleted entity", n)
		}
		res, err := s.ApplyLocation(ctx, loc, catalog.Emitted{}, catalog.ApplyOptions{DeleteOrphans: true})
		if err != nil || res.Deleted != 2 {
			t.Fatalf("apply of nothing with DeleteOrphans = %+v, %v; want 2 deleted", res, err)
		}
		if n := stray(); n != 0 {
			t.Fatalf("%d index rows outlive deleted orphans", n)
		}
	})
}
