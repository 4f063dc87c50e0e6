package policies

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
)

// libraryFS holds the default policy library: one folder per policy with
// policy.rego and policy_test.rego, shared helpers under lib/, and the
// default parameters in data.json.
//
//go:embed library
var libraryFS embed.FS

// Library returns the default policy set as shipped, with module paths
// relative to the library folder (no_latest_tag/policy.rego).
func Library() (Source, error) {
	src := Source{Modules: map[string]string{}, Data: map[string]any{}}
	err := fs.WalkDir(libraryFS, "library", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := libraryFS.ReadFile(path)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(path, "library/")
		switch {
		case rel == "data.json":
			if err := json.Unmarshal(data, &src.Data); err != nil {
				return fmt.Errorf("library %s: %w", rel, err)
			}
		case strings.HasSuffix(rel, ".rego"):
			src.Modules[rel] = string(data)
		}
		return nil
	})
	return src, err
}
