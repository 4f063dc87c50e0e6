package synth_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/catalog/synth"
)

// Every generated entity is valid and every relation target exists.
func TestGeneratedCatalogIsValidAndConnected(t *testing.T) {
	dir := t.TempDir()
	root, err := synth.Write(dir, 2500, 1)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "entities-*.yaml"))
	refs := map[string]bool{}
	var edges []catalog.Edge
	for _, f := range append(files, root) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := catalog.ParseDocuments(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			raw, errs := catalog.NewRaw(d.Value)
			if errs != nil {
				t.Fatalf("%s document %d: %v", f, d.Index, errs)
			}
			refs[raw.Ref().String()] = true
			e, errs := catalog.Edges(raw)
			if errs != nil {
				t.Fatalf("%s document %d: %v", f, d.Index, errs)
			}
			edges = append(edges, e...)
		}
	}
	if len(refs) != 2501 || len(files) != 3 {
		t.Fatalf("%d entities in %d files, want 2500 (+ the root Location) in 3", len(refs), len(files))
	}
	for _, e := range edges {
		if !refs[e.Target.String()] {
			t.Fatalf("dangling relation %s %s %s", e.Source, e.Type, e.Target)
		}
	}
}
