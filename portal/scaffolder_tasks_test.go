package portal

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
	catalogactions "github.com/paved-dev/paved/scaffolder/actions/catalog"
	"github.com/paved-dev/paved/scaffolder/actions/debug"
	"github.com/paved-dev/paved/scaffolder/actions/fetch"
	"github.com/paved-dev/paved/scaffolder/render"
)

// runQueue runs each queued task at once in the background with the
// runner, as a River worker would; River itself is exercised by the
// end-to-end test of paved serve.
type runQueue struct {
	runner *scaffolder.Runner
	wg     sync.WaitGroup
}

func (q *runQueue) Insert(_ context.Context, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	id := args.(scaffolder.TaskArgs).TaskID
	q.wg.Add(1)
	go func() { defer q.wg.Done(); _ = q.runner.Run(context.Background(), id) }()
	return &rivertype.JobInsertResult{}, nil
}

const taskTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: hello}
spec:
  owner: team-a
  type: service
  parameters:
    - title: Name
      required: [name]
      properties:
        name: {type: string, maxLength: 20}
  steps:
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {name: '${{ parameters.name }}'}}
    - id: log
      action: debug:log
      input: {message: 'token ${{ secrets.token }}', listWorkspace: true}
  output:
    links: [{title: Repo, url: 'https://git.example.com/${{ parameters.name }}'}]
`

const brokenTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: broken}
spec:
  owner: team-a
  type: service
  steps:
    - {id: x, action: publish:nowhere, input: {}}
`

type taskServer struct {
	srv   *Server
	queue *runQueue
	store *scaffolder.TaskStore
}

func newTaskServer(t *testing.T, dialect database.Dialect) *taskServer {
	t.Helper()
	db := testsupport.OpenDB(t, dialect)
	dir := t.TempDir()
	for name, content := range map[string]string{"hello/template.yaml": taskTemplate, "hello/skeleton/README.md": "# ${{ values.name }}\n",
		"broken/template.yaml": brokenTemplate} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	policy := catalog.NewPolicy(catalog.Options{Reading: catalog.ReadingRules{Allow: []catalog.ReadAllow{{Dir: dir}}}})
	store := catalog.NewStore(db)
	in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Log: testsupport.DiscardLogger(), Policy: policy}
	for _, name := range []string{"hello", "broken"} {
		loc, err := store.CreateLocation(context.Background(), catalog.LocationFile, filepath.Join(dir, name, "template.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Refresh(context.Background(), loc, true); err != nil {
			t.Fatal(err)
		}
	}
	key := make([]byte, scaffolder.SecretKeySize)
	_, _ = rand.Read(key)
	sealer, _ := scaffolder.NewSealer(key)
	tasks := scaffolder.NewTaskStore(db, sealer)
	engine := &render.Engine{}
	actions, err := scaffolder.NewRegistry(fetch.Template{Render: engine}, debug.Log{}, catalogactions.Write{})
	if err != nil {
		t.Fatal(err)
	}
	runner := &scaffolder.Runner{Store: tasks, Actions: actions, Render: engine, Files: policy.TemplateFiles, WorkDir: t.TempDir(), Worker: "test",
		Heartbeat: time.Second, StaleAfter: 5 * time.Second, Log: testsupport.DiscardLogger()}
	q := &runQueue{runner: runner}
	t.Cleanup(q.wg.Wait)
	srv := NewServer(testOptions, testsupport.DiscardLogger(), db, Services{Catalog: Catalog{Store: store, Ingester: in},
		Scaffolder: Scaffolder{Actions: actions, Render: engine, Tasks: tasks, Queue: q}})
	return &taskServer{srv: srv, queue: q, store: tasks}
}

func decodeInto(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}

