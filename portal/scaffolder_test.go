package portal

import (
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
	catalogactions "github.com/paved-dev/paved/scaffolder/actions/catalog"
	"github.com/paved-dev/paved/scaffolder/actions/debug"
	"github.com/paved-dev/paved/scaffolder/actions/fetch"
	"github.com/paved-dev/paved/scaffolder/render"
)

const compatCases = "../scaffolder/actions/fetch/testdata/compat"

func scaffolderServer(t testing.TB) *Server {
	t.Helper()
	engine := &render.Engine{HostType: func(host string) (string, bool) { return "github", host == "github.com" }}
	actions, err := scaffolder.NewRegistry(fetch.Template{Render: engine}, fetch.TemplateFile{Render: engine}, fetch.Plain{}, fetch.PlainFile{}, catalogactions.Write{}, debug.Log{})
	if err != nil {
		t.Fatal(err)
	}
	return NewServer(testOptions, testsupport.DiscardLogger(), testsupport.OpenDB(t, database.SQLite),
		Services{Scaffolder: Scaffolder{Actions: actions, Render: engine}})
}

// dryRunBody is a dry-run request for a case directory of compatCases.
func dryRunBody(t *testing.T, dir string) map[string]any {
	t.Helper()
	var entity, values map[string]any
	for name, v := range map[string]*map[string]any{"template.yaml": &entity, "values.yaml": &values} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	var files []any
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		files = append(files, map[string]any{"path": filepath.ToSlash(rel), "base64Content": base64.StdEncoding.EncodeToString(data)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"template": entity, "values": values, "secrets": map[string]any{}, "directoryContents": files}
}

// files decodes a dry-run answer's directoryContents.
func files(t *testing.T, answer map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	list, _ := answer["directoryContents"].([]any)
	for _, f := range list {
		m := f.(map[string]any)
		data, err := base64.StdEncoding.DecodeString(m["base64Content"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out[m["path"].(string)] = string(data)
	}
	return out
}

// Paved's POST /api/scaffolder/v2/dry-run and Backstage's answer the same
// request with the same files and output.
func TestDryRunMatchesBackstage(t *testing.T) {
	cases, err := filepath.Glob(compatCases + "/*")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	b := testsupport.StartBackstage(t)
	s := scaffolderServer(t)
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			body := dryRunBody(t, dir)
			ours := call(t, s, "POST", "/api/scaffolder/v2/dry-run", body, http.StatusOK)
			theirs := b.DryRun(t, body)
			if got, want := files(t, ours), files(t, theirs); !reflect.DeepEqual(got, want) {
				t.Errorf("files differ:\npaved     %q\nbackstage %q", got, want)
			}
			if !reflect.DeepEqual(ours["output"], theirs["output"]) {
				t.Errorf("output: paved %v, backstage %v", ours["output"], theirs["output"])
			}
		})
	}
}

func TestDryRunWarnsAboutCIExpressions(t *testing.T) {
	s := scaffolderServer(t)
	body := dryRunBody(t, compatCases+"/extension")
	out := call(t, s, "POST", "/api/scaffolder/v2/dry-run", body, http.StatusOK)
	log, _ := json.Marshal(out["log"])
	// The extension case renders only .njk files: its workflow is copied,
	// so there is nothing to warn about.
	if strings.Contains(string(log), `"level":"warn"`) {
		t.Fatalf("warnings for a file that was not rendered: %s", log)
	}
	body = dryRunBody(t, compatCases+"/basics")
	out = call(t, s, "POST", "/api/scaffolder/v2/dry-run", body, http.StatusOK)
	log, _ = json.Marshal(out["log"])
	if !strings.Contains(string(log), `"level":"warn"`) || !strings.Contains(string(log), "github.sha") {
		t.Fatalf("log = %s, want a warning about ${{ github.sha }}", log)
	}
	if steps := out["steps"].([]any); steps[0].(map[string]any)["status"] != "completed" {
		t.Fatalf("steps = %v", steps)
	}
}

func TestDryRunRefuses(t *testing.T) {
	s := scaffolderServer(t)
	good := dryRunBody(t, compatCases+"/basics")
	withFiles := func(files ...any) map[string]any {
		b := map[string]any{}
		for k, v := range good {
			b[k] = v
		}
		b["directoryContents"] = files
		return b
	}
	file := func(p, content string) any {
		return map[string]any{"path": p, "base64Content": base64.StdEncoding.EncodeToString([]byte(content))}
	}
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"NoTemplate", map[string]any{"values": map[string]any{}}, "template"},
		{"BadValues", map[string]any{"template": good["template"], "values": map[string]any{"name": 3}}, "/name"},
		{"EscapingPath", withFiles(file("../../etc/x", "x")), "directoryContents[0].path"},
		{"RenderError", withFiles(file("skeleton/a.txt", "ok\n${{ values.name | nosuch }}\n")), "a.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := call(t, s, "POST", "/api/scaffolder/v2/dry-run", tt.body, http.StatusBadRequest)
			details, _ := json.Marshal(out)
			if !strings.Contains(string(details), `"field":"`+tt.field+`"`) {
				t.Fatalf("answer %s, want a detail for %s", details, tt.field)
			}
		})
	}
}

// A template in the catalog serves its form pages in Backstage's shape.
func TestParameterSchema(t *testing.T) {
	s, store := newCatalogServer(t, database.SQLite)
	docs, err := catalog.ParseDocuments([]byte(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: go-service, title: Go service, description: An HTTP service}
spec:
  owner: team-a
  type: service
  parameters:
    - title: Service
      properties: {name: {type: string}}
    - properties: {port: {type: integer}}
  steps: [{id: log, action: debug:log}]
`))
	if err != nil {
		t.Fatal(err)
	}
	raw, errs := catalog.NewRaw(docs[0].Value)
	if errs != nil {
		t.Fatal(errs)
	}
	loc, err := store.CreateLocation(t.Context(), "url", "https://git.example.com/t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ApplyLocation(t.Context(), loc, catalog.Emitted{Entities: []catalog.Raw{raw}}, catalog.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	out := call(t, s, "GET", "/api/scaffolder/v2/templates/default/template/go-service/parameter-schema", nil, http.StatusOK)
	want := map[string]any{"title": "Go service", "description": "An HTTP service", "steps": []any{
		map[string]any{"title": "Service", "schema": map[string]any{"title": "Service", "properties": map[string]any{"name": map[string]any{"type": "string"}}}},
		map[string]any{"title": "Please enter the following information", "schema": map[string]any{"properties": map[string]any{"port": map[string]any{"type": "integer"}}}},
	}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("parameter-schema = %v\nwant %v", out, want)
	}
	call(t, s, "GET", "/api/scaffolder/v2/templates/default/template/nope/parameter-schema", nil, http.StatusNotFound)
	call(t, s, "GET", "/api/scaffolder/v2/templates/default/component/x/parameter-schema", nil, http.StatusBadRequest)
}
