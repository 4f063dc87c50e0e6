// Package fetch is the scaffolder's fetch actions: fetch:template renders
// a skeleton into the task's workspace as Backstage's action of the same
// name does (same inputs, same file-by-file rules), inside the
// workspace's os.Root so no rendered path can leave it.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/render"
)

// Limits on a skeleton, which comes from a catalog location.
const (
	MaxFiles    = 10_000
	MaxFileSize = 10 << 20
)

// Template is fetch:template.
type Template struct{ Render *render.Engine }

// ID is the action's name in templates.
func (Template) ID() string { return "fetch:template" }

// SupportsDryRun: it only writes into the workspace.
func (Template) SupportsDryRun() bool { return true }

// Replayable: it writes only the workspace.
func (Template) Replayable() bool { return true }

// Description says what the action does.
func (Template) Description() string {
	return "Render a skeleton directory with values into the workspace: file contents and paths are templates"
}

// templateInput is fetch:template's input, Backstage's names.
type templateInput struct {
	URL                   string
	TargetPath            string
	Values                map[string]any
	CopyWithoutTemplating []string
	CookiecutterCompat    bool
	Extension             string // templateFileExtension, with its dot; "" renders every file
	Replace               bool
	TrimBlocks            bool
	LstripBlocks          bool
}

// Run renders the skeleton at input.url into input.targetPath. It returns
// no output, as Backstage's action does; warnings (CI expressions that
// rendered empty, deprecated inputs) go to the step's log.
func (a Template) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	in, err := decodeTemplateInput(call.Input)
	if err != nil {
		return nil, err
	}
	if _, ok := call.Input["copyWithoutRender"]; ok && call.Log != nil {
		call.Log.Warn("fetch:template: copyWithoutRender is deprecated and ignored (as on Backstage); use copyWithoutTemplating")
	}
	skeleton, err := files(ctx, call, in.URL)
	if err != nil {
		return nil, err
	}
	entries, err := listSkeleton(skeleton)
	if err != nil {
		return nil, err
	}
	plain, err := matchAll(skeleton, in.CopyWithoutTemplating)
	if err != nil {
		return nil, err
	}
	key := "values"
	if in.CookiecutterCompat {
		key = "cookiecutter"
	}
	scope := map[string]any{key: in.Values}
	opts := render.Options{TrimBlocks: in.TrimBlocks, LstripBlocks: in.LstripBlocks, CookiecutterCompat: in.CookiecutterCompat}
	w := writer{call: call, target: in.TargetPath, replace: in.Replace}
	for _, e := range entries {
		if err := a.entry(e, in, plain, scope, opts, skeleton, &w, call); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, nil
}

// entry renders one file or directory of the skeleton, following
// Backstage's templateActionHandler: with templateFileExtension only files
// with the extension are rendered (and lose it); otherwise every file but
// the copyWithoutTemplating ones; paths are always rendered, and an entry
// whose path renders empty, absolute or with an empty segment is skipped
// (how templates leave out optional files).
func (a Template) entry(e skeletonEntry, in templateInput, plain map[string]bool, scope map[string]any, opts render.Options,
	skeleton fs.FS, w *writer, call *scaffolder.Call) error {
	renderContents := !plain[e.name]
	local := e.name
	if in.Extension != "" {
		renderContents = path.Ext(local) == in.Extension
		if renderContents {
			local = strings.TrimSuffix(local, in.Extension)
		}
	}
	local, err := a.renderText(local, scope, opts, e.name+" (its path)", call)
	if err != nil {
		return err
	}
	if local == "" || strings.HasPrefix(local, "/") || strings.Contains(local, "//") {
		return nil
	}
	if e.dir {
		return w.dir(local)
	}
	data, err := fs.ReadFile(skeleton, e.name)
	if err != nil {
		return paved.Errorf(paved.CodeUnprocessable, "fetch:template: read %s: %v", e.name, err)
	}
	if renderContents && !binary(data) {
		text, err := a.renderText(string(data), scope, opts, e.name, call)
		if err != nil {
			return err
		}
		data = []byte(text)
	}
	return w.file(local, data, e.mode)
}

func (a Template) renderText(src string, scope map[string]any, opts render.Options, what string, call *scaffolder.Call) (string, error) {
	out, warnings, err := a.Render.Render(src, scope, opts)
	for _, warn := range warnings {
		if call.Log != nil {
			call.Log.Warn(fmt.Sprintf("%s: %s", what, warn))
		}
	}
	if err != nil {
		var re *render.Error
		line := 0
		if errors.As(err, &re) {
			line = re.Line
		}
		return "", paved.Invalid("fetch:template: the skeleton does not render", paved.Detail{Field: what, Line: line, Reason: err.Error()})
	}
	return out, nil
}

// binary is isbinaryfile's first test: a NUL byte, or text that is not
// UTF-8, in the first 8 KiB. Such files are copied byte for byte.
func binary(data []byte) bool {
	head := data[:min(len(data), 8<<10)]
	if slices.Contains(head, 0) {
		return true
	}
	for len(head) > 0 {
		r, size := utf8.DecodeRune(head)
		if r == utf8.RuneError && size == 1 && len(head) > 3 { // a rune cut at the 8 KiB mark is not binary
			return true
		}
		head = head[size:]
	}
	return false
}

