package portal

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing/fstest"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/render"
)

// Scaffolder is the template engine and the actions templates may use.
type Scaffolder struct {
	Actions *scaffolder.Registry
	Render  *render.Engine
	// Tasks and Queue keep and run tasks; nil answers the task routes
	// with "not running".
	Tasks *scaffolder.TaskStore
	Queue TaskQueue
}

func (s *Server) scaffolderParts() (Scaffolder, error) {
	if s.scaffolder.Actions == nil || s.scaffolder.Render == nil {
		return Scaffolder{}, paved.Errorf(paved.CodeUnavailable, "the scaffolder is not running in this server")
	}
	return s.scaffolder, nil
}

// actionJSON is an entry of GET /api/scaffolder/v2/actions.
type actionJSON struct {
	ID          string                  `json:"id"`
	Description string                  `json:"description"`
	Schema      scaffolder.ActionSchema `json:"schema"`
	Examples    []any                   `json:"examples"`
	// SupportsDryRun is Paved's: whether a dry run runs the action or
	// skips it.
	SupportsDryRun bool `json:"supportsDryRun"`
}

// listActions answers Backstage's GET /v2/actions: a bare array.
func (s *Server) listActions(c echo.Context) error {
	sc, err := s.scaffolderParts()
	if err != nil {
		return err
	}
	out := []actionJSON{}
	for _, id := range sc.Actions.IDs() {
		a, _ := sc.Actions.Action(id)
		entry := actionJSON{ID: id, Description: a.Description(), Schema: scaffolder.ActionSchema{Input: map[string]any{}}, Examples: []any{}}
		if d, ok := a.(scaffolder.Described); ok {
			entry.Schema = d.Schema()
		}
		if dr, ok := a.(scaffolder.DryRunner); ok {
			entry.SupportsDryRun = dr.SupportsDryRun()
		}
		out = append(out, entry)
	}
	return c.JSON(http.StatusOK, out)
}

// parameterSchema answers Backstage's GET
// /v2/templates/:namespace/:kind/:name/parameter-schema: the template's
// form pages, from the catalog.
func (s *Server) parameterSchema(c echo.Context) error {
	if s.catalog.Store == nil {
		return paved.Errorf(paved.CodeUnavailable, "the catalog is not running in this server")
	}
	if !strings.EqualFold(c.Param("kind"), "template") {
		return paved.Invalid("not a template", paved.Detail{Field: "kind", Reason: fmt.Sprintf("is %q; want template", c.Param("kind"))})
	}
	ref := catalog.Ref{Kind: "template", Namespace: c.Param("namespace"), Name: c.Param("name")}
	entity, err := s.catalog.Store.EntityByRef(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	tpl, err := scaffolder.ParseTemplate(entity)
	if err != nil {
		return err
	}
	meta := entity.Metadata()
	out := map[string]any{"title": meta["name"], "steps": pageSteps(tpl.Pages)}
	if t, ok := meta["title"]; ok {
		out["title"] = t
	}
	copyPresent(out, meta, "description", "ui:options")
	spec := entity.Spec()
	copyPresent(out, spec, "presentation")
	if d, ok := spec["formDecorators"]; ok {
		out["formDecorators"] = d
	} else if d, ok := spec["EXPERIMENTAL_formDecorators"]; ok {
		out["formDecorators"] = d
	}
	return c.JSON(http.StatusOK, out)
}

// pageSteps are the form pages as Backstage lists them.
func pageSteps(pages []map[string]any) []map[string]any {
	steps := make([]map[string]any, 0, len(pages))
	for _, p := range pages {
		step := map[string]any{"title": "Please enter the following information", "schema": p}
		if t, ok := p["title"]; ok {
			step["title"] = t
		}
		copyPresent(step, p, "description")
		steps = append(steps, step)
	}
	return steps
}

// copyPresent copies the keys from src that it has (JSON leaves out what
// JavaScript leaves undefined).
func copyPresent(dst, src map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := src[k]; ok {
			dst[k] = v
		}
	}
}

// dryRunFile is a file of a dry run, Backstage's shape.
type dryRunFile struct {
	Path          string `json:"path"`
	Base64Content string `json:"base64Content"`
	Executable    bool   `json:"executable,omitempty"`
}

