package catalog

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing/fstest"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/paved-dev/paved"
)

// Bounds of one template directory read from git (held in memory).
const (
	maxTemplateFiles = 10_000
	maxTemplateBytes = 64 << 20
)

// TemplateFiles opens the directory a template step names by url
// (fetch:template's ./skeleton), relative to the file the Template
// entity was read from (its backstage.io/managed-by-location), under the
// reading rules: a directory on disk for file locations, a directory of
// the repository for git ones. Plain URLs cannot be listed as
// directories; templates from them name files only.
func (p *Policy) TemplateFiles(ctx context.Context, entity map[string]any, ref string) (fs.FS, error) {
	base, err := templateSource(entity)
	if err != nil {
		return nil, err
	}
	target := resolveTarget(base, ref)
	if err := p.CheckTarget(target); err != nil {
		return nil, err
	}
	if repo, dir, ok := splitGitTarget(target); ok {
		if target == repo {
			dir = "."
		}
		return gitDir(withPolicy(ctx, p), repo, dir)
	}
	if strings.HasPrefix(target, BuiltinScheme+":") {
		return p.builtinDir(target)
	}
	if strings.Contains(target, "://") && !strings.HasPrefix(target, "file://") {
		return nil, paved.Errorf(paved.CodeUnprocessable, "%s: templates read from a plain URL cannot read directories; register the template from a git repository (<repo>.git/path) or a file", redactURL(target))
	}
	dir := strings.TrimPrefix(target, "file://")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, paved.Errorf(paved.CodeUnprocessable, "%s: no such directory beside the template", ref)
	}
	// fetch:* refuses the symlinks it finds, so none is followed.
	return os.DirFS(dir), nil
}

// templateSource is the target of the file a template entity came from.
func templateSource(entity map[string]any) (string, error) {
	meta, _ := entity["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	loc, _ := ann[AnnotationLocation].(string)
	typ, target, ok := strings.Cut(loc, ":")
	if !ok || (typ != "file" && typ != "url") {
		return "", paved.Errorf(paved.CodeUnprocessable, "the template has no %s annotation naming the file it came from, so its steps cannot read files beside it", AnnotationLocation)
	}
	return target, nil
}

// gitDir reads dir of the repository's default branch into memory.
func gitDir(ctx context.Context, repo, dir string) (fs.FS, error) {
	dir = path.Clean(dir)
	if dir == ".." || strings.HasPrefix(dir, "../") {
		return nil, paved.Errorf(paved.CodeForbidden, "%s: %s climbs above the repository's root", redactURL(repo), dir)
	}
	tree, err := shallowTree(ctx, repo)
	if err != nil {
		return nil, err
	}
	if dir != "." {
		if tree, err = tree.Tree(dir); err != nil {
			return nil, paved.Errorf(paved.CodeUnprocessable, "%s: no directory %s in the repository", redactURL(repo), dir)
		}
	}
	out := fstest.MapFS{}
	total := 0
	err = tree.Files().ForEach(func(f *object.File) error {
		if len(out) >= maxTemplateFiles {
			return paved.Errorf(paved.CodeTooLarge, "%s/%s holds more than %d files", redactURL(repo), dir, maxTemplateFiles)
		}
		if total += int(f.Size); total > maxTemplateBytes {
			return paved.Errorf(paved.CodeTooLarge, "%s/%s holds more than %d bytes", redactURL(repo), dir, maxTemplateBytes)
		}
		data, err := fileBytes(f)
		if err != nil {
			return err
		}
		out[f.Name] = &fstest.MapFile{Data: data, Mode: gitMode(f.Mode)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func fileBytes(f *object.File) ([]byte, error) {
	r, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// gitMode maps a tree entry's mode; symlinks stay symlinks, so fetch:*
// refuses them as it does on disk.
func gitMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Executable:
		return 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	}
	return 0o644
}

// builtinDir is a directory of the files Paved ships.
func (p *Policy) builtinDir(target string) (fs.FS, error) {
	dir, err := builtinPath(target)
	if err != nil {
		return nil, paved.Errorf(paved.CodeUnprocessable, "%v", err)
	}
	if p.builtin == nil {
		return nil, paved.Errorf(paved.CodeUnprocessable, "%s: this build has no built-in files", target)
	}
	if st, err := fs.Stat(p.builtin, dir); err != nil || !st.IsDir() {
		return nil, paved.Errorf(paved.CodeUnprocessable, "%s: no such built-in directory", target)
	}
	return fs.Sub(p.builtin, dir)
}
