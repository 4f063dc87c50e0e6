package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/config"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/portal"
	"github.com/paved-dev/paved/scaffolder"
	kubeactions "github.com/paved-dev/paved/scaffolder/actions/kube"
)

// Every action serve registers describes its input and output with JSON
// Schemas that compile (GET /v2/actions shows them).
func TestEveryActionHasSchemas(t *testing.T) {
	cfg, err := config.LoadNoArgs("serve", nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	parts := scaffolderParts{cat: portal.Catalog{Store: catalog.NewStore(testsupport.OpenDB(t, database.SQLite)), Ingester: &catalog.Ingester{}},
		pol: portal.Policies{Manager: &policies.Manager{Engine: policies.NewEngine()}}}
	_, registry, err := newActions(cfg, parts)
	if err != nil {
		t.Fatal(err)
	}
	actions := []scaffolder.Action{kubeactions.Namespace{}, kubeactions.Pipeline{}}
	for _, id := range registry.IDs() {
		a, _ := registry.Action(id)
		actions = append(actions, a)
	}
	if len(actions) < 13 {
		t.Fatalf("%d actions; serve registers more", len(actions))
	}
	for _, a := range actions {
		d, ok := a.(scaffolder.Described)
		if !ok {
			t.Errorf("%s has no schema", a.ID())
			continue
		}
		s := d.Schema()
		for what, sch := range map[string]map[string]any{"input": s.Input, "output": s.Output} {
			data, _ := json.Marshal(sch)
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			c := jsonschema.NewCompiler()
			if err := c.AddResource("s.json", doc); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Compile("s.json"); err != nil || sch["type"] != "object" {
				t.Errorf("%s %s schema: %v (%v)", a.ID(), what, err, sch)
			}
		}
	}
}
