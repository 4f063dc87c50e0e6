package fetch

import (
	"context"
	"io/fs"
	"path"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/render"
)

// Plain is fetch:plain: a directory copied into the workspace as it is.
type Plain struct{}

// ID is the action's name in templates.
func (Plain) ID() string { return "fetch:plain" }

// Description says what the action does.
func (Plain) Description() string { return "Copy a directory into the workspace without templating" }

// SupportsDryRun: it only writes into the workspace.
func (Plain) SupportsDryRun() bool { return true }

// Replayable: it writes only the workspace.
func (Plain) Replayable() bool { return true }

// Run copies input.url into input.targetPath, replacing what is there (as
// Backstage's fs.copy does).
func (Plain) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	var d paved.Details
	url := str(call.Input, "url", &d)
	target := str(call.Input, "targetPath", &d)
	if url == "" {
		d.Add("input.url", "is required")
	}
	if err := d.Err("invalid fetch:plain input"); err != nil {
		return nil, err
	}
	if target == "" {
		target = "./"
	}
	src, err := files(ctx, call, url)
	if err != nil {
		return nil, err
	}
	entries, err := listSkeleton(src)
	if err != nil {
		return nil, err
	}
	w := writer{call: call, target: target, replace: true}
	for _, e := range entries {
		if e.dir {
			if err := w.dir(e.name); err != nil {
				return nil, err
			}
			continue
		}
		data, err := fs.ReadFile(src, e.name)
		if err != nil {
			return nil, paved.Errorf(paved.CodeUnprocessable, "fetch:plain: read %s: %v", e.name, err)
		}
		if err := w.file(e.name, data, e.mode); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, nil
}

// PlainFile is fetch:plain:file: one file copied to targetPath.
type PlainFile struct{}

// ID is the action's name in templates.
func (PlainFile) ID() string { return "fetch:plain:file" }

// Description says what the action does.
func (PlainFile) Description() string { return "Copy one file into the workspace without templating" }

// SupportsDryRun: it only writes into the workspace.
func (PlainFile) SupportsDryRun() bool { return true }

// Replayable: it writes only the workspace.
func (PlainFile) Replayable() bool { return true }

// Run copies the file input.url to input.targetPath.
func (PlainFile) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	data, mode, target, err := readOneFile(ctx, call, "fetch:plain:file")
	if err != nil {
		return nil, err
	}
	w := writer{call: call, replace: true}
	return map[string]any{}, w.file(target, data, mode)
}

// TemplateFile is fetch:template:file: one file rendered to targetPath.
type TemplateFile struct{ Render *render.Engine }

// ID is the action's name in templates.
func (TemplateFile) ID() string { return "fetch:template:file" }

// Description says what the action does.
func (TemplateFile) Description() string { return "Render one file with values into the workspace" }

// SupportsDryRun: it only writes into the workspace.
func (TemplateFile) SupportsDryRun() bool { return true }

// Replayable: it writes only the workspace.
func (TemplateFile) Replayable() bool { return true }

// Run renders input.url to input.targetPath; an existing file stays
// unless replace is set, as on Backstage.
func (a TemplateFile) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	in, err := decodeTemplateInput(call.Input)
	if err != nil {
		return nil, err
	}
	data, mode, target, err := readOneFile(ctx, call, "fetch:template:file")
	if err != nil {
		return nil, err
	}
	key := "values"
	if in.CookiecutterCompat {
		key = "cookiecutter"
	}
	opts := render.Options{TrimBlocks: in.TrimBlocks, LstripBlocks: in.LstripBlocks, CookiecutterCompat: in.CookiecutterCompat}
	text, err := Template{Render: a.Render}.renderText(string(data), map[string]any{key: in.Values}, opts, path.Base(in.URL), call)
	if err != nil {
		return nil, err
	}
	w := writer{call: call, replace: in.Replace}
	return map[string]any{}, w.file(target, []byte(text), mode|0o644)
}

// readOneFile reads the file a step's url names and its targetPath.
func readOneFile(ctx context.Context, call *scaffolder.Call, action string) ([]byte, fs.FileMode, string, error) {
	var d paved.Details
	url := str(call.Input, "url", &d)
	target := str(call.Input, "targetPath", &d)
	if url == "" {
		d.Add("input.url", "is required")
	}
	if target == "" {
		d.Add("input.targetPath", "is required: the file to write")
	}
	if err := d.Err("invalid " + action + " input"); err != nil {
		return nil, 0, "", err
	}
	dir, err := files(ctx, call, path.Dir(url))
	if err != nil {
		return nil, 0, "", err
	}
	name := path.Base(url)
	info, err := fs.Stat(dir, name)
	if err != nil || !info.Mode().IsRegular() {
		return nil, 0, "", paved.Invalid("invalid "+action+" input", paved.Detail{Field: "input.url", Reason: url + " is not a file"})
	}
	if info.Size() > MaxFileSize {
		return nil, 0, "", paved.Invalid("invalid "+action+" input", paved.Detail{Field: "input.url", Reason: "over 10 MiB"})
	}
	data, err := fs.ReadFile(dir, name)
	return data, info.Mode().Perm(), target, err
}

// files opens the directory a step's url names.
func files(ctx context.Context, call *scaffolder.Call, url string) (fs.FS, error) {
	if call.Files == nil || call.Workspace == nil {
		return nil, paved.Errorf(paved.CodeUnprocessable, "the task has no files to read or no workspace")
	}
	return call.Files(ctx, url)
}

// Schema describes the input and output.
func (Plain) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object([]string{"url"}, map[string]any{
		"url":        scaffolder.Prop("string", "directory to copy, relative to the template's own location"),
		"targetPath": scaffolder.Prop("string", "directory of the workspace to copy into (default: the workspace)"),
	}), Output: scaffolder.Object(nil, map[string]any{})}
}

// Schema describes the input and output.
func (PlainFile) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object([]string{"url", "targetPath"}, map[string]any{
		"url":        scaffolder.Prop("string", "file to copy, relative to the template's own location"),
		"targetPath": scaffolder.Prop("string", "path of the file in the workspace"),
	}), Output: scaffolder.Object(nil, map[string]any{})}
}

// Schema describes the input and output.
func (TemplateFile) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object([]string{"url", "targetPath"}, map[string]any{
		"url":                scaffolder.Prop("string", "file to render, relative to the template's own location"),
		"targetPath":         scaffolder.Prop("string", "path of the rendered file in the workspace"),
		"values":             scaffolder.Prop("object", "what the file reads as values.*"),
		"cookiecutterCompat": scaffolder.Prop("boolean", "also accept cookiecutter's {{ cookiecutter.x }}"),
		"replace":            scaffolder.Prop("boolean", "overwrite the file if it exists"),
		"trimBlocks":         scaffolder.Prop("boolean", "Nunjucks' trimBlocks"),
		"lstripBlocks":       scaffolder.Prop("boolean", "Nunjucks' lstripBlocks"),
	}), Output: scaffolder.Object(nil, map[string]any{})}
}
