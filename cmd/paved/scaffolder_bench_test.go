package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// benchTemplate is a whole golden-path task: render a skeleton with a
// kustomize base and two overlays, check the request and every object
// against the default policies, create the repository on Gitea and push,
// register it in the catalog, provision one environment.
const benchTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: bench}
spec:
  owner: group:default/platform
  type: service
  parameters:
    - required: [name]
      properties: {name: {type: string}}
  steps:
    - {id: fetch, action: fetch:template, input: {url: ./skeleton, values: {name: '${{ parameters.name }}'}}}
    - id: policy
      action: paved:policy:check
      input: {service: {name: '${{ parameters.name }}', owner: group:default/payments, timeoutSeconds: 10}}
    - {id: publish, action: publish:gitea, input: {repoUrl: '%s?repo=${{ parameters.name }}', defaultBranch: main}}
    - {id: register, action: catalog:register, input: {repoContentsUrl: '${{ steps.publish.output.repoContentsUrl }}'}}
    - {id: env, action: kube:namespace, input: {team: payments, service: '${{ parameters.name }}', environments: [dev]}}
`

// taskBench is a paved serve (in this process, so its memory can be
// read) on a real Gitea and kube-apiserver, with the bench template.
type taskBench struct {
	srv *started
	seq atomic.Int64
}

func newTaskBench(b *testing.B, dialect database.Dialect) *taskBench {
	gitea := testsupport.StartGitea(b)
	cp := testsupport.Kubernetes(b)
	gu, _ := url.Parse(gitea.URL)
	dir := b.TempDir()
	tplDir := filepath.Join(dir, "templates", "bench")
	if err := os.CopyFS(filepath.Join(tplDir, "skeleton"), os.DirFS(filepath.Join("..", "..", "scaffolder", "actions", "policy", "testdata", "service"))); err != nil {
		b.Fatal(err)
	}
	writeFile(b, tplDir, "skeleton/catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: '${{ values.name }}'}\nspec: {type: service, lifecycle: experimental, owner: group:default/payments}\n")
	writeFile(b, tplDir, "template.yaml", fmt.Sprintf(benchTemplate, gu.Host))
	config := writeFile(b, dir, "paved.yaml", fmt.Sprintf(`catalog:
  reading:
    allow: [{dir: %s}, {host: "%s"}]
    networks: [127.0.0.0/8]
integrations:
  gitea: [{host: "%s", username: %s, token: %s, baseUrl: %s}]
`, filepath.Join(dir, "templates"), gu.Host, gu.Host, gitea.User, gitea.Token, gitea.URL))
	s := startServe(b, nil, "--config", config, "--data-dir", filepath.Join(dir, "data"), "--database-url", testsupport.DatabaseURL(b, dialect),
		"--kubeconfig", cp.WriteKubeconfig(b),
		"--namespace", "paved-system", "--log-level", "warn", "--scaffolder-concurrency", "20")
	if code, body := postJSON(b, s.url+"/api/catalog/locations", fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(tplDir, "template.yaml"))); code != http.StatusCreated {
		b.Fatalf("register the template: %d %s", code, body)
	}
	waitFor(b, 30*time.Second, "the template", func() bool {
		code, _ := get(b, s.url+"/api/catalog/entities/by-name/template/default/bench")
		return code == http.StatusOK
	})
	return &taskBench{srv: s}
}

// submit creates a task and returns its id.
func (tb *taskBench) submit(b *testing.B) string {
	name := fmt.Sprintf("svc-%d", tb.seq.Add(1))
	code, body := postJSON(b, tb.srv.url+"/api/scaffolder/v2/tasks", `{"templateRef":"template:default/bench","values":{"name":"`+name+`"}}`)
	var created struct{ ID string }
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil {
		b.Fatalf("POST task = %d %s", code, body)
	}
	return created.ID
}

// wait polls the task until it ends; it must complete.
func (tb *taskBench) wait(b *testing.B, id string) {
	for {
		ts := taskOf(b, tb.srv.url, id)
		switch ts.Status {
		case "completed":
			return
		case "failed", "cancelled":
			b.Fatalf("task %s %s: %s", id, ts.Status, ts.Error)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkTask is one whole task at a time, from POST to completed.
func BenchmarkTask(b *testing.B) {
	for _, dialect := range testsupport.Dialects {
		b.Run(string(dialect), func(b *testing.B) {
			tb := newTaskBench(b, dialect)
			tb.wait(b, tb.submit(b)) // warm: first clone, first namespace
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				tb.wait(b, tb.submit(b))
				took = append(took, time.Since(start))
			}
			reportPercentiles(b, took)
		})
	}
}

// BenchmarkTasks20 submits 20 tasks at once and waits for all: the time
// of the batch, the throughput, and the heap the running tasks hold.
func BenchmarkTasks20(b *testing.B) {
	for _, dialect := range testsupport.Dialects {
		b.Run(string(dialect), func(b *testing.B) { benchTasks20(b, dialect) })
	}
}

func benchTasks20(b *testing.B, dialect database.Dialect) {
	tb := newTaskBench(b, dialect)
	tb.wait(b, tb.submit(b))
	const n = 20
	var peak atomic.Uint64
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		done := make(chan struct{})
		go samplePeakHeap(done, &peak)
		start := time.Now()
		ids := make([]string, n)
		for i := range ids {
			ids[i] = tb.submit(b)
		}
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Add(1)
			go func() { defer wg.Done(); tb.wait(b, id) }()
		}
		wg.Wait()
		took := time.Since(start)
		close(done)
		b.ReportMetric(float64(n)/took.Seconds(), "tasks/s")
		if p := peak.Load(); p > base.HeapAlloc {
			b.ReportMetric(float64(p-base.HeapAlloc)/n/(1<<20), "MiB-heap/task")
		}
	}
}

// samplePeakHeap records the largest heap in use until done.
func samplePeakHeap(done chan struct{}, peak *atomic.Uint64) {
	peak.Store(0)
	for {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapAlloc > peak.Load() {
			peak.Store(m.HeapAlloc)
		}
		select {
		case <-done:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func reportPercentiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "p90-ms")
}
