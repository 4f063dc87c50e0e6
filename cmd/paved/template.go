package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/config"
	"github.com/paved-dev/paved/scaffolder"
	catalogactions "github.com/paved-dev/paved/scaffolder/actions/catalog"
	"github.com/paved-dev/paved/scaffolder/actions/debug"
	"github.com/paved-dev/paved/scaffolder/actions/fetch"
	"github.com/paved-dev/paved/scaffolder/actions/publish"
	"github.com/paved-dev/paved/scaffolder/render"
)

const templateUsage = `Usage: paved template <command>

Commands:
  render --values FILE --out DIR TEMPLATE_DIR|TEMPLATE_REF
                        run the template in TEMPLATE_DIR (its template.yaml
                        and the files it fetches), or the catalog's
                        template:NAMESPACE/NAME (with --config, --data-dir,
                        --database-url as for serve), as a dry run, writing
                        the files to DIR (new or empty); warnings go to stderr
  test [--update] TEMPLATE_DIR
                        render every TEMPLATE_DIR/tests/NAME.values.yaml and
                        compare the files with TEMPLATE_DIR/tests/NAME/;
                        --update rewrites those folders; exit 1 on a difference`

func templateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, templateUsage)
		return usageError{errors.New("paved template: no command given")}
	}
	switch args[0] {
	case "render":
		return templateRender(ctx, args[1:], getenv, stdout, stderr)
	case "test":
		return templateTest(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, templateUsage)
		return nil
	}
	fmt.Fprintln(stderr, templateUsage)
	return usageError{fmt.Errorf("paved template: unknown command %q", args[0])}
}

func templateRender(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("paved template render", flag.ContinueOnError)
	valuesFile := fset.String("values", "", "YAML or JSON file of the template's parameter values")
	out := fset.String("out", "", "directory to write the files to (new or empty)")
	// A template of the catalog is read from the database serve uses.
	cfgFlags := map[string]*string{}
	for _, name := range []string{"config", "data-dir", "database-url"} {
		cfgFlags[name] = fset.String(name, "", "with a TEMPLATE_REF: as for paved serve")
	}
	if err := parseFlagSet(fset, args); err != nil {
		return helpOr(err, stdout)
	}
	if fset.NArg() != 1 || *out == "" {
		return usageError{errors.New("paved template render: want --out DIR and one template directory")}
	}
	values, err := readValues(*valuesFile)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
		return paved.Invalid("cannot render", paved.Detail{Field: "--out", Reason: *out + " is not empty"})
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	src, closeSrc, err := templateSourceOf(ctx, fset.Arg(0), cfgFlags, getenv)
	if err != nil {
		return err
	}
	defer closeSrc()
	res, err := renderTemplate(ctx, src, values, *out)
	printWarnings(stderr, res.warnings)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rendered %s into %s\n", fset.Arg(0), *out)
	return nil
}

// rendered is what a template run gave besides its files.
type rendered struct {
	warnings []string
	output   map[string]any
}

// templateSource is a template entity and how its steps open the files
// beside it.
type templateSource struct {
	entity map[string]any
	files  func(ctx context.Context, url string) (fs.FS, error)
}

// dirTemplate reads the template of a directory.
func dirTemplate(dir string) (templateSource, error) {
	data, err := os.ReadFile(filepath.Join(dir, "template.yaml"))
	if err != nil {
		return templateSource{}, paved.Invalid("cannot read the template", paved.Detail{Field: dir, Reason: "no template.yaml"})
	}
	var entity map[string]any
	if err := yaml.Unmarshal(data, &entity); err != nil {
		return templateSource{}, paved.Invalid("cannot read the template", paved.Detail{Field: filepath.Join(dir, "template.yaml"), Reason: err.Error()})
	}
	return templateSource{entity: entity, files: dirFiles(dir)}, nil
}

// templateSourceOf is arg's template: a directory, or else a reference
// to a Template of the catalog, read from the configured database, its
// files beside the file it was registered from, under the reading rules.
func templateSourceOf(ctx context.Context, arg string, cfgFlags map[string]*string, getenv func(string) string) (templateSource, func(), error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		src, err := dirTemplate(arg)
		return src, func() {}, err
	}
	ref, err := catalog.ParseRef(arg, "template", "default")
	if err != nil || !strings.EqualFold(ref.Kind, "template") {
		return templateSource{}, nil, usageError{fmt.Errorf("paved template render: %q is neither a template directory nor a template reference", arg)}
	}
	var cfgArgs []string
	for name, v := range cfgFlags {
		if *v != "" {
			cfgArgs = append(cfgArgs, "--"+name, *v)
		}
	}
	cfg, err := config.LoadNoArgs("template render", cfgArgs, getenv)
	if err != nil {
		return templateSource{}, nil, err
	}
	db, _, err := openMigrated(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return templateSource{}, nil, err
	}
	entity, err := catalog.NewStore(db).EntityByRef(ctx, ref)
	if err != nil {
		db.Close()
		return templateSource{}, nil, err
	}
	policy := catalog.NewPolicy(cfg.Catalog)
	files := func(ctx context.Context, url string) (fs.FS, error) { return policy.TemplateFiles(ctx, entity, url) }
	return templateSource{entity: entity, files: files}, func() { db.Close() }, nil
}

