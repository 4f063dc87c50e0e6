package catalog_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// Backstage stores these relation lists sorted, in JavaScript's order
// (uppercase before lowercase), on any kind, duplicates kept; other lists
// and tags stay as written. Expected values observed on Backstage 4.0's
// catalog for the same descriptors.
func TestRelationFieldsSorted(t *testing.T) {
	dir := t.TempDir()
	root := writeFile(t, filepath.Join(dir, "catalog-info.yaml"), `apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: zeta, tags: [zz, aa]}
spec:
  type: service
  lifecycle: production
  owner: team-b
  providesApis: [zz-api, aa-api, mm-api, aa-api]
  consumesApis: [Yy-api, bb-api]
  dependsOn: [component:zz, resource:aa, Component:mm]
  dependencyOf: [component:zz, component:aa]
  custom: [zz, aa]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: [zz-team, aa-team], members: [zed, abe]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: zed}
spec: {memberOf: [zz-team, aa-team, team-b]}
---
apiVersion: backstage.io/v1alpha1
kind: Domain
metadata: {name: dom}
spec: {owner: team-b, dependsOn: [component:zz, component:aa]}
`)
	store := catalog.NewStore(testsupport.OpenDB(t, database.SQLite))
	in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Policy: allowDir(dir), Log: testsupport.DiscardLogger()}
	ctx := context.Background()
	loc, err := store.CreateLocation(ctx, "file", root)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := in.Refresh(ctx, loc, false); err != nil || len(res.Problems) > 0 {
		t.Fatalf("refresh: %+v, %v", res, err)
	}
	var raws []catalog.Raw
	for _, ref := range []string{"component:zeta", "group:team-b", "user:zed", "domain:dom"} {
		raw, err := store.EntityByRef(ctx, catalog.MustParseRef(ref))
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	want := []map[string][]any{
		{"providesApis": {"aa-api", "aa-api", "mm-api", "zz-api"}, "consumesApis": {"Yy-api", "bb-api"},
			"dependsOn": {"Component:mm", "component:zz", "resource:aa"}, "dependencyOf": {"component:aa", "component:zz"}, "custom": {"zz", "aa"}},
		{"children": {"aa-team", "zz-team"}, "members": {"abe", "zed"}},
		{"memberOf": {"aa-team", "team-b", "zz-team"}},
		{"dependsOn": {"component:aa", "component:zz"}},
	}
	for i, raw := range raws {
		for field, list := range want[i] {
			if got := raw.Spec()[field]; !reflect.DeepEqual(got, list) {
				t.Errorf("%s spec.%s = %v, want %v", raw.Ref(), field, got, list)
			}
		}
	}
	if tags := raws[0].Metadata()["tags"]; !reflect.DeepEqual(tags, []any{"zz", "aa"}) {
		t.Errorf("tags = %v, want them as written", tags)
	}
}
