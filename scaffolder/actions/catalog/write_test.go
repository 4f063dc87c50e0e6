package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/catalog"
)

// catalog:write's YAML is compared with Backstage's in portal's
// TestDryRunMatchesBackstage; here: where it writes and what it refuses.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	entity := map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": map[string]any{"name": "svc"}}
	call := &scaffolder.Call{Input: map[string]any{"entity": entity, "filePath": "deploy/catalog-info.yaml"}, Workspace: root, Template: "template:default/go-service"}
	if _, err := (catalog.Write{}).Run(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "deploy", "catalog-info.yaml"))
	if err != nil || !strings.Contains(string(data), "backstage.io/source-template: template:default/go-service") {
		t.Fatalf("written %q, %v", data, err)
	}
	for name, input := range map[string]map[string]any{
		"NoEntity":   {"filePath": "x.yaml"},
		"Escaping":   {"entity": entity, "filePath": "../x.yaml"},
		"NotAString": {"entity": entity, "filePath": 3},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := (catalog.Write{}).Run(context.Background(), &scaffolder.Call{Input: input, Workspace: root}); paved.ErrorCode(err) != paved.CodeInvalid {
				t.Fatalf("err = %v, want invalid", err)
			}
		})
	}
}