type dryRunRequest struct {
	Template          map[string]any    `json:"template"`
	Values            map[string]any    `json:"values"`
	Secrets           map[string]string `json:"secrets"`
	DirectoryContents []dryRunFile      `json:"directoryContents"`
}

type dryRunLog struct {
	Body dryRunLogBody `json:"body"`
}

type dryRunLogBody struct {
	Message string `json:"message"`
	StepID  string `json:"stepId,omitempty"`
	Status  string `json:"status,omitempty"`
	// Level is Paved's: warnings are the traps Backstage renders silently.
	Level string `json:"level,omitempty"`
}

// dryRunStep is a template step as Backstage's dry run lists it, with
// Paved's status of it.
type dryRunStep struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Action string         `json:"action"`
	Input  map[string]any `json:"input,omitempty"`
	Status string         `json:"status"`
}

type dryRunResponse struct {
	Log               []dryRunLog    `json:"log"`
	DirectoryContents []dryRunFile   `json:"directoryContents"`
	Output            map[string]any `json:"output"`
	Steps             []dryRunStep   `json:"steps"`
}

// dryRunTemplateRef is the reference a dry-run template runs under.
const dryRunTemplateRef = "template:default/dry-run"

// maxDryRunFiles bounds directoryContents (the body limit bounds bytes).
const maxDryRunFiles = 10_000

