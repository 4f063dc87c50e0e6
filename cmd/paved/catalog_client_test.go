package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

const clientFixture = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments}
spec: {type: service, lifecycle: production, owner: team-a, providesApis: [payments-api]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ledger}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ui-kit}
spec: {type: library, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: payments-api}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: "openapi: 3.0.0"}
`

// Backstage's own client, @backstage/catalog-client, works against Paved:
// getEntities, getEntityByRef, queryEntities with a cursor, getEntityFacets,
// addLocation and removeEntityByUid.
func TestBackstageCatalogClient(t *testing.T) {
	dir := testsupport.BackstageNode(t)
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		catalogDir := t.TempDir()
		file := filepath.Join(catalogDir, "catalog-info.yaml")
		if err := os.WriteFile(file, []byte(clientFixture), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(t.TempDir(), "paved.yaml")
		if err := os.WriteFile(cfg, []byte("catalog:\n  reading:\n    allow: [{dir: "+catalogDir+"}]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := startServe(t, nil, "--data-dir", t.TempDir(), "--database-url", testsupport.DatabaseURL(t, dialect), "--config", cfg)
		cmd := exec.Command("node", "client-check.js", s.url+"/api/catalog", file)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("client-check.js: %v\n%s\npaved logs:\n%s", err, stderr, s.stderr)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("client-check.js printed %q: %v", out, err)
		}
		var want map[string]any
		wantJSON := `{
			"addLocation": {"type": "file", "target": "` + file + `", "hasId": true},
			"getEntities": ["ledger", "payments", "ui-kit"],
			"getEntityByRef": {"name": "payments", "owner": "team-a",
				"relations": ["ownedBy group:default/team-a", "providesApi api:default/payments-api"]},
			"getEntityByRefMissing": true,
			"queryTotal": 3,
			"queryPages": [["ledger", "payments"], ["ui-kit"]],
			"facets": [{"value": "library", "count": 1}, {"value": "service", "count": 2}],
			"validateEntity": {"valid": true, "invalid": false, "errors": true},
			"removed": true
		}`
		if err := json.Unmarshal([]byte(wantJSON), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			t.Fatalf("catalog-client saw:\n%s\nwant:\n%s", gotJSON, wantJSON)
		}
	})
}
