package provision

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The defaults a new install provisions with, spelled out in
// testdata/default-settings.yaml: a change to them shows in review.
func TestDefaultSettingsGolden(t *testing.T) {
	const golden = "testdata/default-settings.yaml"
	s := DefaultSettings()
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	var got bytes.Buffer
	enc := yaml.NewEncoder(&got)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]Settings{"provisioning": s}); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		_ = os.WriteFile(golden+".actual", got.Bytes(), 0o644)
		t.Fatalf("default settings differ from %s (actual written beside it; go test ./scaffolder/provision -run DefaultSettingsGolden -update accepts them)", golden)
	}
}
