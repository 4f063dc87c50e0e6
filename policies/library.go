package policies

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/paved-dev/paved"
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
	sub, err := fs.Sub(libraryFS, "library")
	if err != nil {
		return Source{}, err
	}
	return LoadFS(sub)
}

// LoadDir reads a policy set from a folder laid out like the library, or
// like a bundle written by Export.
func LoadDir(dir string) (Source, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return Source{}, paved.Invalid("cannot read the policy folder", paved.Detail{Field: dir, Reason: "not a readable folder"})
	}
	return LoadFS(os.DirFS(dir))
}

// LoadFS reads every .rego file of fsys (paths relative to its root) and
// the parameters: data.json at the root, or params/data.json as a bundle
// holds them.
func LoadFS(fsys fs.FS) (Source, error) {
	src := Source{Modules: map[string]string{}, Data: map[string]any{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case p == dataFile || p == path.Join(paramsRoot, dataFile):
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(data, &src.Data); err != nil {
				return paved.Invalid("policy parameters are not valid JSON", paved.Detail{Field: p, Reason: err.Error()})
			}
		case strings.HasSuffix(p, ".rego"):
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			src.Modules[p] = string(data)
		}
		return nil
	})
	if err != nil {
		return Source{}, fmt.Errorf("read policies: %w", err)
	}
	return src, nil
}