// dryRun answers Backstage's POST /v2/dry-run: the template runs on the
// files sent, in a throwaway workspace, with every action in dry-run mode
// (actions that cannot simulate their effects are skipped); the answer is
// the log, the files written, the output and the steps. A template or
// values that are wrong are a 400 naming the field, file and line.
func (s *Server) dryRun(c echo.Context) error {
	sc, err := s.scaffolderParts()
	if err != nil {
		return err
	}
	var req dryRunRequest
	if err := bindBackstageJSON(c, &req); err != nil {
		return err
	}
	if req.Template == nil {
		return paved.Invalid("invalid dry run", paved.Detail{Field: "template", Reason: "is required"})
	}
	tpl, err := scaffolder.ParseTemplate(req.Template)
	if err != nil {
		return err
	}
	if err := tpl.CheckValues(req.Values); err != nil {
		return err
	}
	// Backstage's dry run names every template template:default/dry-run
	// (it did not come from the catalog); catalog:write's
	// backstage.io/source-template annotation says so, here too.
	tpl.Ref = dryRunTemplateRef
	templateFiles, err := directoryContents(req.DirectoryContents)
	if err != nil {
		return err
	}
	wsDir, err := os.MkdirTemp("", "paved-dry-run-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(wsDir)
	ws, err := os.OpenRoot(wsDir)
	if err != nil {
		return err
	}
	defer ws.Close()
	logs := &logCollector{}
	x := &scaffolder.Execution{Template: tpl, Values: req.Values, Secrets: req.Secrets, Workspace: ws, Files: localFiles(templateFiles),
		DryRun: true, Log: slog.New(logs), Render: sc.Render, Actions: sc.Actions}
	results, output, err := x.Run(c.Request().Context())
	if err != nil {
		return err
	}
	files, err := workspaceFiles(ws)
	if err != nil {
		return err
	}
	if output == nil {
		output = map[string]any{}
	}
	return c.JSON(http.StatusOK, dryRunResponse{Log: logs.entries(), DirectoryContents: files, Output: output, Steps: stepsOf(tpl, results)})
}

func stepsOf(tpl *scaffolder.Template, results []scaffolder.StepResult) []dryRunStep {
	status := map[string]string{}
	for _, r := range results {
		status[r.ID] = string(r.Status)
	}
	out := make([]dryRunStep, 0, len(tpl.Steps))
	for _, st := range tpl.Steps {
		name := st.Name
		if name == "" {
			name = st.Action
		}
		s := status[st.ID]
		if s == "" {
			s = string(scaffolder.StepOpen)
		}
		out = append(out, dryRunStep{ID: st.ID, Name: name, Action: st.Action, Input: st.Input, Status: s})
	}
	return out
}

// directoryContents reads the files of a dry run into memory, refusing
// paths that would leave the template. fstest.MapFS is the standard
// library's in-memory fs.FS (it does not import package testing); the
// files never touch the disk.
func directoryContents(files []dryRunFile) (fstest.MapFS, error) {
	if len(files) > maxDryRunFiles {
		return nil, paved.Errorf(paved.CodeTooLarge, "directoryContents holds %d files; at most %d", len(files), maxDryRunFiles)
	}
	out := fstest.MapFS{}
	for i, f := range files {
		p := path.Clean(strings.TrimPrefix(filepath.ToSlash(f.Path), "./"))
		if !fs.ValidPath(p) || p == "." {
			return nil, paved.Invalid("invalid dry run", paved.Detail{Field: fmt.Sprintf("directoryContents[%d].path", i), Reason: fmt.Sprintf("%q is not a relative path inside the template", f.Path)})
		}
		data, err := base64.StdEncoding.DecodeString(f.Base64Content)
		if err != nil {
			return nil, paved.Invalid("invalid dry run", paved.Detail{Field: fmt.Sprintf("directoryContents[%d].base64Content", i), Reason: "not base64"})
		}
		mode := fs.FileMode(0o644)
		if f.Executable {
			mode = 0o755
		}
		out[p] = &fstest.MapFile{Data: data, Mode: mode}
	}
	return out, nil
}

// localFiles resolves fetch:* urls of a dry run against the files it was
// sent: relative paths only.
func localFiles(files fs.FS) func(context.Context, string) (fs.FS, error) {
	return func(_ context.Context, url string) (fs.FS, error) {
		p := path.Clean(strings.TrimPrefix(url, "./"))
		if strings.Contains(url, "://") || !fs.ValidPath(p) {
			return nil, paved.Invalid("invalid step input", paved.Detail{Field: "input.url",
				Reason: fmt.Sprintf("%q: a dry run reads only the files sent in directoryContents, by relative path", url)})
		}
		if st, err := fs.Stat(files, p); err != nil || !st.IsDir() {
			return nil, paved.Invalid("invalid step input", paved.Detail{Field: "input.url", Reason: fmt.Sprintf("%q is not a directory of directoryContents", url)})
		}
		return fs.Sub(files, p)
	}
}

// workspaceFiles lists what the dry run wrote, sorted by path.
func workspaceFiles(ws *os.Root) ([]dryRunFile, error) {
	out := []dryRunFile{}
	err := fs.WalkDir(ws.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(ws.FS(), p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, dryRunFile{Path: p, Base64Content: base64.StdEncoding.EncodeToString(data), Executable: info.Mode()&0o111 != 0})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// logCollector is a slog handler keeping a dry run's log entries.
type logCollector struct {
	mu   sync.Mutex
	list []dryRunLog
}

func (l *logCollector) Enabled(context.Context, slog.Level) bool { return true }

func (l *logCollector) Handle(_ context.Context, r slog.Record) error {
	body := dryRunLogBody{Message: r.Message}
	if r.Level >= slog.LevelWarn {
		body.Level = strings.ToLower(r.Level.String())
	}
	visit := func(a slog.Attr) bool {
		if a.Key == "step" {
			body.StepID = a.Value.String()
		}
		return true
	}
	r.Attrs(visit)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, dryRunLog{Body: body})
	return nil
}

func (l *logCollector) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logChild{parent: l, attrs: attrs}
}

func (l *logCollector) WithGroup(string) slog.Handler { return l }

func (l *logCollector) entries() []dryRunLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.list == nil {
		return []dryRunLog{}
	}
	return l.list
}

// logChild is the collector with attributes bound (a step's logger).
type logChild struct {
	parent *logCollector
	attrs  []slog.Attr
}

func (c *logChild) Enabled(ctx context.Context, l slog.Level) bool { return true }
func (c *logChild) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(c.attrs...)
	return c.parent.Handle(ctx, r)
}
func (c *logChild) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logChild{parent: c.parent, attrs: append(append([]slog.Attr{}, c.attrs...), attrs...)}
}
func (c *logChild) WithGroup(string) slog.Handler { return c }