// skeletonEntry is a file or directory of a skeleton, by slash path.
type skeletonEntry struct {
	name string
	dir  bool
	mode fs.FileMode
}

// listSkeleton lists every entry of the skeleton, dot files included,
// refusing symbolic links and anything that is neither file nor directory
// (Backstage copies links; a link could point anywhere).
func listSkeleton(skeleton fs.FS) ([]skeletonEntry, error) {
	var out []skeletonEntry
	err := fs.WalkDir(skeleton, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			return paved.Invalid("fetch:template: the skeleton holds a symbolic link", paved.Detail{Field: name, Reason: "symbolic links are not copied"})
		case !info.Mode().IsRegular() && !info.IsDir():
			return paved.Invalid("fetch:template: the skeleton holds a special file", paved.Detail{Field: name, Reason: "only files and directories"})
		case info.Mode().IsRegular() && info.Size() > MaxFileSize:
			return paved.Invalid("fetch:template: a skeleton file is too large", paved.Detail{Field: name, Reason: fmt.Sprintf("over %d MiB", MaxFileSize>>20)})
		}
		if len(out) == MaxFiles {
			return paved.Invalid("fetch:template: the skeleton is too large", paved.Detail{Field: "url", Reason: fmt.Sprintf("more than %d entries", MaxFiles)})
		}
		out = append(out, skeletonEntry{name: name, dir: d.IsDir(), mode: info.Mode().Perm()})
		return nil
	})
	if err != nil && paved.ErrorCode(err) == "" {
		return nil, paved.Errorf(paved.CodeUnprocessable, "fetch:template: list the skeleton: %v", err)
	}
	return out, err
}

// matchAll is the set of entries copyWithoutTemplating's globs match (a
// directory's pattern covers what is below it, as globby's does).
func matchAll(skeleton fs.FS, patterns []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range patterns {
		p = strings.TrimPrefix(strings.TrimPrefix(p, "./"), "/")
		matches, err := fs.Glob(skeleton, strings.TrimSuffix(p, "/"))
		if err != nil {
			return nil, paved.Invalid("fetch:template: a bad pattern", paved.Detail{Field: "input.copyWithoutTemplating", Reason: fmt.Sprintf("%q: %v", p, err)})
		}
		for _, m := range matches {
			out[m] = true
			_ = fs.WalkDir(skeleton, m, func(name string, _ fs.DirEntry, err error) error {
				if err == nil {
					out[name] = true
				}
				return nil
			})
		}
	}
	return out, nil
}

// writer writes rendered entries below the target path of the workspace.
type writer struct {
	call    *scaffolder.Call
	target  string
	replace bool
}

// place is local's path in the workspace, refused if it would leave the
// target directory.
func (w *writer) place(local string) (string, error) {
	p := path.Join(strings.TrimPrefix(filepath.ToSlash(w.target), "./"), local)
	if !fs.ValidPath(p) {
		return "", paved.Invalid("fetch:template: a path leaves the workspace", paved.Detail{Field: local, Reason: "rendered paths must stay inside targetPath"})
	}
	return p, nil
}

func (w *writer) dir(local string) error {
	p, err := w.place(local)
	if err != nil {
		return err
	}
	if err := w.call.Workspace.MkdirAll(p, 0o755); err != nil {
		return paved.Invalid("fetch:template: cannot create a directory", paved.Detail{Field: local, Reason: err.Error()})
	}
	return nil
}

func (w *writer) file(local string, data []byte, mode fs.FileMode) error {
	p, err := w.place(local)
	if err != nil {
		return err
	}
	if _, err := w.call.Workspace.Lstat(p); err == nil && !w.replace {
		return nil // Backstage keeps what is there unless replace is set
	}
	if dir := path.Dir(p); dir != "." {
		if err := w.call.Workspace.MkdirAll(dir, 0o755); err != nil {
			return paved.Invalid("fetch:template: cannot create a directory", paved.Detail{Field: local, Reason: err.Error()})
		}
	}
	if err := w.call.Workspace.WriteFile(p, data, mode|0o600); err != nil {
		return paved.Invalid("fetch:template: cannot write a file", paved.Detail{Field: local, Reason: err.Error()})
	}
	return nil
}

// Schema describes the input and output.
func (Template) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object([]string{"url"}, map[string]any{
		"url":                   scaffolder.Prop("string", "directory of the skeleton, relative to the template's own location"),
		"targetPath":            scaffolder.Prop("string", "directory of the workspace to write to (default: the workspace)"),
		"values":                scaffolder.Prop("object", "what the skeleton reads as values.*"),
		"copyWithoutTemplating": scaffolder.Prop("array", "globs of files copied byte for byte"),
		"templateFileExtension": scaffolder.Prop("string|boolean", "render only files with this suffix (true: .njk), copy the others"),
		"cookiecutterCompat":    scaffolder.Prop("boolean", "also accept cookiecutter's {{ cookiecutter.x }}"),
		"replace":               scaffolder.Prop("boolean", "overwrite files that exist"),
		"trimBlocks":            scaffolder.Prop("boolean", "Nunjucks' trimBlocks"),
		"lstripBlocks":          scaffolder.Prop("boolean", "Nunjucks' lstripBlocks"),
	}), Output: scaffolder.Object(nil, map[string]any{})}
}