func TestTaskAPI(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ts := newTaskServer(t, dialect)
		rec := do(t, ts.srv, "POST", "/api/scaffolder/v2/tasks", strings.NewReader(
			`{"templateRef":"template:default/hello","values":{"name":"svc"},"secrets":{"token":"s3cret-tok"}}`))
		if rec.Code != http.StatusCreated {
			t.Fatalf("POST tasks = %d %s", rec.Code, rec.Body)
		}
		var created taskCreated
		decodeInto(t, rec.Body.String(), &created)
		ts.queue.wg.Wait()

		rec = do(t, ts.srv, "GET", "/api/scaffolder/v2/tasks/"+created.ID, nil)
		var task taskJSON
		decodeInto(t, rec.Body.String(), &task)
		if rec.Code != 200 || task.Status != "completed" || len(task.Steps) != 2 || task.Steps[1].Status != "completed" {
			t.Fatalf("GET task = %d %s", rec.Code, rec.Body)
		}
		info, _ := task.Spec["templateInfo"].(map[string]any)
		if info["entityRef"] != "template:default/hello" || task.Spec["parameters"].(map[string]any)["name"] != "svc" {
			t.Fatalf("spec = %v", task.Spec)
		}
		if strings.Contains(rec.Body.String(), "s3cret-tok") {
			t.Fatalf("the task shows its secret: %s", rec.Body)
		}

		rec = do(t, ts.srv, "GET", "/api/scaffolder/v2/tasks?status=completed&status=failed&limit=5", nil)
		var list taskList
		decodeInto(t, rec.Body.String(), &list)
		if rec.Code != 200 || list.TotalTasks != 1 || list.Tasks[0].ID != created.ID {
			t.Fatalf("GET tasks = %d %s", rec.Code, rec.Body)
		}
		rec = do(t, ts.srv, "GET", "/api/scaffolder/v2/tasks?status=open", nil)
		decodeInto(t, rec.Body.String(), &list)
		if list.TotalTasks != 0 {
			t.Fatalf("open tasks = %s", rec.Body)
		}

		rec = do(t, ts.srv, "GET", "/api/scaffolder/v2/tasks/"+created.ID+"/events", nil)
		var events []scaffolder.TaskEvent
		decodeInto(t, rec.Body.String(), &events)
		body := rec.Body.String()
		if rec.Code != 200 || len(events) < 4 || events[len(events)-1].Type != "completion" || !strings.Contains(body, "token ***") ||
			!strings.Contains(body, "README.md") || strings.Contains(body, "s3cret-tok") {
			t.Fatalf("events = %d %s", rec.Code, body)
		}
		rec = do(t, ts.srv, "GET", "/api/scaffolder/v2/tasks/"+created.ID+"/events?after="+strconv.FormatInt(events[len(events)-2].ID, 10), nil)
		decodeInto(t, rec.Body.String(), &events)
		if len(events) != 1 || events[0].Type != "completion" {
			t.Fatalf("events after = %s", rec.Body)
		}

		if rec := do(t, ts.srv, "POST", "/api/scaffolder/v2/tasks/"+created.ID+"/retry", nil); rec.Code != http.StatusConflict {
			t.Fatalf("retry of a completed task = %d %s", rec.Code, rec.Body)
		}
		if rec := do(t, ts.srv, "POST", "/api/scaffolder/v2/tasks/"+created.ID+"/cancel", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"completed"`) {
			t.Fatalf("cancel of a completed task = %d %s", rec.Code, rec.Body)
		}
	})
}

// The event stream sends every event as Backstage does (event: type,
// data: the event) and ends with the completion; a client resuming with
// Last-Event-ID gets only what it missed.
func TestTaskEventStream(t *testing.T) {
	ts := newTaskServer(t, database.SQLite)
	rec := do(t, ts.srv, "POST", "/api/scaffolder/v2/tasks", strings.NewReader(`{"templateRef":"template:default/hello","values":{"name":"s"}}`))
	var created taskCreated
	decodeInto(t, rec.Body.String(), &created)
	hs := httptest.NewServer(ts.srv)
	defer hs.Close()
	read := func(lastID string) []string {
		req, _ := http.NewRequest("GET", hs.URL+"/api/scaffolder/v2/tasks/"+created.ID+"/eventstream", nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("Content-Type %q", ct)
		}
		var lines []string
		sc := bufio.NewScanner(resp.Body) // ends when the server ends the stream
		for sc.Scan() {
			if l := sc.Text(); l != "" {
				lines = append(lines, l)
			}
		}
		return lines
	}
	lines := read("")
	if len(lines) < 9 || lines[len(lines)-3] != "id: "+lastID(lines) || !strings.HasPrefix(lines[len(lines)-2], "event: completion") ||
		!strings.HasPrefix(lines[len(lines)-1], "data: {") {
		t.Fatalf("stream:\n%s", strings.Join(lines, "\n"))
	}
	var ev scaffolder.TaskEvent
	decodeInto(t, strings.TrimPrefix(lines[2], "data: "), &ev)
	if lines[1] != "event: log" || ev.TaskID != created.ID || ev.Type != "log" {
		t.Fatalf("first event: %v", lines[:3])
	}
	rest := read(strings.TrimPrefix(lines[len(lines)-6], "id: "))
	if len(rest) != 3 || rest[1] != "event: completion" {
		t.Fatalf("resumed stream:\n%s", strings.Join(rest, "\n"))
	}
}

func lastID(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "id: ") {
			return strings.TrimPrefix(lines[i], "id: ")
		}
	}
	return ""
}

func TestTaskAPIRefuses(t *testing.T) {
	ts := newTaskServer(t, database.SQLite)
	cases := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"NoTemplateRef", "POST", "/api/scaffolder/v2/tasks", `{"values":{}}`, 400, `"field":"templateRef"`},
		{"NotATemplate", "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"component:default/x"}`, 400, "not a template"},
		{"UnknownTemplate", "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/nope"}`, 404, "not found"},
		{"BadValues", "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/hello","values":{"name":"this-name-is-far-too-long-for-it"}}`, 400, `"errors":[{"property":"instance.name","path":["name"]`},
		{"MissingValue", "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/hello","values":{}}`, 400, "name"},
		{"UnknownAction", "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/broken"}`, 400, `spec.steps[0].action`},
		{"NotJSON", "POST", "/api/scaffolder/v2/tasks", `{"templateRef":`, 400, `"field":"body"`},
		{"BadStatus", "GET", "/api/scaffolder/v2/tasks?status=running", "", 400, `"field":"status"`},
		{"BadOrder", "GET", "/api/scaffolder/v2/tasks?order=name", "", 400, `"field":"order"`},
		{"BadLimit", "GET", "/api/scaffolder/v2/tasks?limit=0", "", 400, `"field":"limit"`},
		{"UnknownTask", "GET", "/api/scaffolder/v2/tasks/nope", "", 404, "not found"},
		{"UnknownTaskEvents", "GET", "/api/scaffolder/v2/tasks/nope/events", "", 404, "not found"},
		{"UnknownTaskStream", "GET", "/api/scaffolder/v2/tasks/nope/eventstream", "", 404, "not found"},
		{"RetryUnknown", "POST", "/api/scaffolder/v2/tasks/nope/retry", "", 404, "not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if tc.body != "" {
				rec = do(t, ts.srv, tc.method, tc.path, strings.NewReader(tc.body))
			} else {
				rec = do(t, ts.srv, tc.method, tc.path, nil)
			}
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%s %s = %d %s; want %d with %q", tc.method, tc.path, rec.Code, rec.Body, tc.code, tc.want)
			}
		})
	}
	if _, total, _ := ts.store.ListTasks(context.Background(), scaffolder.TaskFilter{Limit: 10}); total != 0 {
		t.Fatalf("%d tasks stored by refused requests", total)
	}
}

// A client that drops the stream of a task still running frees its
// handler (no goroutine polls on for it).
func TestTaskEventStreamClientDrops(t *testing.T) {
	ts := newTaskServer(t, database.SQLite)
	tpl, err := ts.srv.templateByRef(context.Background(), "template:default/hello")
	if err != nil {
		t.Fatal(err)
	}
	task, err := ts.store.CreateTask(context.Background(), tpl, scaffolder.TaskSpec{Template: tpl.Entity, Values: map[string]any{"name": "x"}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	returned := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.srv.ServeHTTP(w, r)
		close(returned)
	}))
	defer hs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/api/scaffolder/v2/tasks/"+task.ID+"/eventstream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream = %d", resp.StatusCode)
	}
	select {
	case <-returned:
		t.Fatal("the stream of an open task ended by itself")
	case <-time.After(3 * eventPoll):
	}
	cancel()
	resp.Body.Close()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler still runs 5 s after its client left")
	}
}