// renderTemplate runs the template as a dry run into out.
func renderTemplate(ctx context.Context, src templateSource, values map[string]any, out string) (rendered, error) {
	var res rendered
	tpl, err := scaffolder.ParseTemplate(src.entity)
	if err != nil {
		return res, err
	}
	if err := tpl.CheckValues(values); err != nil {
		return res, err
	}
	ws, err := os.OpenRoot(out)
	if err != nil {
		return res, err
	}
	defer ws.Close()
	engine := &render.Engine{HostType: func(string) (string, bool) { return "git", true }}
	gitea := publish.Gitea{Hosts: func(host string) (publish.Host, bool) { return publish.Host{BaseURL: "https://" + host}, true }}
	actions, err := scaffolder.NewRegistry(fetch.Template{Render: engine}, fetch.TemplateFile{Render: engine}, fetch.Plain{}, fetch.PlainFile{},
		catalogactions.Write{}, debug.Log{}, gitea, publish.Git{})
	if err != nil {
		return res, err
	}
	var log bytes.Buffer
	handler := slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: dropTime})
	x := &scaffolder.Execution{Template: tpl, Values: values, Workspace: ws, Files: src.files, DryRun: true,
		Log: slog.New(handler), Render: engine, Actions: actions}
	_, res.output, err = x.Run(ctx)
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if line != "" {
			res.warnings = append(res.warnings, line)
		}
	}
	return res, err
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
		return slog.Attr{}
	}
	return a
}

func printWarnings(w io.Writer, warnings []string) {
	for _, line := range warnings {
		fmt.Fprintln(w, "warning:", line)
	}
}

// dirFiles resolves fetch:* urls relative to the template's directory.
func dirFiles(dir string) func(context.Context, string) (fs.FS, error) {
	root := os.DirFS(dir)
	return func(_ context.Context, url string) (fs.FS, error) {
		p := path.Clean(strings.TrimPrefix(url, "./"))
		if strings.Contains(url, "://") || !fs.ValidPath(p) {
			return nil, paved.Invalid("invalid step input", paved.Detail{Field: "input.url", Reason: fmt.Sprintf("%q: a local render reads only the template's own directory", url)})
		}
		return fs.Sub(root, p)
	}
}

func readValues(file string) (map[string]any, error) {
	values := map[string]any{}
	if file == "" {
		return values, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, paved.Invalid("cannot read the values", paved.Detail{Field: file, Reason: err.Error()})
	}
	return values, nil
}

// templateTest renders each tests/NAME.values.yaml and compares with
// tests/NAME/: the template testing Backstage users build throwaway
// repositories for.
func templateTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("paved template test", flag.ContinueOnError)
	update := fset.Bool("update", false, "rewrite the expected files from what renders now")
	if err := parseFlagSet(fset, args); err != nil {
		return helpOr(err, stdout)
	}
	if fset.NArg() != 1 {
		return usageError{errors.New("paved template test: name one template directory")}
	}
	dir := fset.Arg(0)
	cases, _ := filepath.Glob(filepath.Join(dir, "tests", "*.values.yaml"))
	if len(cases) == 0 {
		return paved.Invalid("nothing to test", paved.Detail{Field: dir, Reason: "no tests/*.values.yaml"})
	}
	failed := 0
	for _, valuesFile := range cases {
		name := strings.TrimSuffix(filepath.Base(valuesFile), ".values.yaml")
		problems, err := testCase(ctx, dir, name, valuesFile, *update, stderr)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %v\n", name, err)
		case len(problems) > 0:
			failed++
			fmt.Fprintf(stdout, "FAIL %s\n", name)
			for _, p := range problems {
				fmt.Fprintf(stdout, "  %s\n", p)
			}
		case *update:
			fmt.Fprintf(stdout, "updated %s\n", name)
		default:
			fmt.Fprintf(stdout, "ok   %s\n", name)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d template tests failed", failed, len(cases))
	}
	return nil
}

func testCase(ctx context.Context, dir, name, valuesFile string, update bool, stderr io.Writer) ([]string, error) {
	values, err := readValues(valuesFile)
	if err != nil {
		return nil, err
	}
	got, err := os.MkdirTemp("", "paved-template-test-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(got)
	src, err := dirTemplate(dir)
	if err != nil {
		return nil, err
	}
	res, err := renderTemplate(ctx, src, values, got)
	printWarnings(stderr, res.warnings)
	if err != nil {
		return nil, err
	}
	want := filepath.Join(dir, "tests", name)
	if update {
		if err := os.RemoveAll(want); err != nil {
			return nil, err
		}
		return nil, os.CopyFS(want, os.DirFS(got))
	}
	return compareDirs(got, want)
}

// compareDirs lists how got differs from want, file by file.
func compareDirs(got, want string) ([]string, error) {
	gotFiles, err := readTree(got)
	if err != nil {
		return nil, err
	}
	wantFiles, err := readTree(want)
	if err != nil {
		return nil, fmt.Errorf("no expected files in %s (run with --update to write them)", want)
	}
	var names []string
	for n := range gotFiles {
		names = append(names, n)
	}
	for n := range wantFiles {
		if _, ok := gotFiles[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var problems []string
	for _, n := range names {
		g, inGot := gotFiles[n]
		w, inWant := wantFiles[n]
		switch {
		case !inGot:
			problems = append(problems, n+": expected, not rendered")
		case !inWant:
			problems = append(problems, n+": rendered, not expected")
		case g != w:
			problems = append(problems, n+": "+firstDifference(g, w))
		}
	}
	return problems, nil
}

func readTree(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		out[p] = string(data)
		return err
	})
	return out, err
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d: rendered %q, expected %q", i+1, gl, wl)
		}
	}
	return "differs"
}
