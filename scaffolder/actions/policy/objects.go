package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/paved-dev/paved"
)

// Bounds of what one check reads from the workspace.
const (
	maxWorkspaceBytes = 64 << 20
	maxObjects        = 10_000
)

// object is a Kubernetes object found in the workspace, with where it
// came from: a file, or the kustomization that built it.
type object struct {
	Source string
	Obj    map[string]any
}

// kustomizationNames are the file names kustomize reads in a directory.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// workspaceObjects finds every Kubernetes object the workspace would
// deploy: each top kustomization (one no other kustomization includes:
// the overlays) built with kustomize, and every YAML file outside what
// the kustomizations read. Catalog descriptors, kustomize's own files and
// YAML that is not a Kubernetes object are not objects.
func workspaceObjects(ws fs.FS) ([]object, error) {
	files, err := yamlFiles(ws)
	if err != nil {
		return nil, err
	}
	kdirs := kustomizationDirs(files)
	consumed, err := consumedPaths(ws, kdirs)
	if err != nil {
		return nil, err
	}
	var out []object
	if len(kdirs) > 0 {
		mem, err := inMemory(ws)
		if err != nil {
			return nil, err
		}
		for _, dir := range kdirs {
			if consumed[dir] {
				continue
			}
			built, err := build(mem, dir)
			if err != nil {
				return nil, err
			}
			out = append(out, built...)
		}
	}
	for _, f := range files {
		if isConsumed(f, consumed, kdirs) {
			continue
		}
		objs, err := fileObjects(ws, f)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	if len(out) > maxObjects {
		return nil, paved.Errorf(paved.CodeTooLarge, "the workspace holds %d Kubernetes objects; at most %d are checked", len(out), maxObjects)
	}
	return out, nil
}

// yamlFiles lists the workspace's YAML files and kustomization files,
// sorted, skipping .git.
func yamlFiles(ws fs.FS) ([]string, error) {
	var out []string
	err := fs.WalkDir(ws, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		name := d.Name()
		if !d.IsDir() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || name == "Kustomization") {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

func kustomizationDirs(files []string) []string {
	var out []string
	for _, f := range files {
		if slices.Contains(kustomizationNames, path.Base(f)) {
			out = append(out, path.Dir(f))
		}
	}
	return slices.Compact(out)
}

// kustomizationRefs are the fields of a kustomization that name other
// files or directories to include.
type kustomizationRefs struct {
	Resources  []string `yaml:"resources"`
	Bases      []string `yaml:"bases"`
	Components []string `yaml:"components"`
}

// consumedPaths are the files and directories the kustomizations include.
// A reference that is not a file or directory of the workspace (a remote
// base, a path outside it) is refused: the check reads nothing else.
func consumedPaths(ws fs.FS, kdirs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, dir := range kdirs {
		file, data, err := readKustomization(ws, dir)
		if err != nil {
			return nil, err
		}
		var refs kustomizationRefs
		if err := yaml.Unmarshal(data, &refs); err != nil {
			return nil, paved.Invalid("invalid kustomization", paved.Detail{Field: file, Reason: err.Error()})
		}
		for _, ref := range slices.Concat(refs.Resources, refs.Bases, refs.Components) {
			p := path.Join(dir, ref)
			if strings.Contains(ref, "://") || !fs.ValidPath(p) {
				return nil, paved.Invalid("invalid kustomization", paved.Detail{Field: file,
					Reason: fmt.Sprintf("%q is not a file or directory of the repository; remote bases are not fetched", ref)})
			}
			if _, err := fs.Stat(ws, p); err != nil {
				return nil, paved.Invalid("invalid kustomization", paved.Detail{Field: file, Reason: fmt.Sprintf("%q does not exist", ref)})
			}
			out[p] = true
		}
	}
	return out, nil
}

func readKustomization(ws fs.FS, dir string) (string, []byte, error) {
	for _, name := range kustomizationNames {
		p := path.Join(dir, name)
		if data, err := fs.ReadFile(ws, p); err == nil {
			return p, data, nil
		}
	}
	return "", nil, fmt.Errorf("no kustomization in %s", dir)
}

// isConsumed: the file is read by a kustomization (it is in one's
// directory tree, or included by one).
func isConsumed(f string, consumed map[string]bool, kdirs []string) bool {
	for p := f; ; p = path.Dir(p) {
		if consumed[p] || slices.Contains(kdirs, p) {
			return true
		}
		if p == "." {
			return false
		}
	}
}

// inMemory copies the workspace into kustomize's in-memory file system:
// kustomize then reads nothing outside it.
func inMemory(ws fs.FS) (filesys.FileSystem, error) {
	mem := filesys.MakeFsInMemory()
	total := 0
	err := fs.WalkDir(ws, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		data, err := fs.ReadFile(ws, p)
		if err != nil {
			return err
		}
		if total += len(data); total > maxWorkspaceBytes {
			return paved.Errorf(paved.CodeTooLarge, "the workspace holds more than %d bytes", maxWorkspaceBytes)
		}
		return mem.WriteFile("/"+p, data)
	})
	return mem, err
}

// build runs kustomize on dir of the in-memory workspace.
func build(mem filesys.FileSystem, dir string) ([]object, error) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/"+dir)
	if err != nil {
		return nil, paved.Invalid("kustomize build failed", paved.Detail{Field: dir, Reason: err.Error()})
	}
	source := "kustomize build " + dir
	var out []object
	for _, r := range resources.Resources() {
		m, err := r.Map()
		if err != nil {
			return nil, err
		}
		out = append(out, object{Source: source, Obj: m})
	}
	return out, nil
}

// fileObjects are the Kubernetes objects of one YAML file; documents
// that are not Kubernetes objects are skipped.
func fileObjects(ws fs.FS, file string) ([]object, error) {
	data, err := fs.ReadFile(ws, file)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []object
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, paved.Invalid("invalid YAML in the workspace", paved.Detail{Field: file, Reason: err.Error()})
		}
		if isKubernetesObject(doc) {
			out = append(out, object{Source: file, Obj: doc})
		}
	}
}

// isKubernetesObject: apiVersion and kind, and not a Backstage descriptor
// or a kustomize file.
func isKubernetesObject(doc map[string]any) bool {
	api, _ := doc["apiVersion"].(string)
	kind, _ := doc["kind"].(string)
	if api == "" || kind == "" {
		return false
	}
	group, _, _ := strings.Cut(api, "/")
	return !strings.HasSuffix(group, "backstage.io") && !strings.HasPrefix(group, "kustomize.config.k8s.io")
}
