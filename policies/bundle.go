package policies

import (
	"io"
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// paramsRoot is where the parameters live in data, and in a bundle.
const paramsRoot = "params"

// Export writes src as a standard OPA bundle (a .tar.gz with a manifest,
// every module including tests, and the parameters under data.params), so
// the same policies run in a plain OPA (opa run --bundle, opa test).
func Export(w io.Writer, src Source, revision string) error {
	roots := []string{"paved", paramsRoot}
	v1 := ast.RegoV1.Int()
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: revision, Roots: &roots, RegoVersion: &v1},
		Data:     map[string]any{paramsRoot: dataOrEmpty(src.Data)},
	}
	for _, p := range slices.Sorted(maps.Keys(src.Modules)) {
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: "/" + p, Path: "/" + p, Raw: []byte(src.Modules[p])})
	}
	return bundle.NewWriter(w).DisableFormat(true).Write(b)
}

func dataOrEmpty(d map[string]any) map[string]any {
	if d == nil {
		return map[string]any{}
	}
	return d
}
