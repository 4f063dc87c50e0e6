package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/paved-dev/paved"
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

// A Template that names an action this server lacks is refused when the
// catalog reads it: a new one is not stored, and a stored one keeps its
// last good version with the error on status.items, line included.
func TestCatalogChecksTemplates(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		cfg, err := config.LoadNoArgs("serve", nil, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		cfg.Catalog.Reading.Allow = []catalog.ReadAllow{{Dir: dir}}
		cat := newCatalog(testsupport.OpenDB(t, dialect), cfg.Catalog, testsupport.DiscardLogger())
		_, registry, err := newActions(cfg, scaffolderParts{cat: cat})
		if err != nil {
			t.Fatal(err)
		}
		cat.Ingester.Check = templateCheck(registry)
		file := filepath.Join(dir, "template.yaml")
		good := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps:\n    - {id: log, action: debug:log, input: {message: hi}}\n"
		writeFile(t, dir, "template.yaml", strings.Replace(good, "debug:log", "publish:nowhere", 1))
		loc, err := cat.Store.CreateLocation(ctx, catalog.LocationFile, file)
		if err != nil {
			t.Fatal(err)
		}
		res, err := cat.Ingester.Refresh(ctx, loc, true)
		if err != nil || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], `line 7: /spec/steps/0/action: no scaffolder action "publish:nowhere"`) {
			t.Fatalf("refresh = %+v, %v", res, err)
		}
		ref := catalog.MustParseRef("template:default/t")
		if _, err := cat.Store.EntityByRef(ctx, ref); paved.ErrorCode(err) != paved.CodeNotFound {
			t.Fatalf("a template with an unknown action was stored: %v", err)
		}
		writeFile(t, dir, "template.yaml", good)
		if res, err := cat.Ingester.Refresh(ctx, loc, true); err != nil || len(res.Problems) != 0 {
			t.Fatalf("good template: %+v, %v", res, err)
		}
		writeFile(t, dir, "template.yaml", strings.Replace(good, "debug:log", "debug:nothing", 1))
		if res, err := cat.Ingester.Refresh(ctx, loc, true); err != nil || len(res.Problems) != 1 {
			t.Fatalf("refresh = %+v, %v", res, err)
		}
		stored, err := cat.Store.EntityByRef(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		status, _ := json.Marshal(stored["status"])
		if !strings.Contains(string(status), `no scaffolder action \"debug:nothing\"`) || !strings.Contains(string(status), `"level":"error"`) {
			t.Fatalf("status = %s", status)
		}
	})
}

// Built-in templates are registered at start as embedded:/// locations,
// read from the binary (with the files beside them), once however often
// serve starts; one this binary no longer ships is removed.
func TestBuiltinTemplates(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		builtin := fstest.MapFS{
			"hello/template.yaml":      {Data: []byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: hello}\nspec:\n  type: service\n  steps: [{id: f, action: fetch:template, input: {url: ./skeleton}}]\n")},
			"hello/skeleton/README.md": {Data: []byte("# ${{ values.name }}\n")},
		}
		store := catalog.NewStore(testsupport.OpenDB(t, dialect))
		policy := catalog.NewPolicy(catalog.Options{}).WithBuiltin(builtin) // nothing else may be read
		in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Policy: policy, Log: testsupport.DiscardLogger()}
		for range 2 {
			if err := registerBuiltinTemplates(ctx, store, []string{"hello"}); err != nil {
				t.Fatal(err)
			}
		}
		locs, _ := store.Locations(ctx)
		if len(locs) != 1 || locs[0].Target != "embedded:///hello/template.yaml" {
			t.Fatalf("locations = %v", locs)
		}
		if res, err := in.Refresh(ctx, locs[0], true); err != nil || len(res.Problems) != 0 {
			t.Fatalf("refresh = %+v, %v", res, err)
		}
		entity, err := store.EntityByRef(ctx, catalog.MustParseRef("template:default/hello"))
		if err != nil {
			t.Fatal(err)
		}
		files, err := policy.TemplateFiles(ctx, entity, "./skeleton")
		if err != nil {
			t.Fatal(err)
		}
		if data, err := fs.ReadFile(files, "README.md"); err != nil || !strings.HasPrefix(string(data), "# ") {
			t.Fatalf("README.md beside the built-in template = %q, %v", data, err)
		}
		if _, err := policy.TemplateFiles(ctx, entity, "../../../etc"); err == nil {
			t.Fatal("a built-in template read outside the built-in files")
		}
		if err := registerBuiltinTemplates(ctx, store, nil); err != nil {
			t.Fatal(err)
		}
		if locs, _ := store.Locations(ctx); len(locs) != 0 {
			t.Fatalf("the location of a template no longer shipped is kept: %v", locs)
		}
		if _, err := store.EntityByRef(ctx, catalog.MustParseRef("template:default/hello")); paved.ErrorCode(err) != paved.CodeNotFound {
			t.Fatalf("the template no longer shipped is still in the catalog: %v", err)
		}
	})
}
