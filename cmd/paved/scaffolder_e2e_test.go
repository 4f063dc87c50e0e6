package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// process is a real `paved` process (the test binary running main), so a
// test can kill it with SIGKILL.
type process struct {
	cmd    *exec.Cmd
	url    string
	stderr *testsupport.SyncBuffer
	// exited is closed when the process has exited; err is then set.
	exited chan struct{}
	err    error
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--", "serve", "--listen", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	p := &process{cmd: cmd, stderr: &testsupport.SyncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.exited })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("paved did not start: %v\n%s", err, p.stderr)
	}
	go io.Copy(io.Discard, stdout)
	p.url = strings.TrimSpace(strings.TrimPrefix(line, "paved listening on "))
	return p
}

func postJSON(t testing.TB, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// waitFor polls until ok or fails the test after limit.
func waitFor(t testing.TB, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type taskState struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Steps  []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"steps"`
}

func taskOf(t testing.TB, base, id string) taskState {
	t.Helper()
	code, body := get(t, base+"/api/scaffolder/v2/tasks/"+id)
	var ts taskState
	if code != http.StatusOK || json.Unmarshal([]byte(body), &ts) != nil {
		t.Fatalf("GET task = %d %s", code, body)
	}
	return ts
}

const goldenPathTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: resumable
  title: A service, created by a task that survives its worker
spec:
  owner: group:default/platform
  type: service
  parameters:
    - title: Service
      required: [name]
      properties:
        name: {type: string, pattern: '^[a-z][a-z0-9-]*$'}
        timeout: {type: integer, default: 10}
  steps:
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {name: '${{ parameters.name }}'}}
    - id: policy
      action: paved:policy:check
      input:
        service: {name: '${{ parameters.name }}', owner: group:default/payments, timeoutSeconds: '${{ parameters.timeout }}'}
    - id: publish
      action: publish:gitea
      input: {repoUrl: '%s?repo=${{ parameters.name }}', defaultBranch: main}
    - id: register
      action: catalog:register
      input: {repoContentsUrl: '${{ steps.publish.output.repoContentsUrl }}', catalogInfoPath: /catalog-info.yaml}
    - id: wait
      action: debug:wait
      input: {seconds: 5}
    - id: environments
      action: kube:namespace
      input: {team: payments, service: '${{ parameters.name }}', environments: [dev]}
  output:
    links:
      - {title: Repository, url: '${{ steps.publish.output.remoteUrl }}'}
      - {title: Catalog, entityRef: '${{ steps.register.output.entityRef }}'}
`

const refusedTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: refused}
spec:
  owner: group:default/platform
  type: service
  steps:
    - {id: fetch, action: fetch:template, input: {url: ../resumable/skeleton, values: {name: doomed}}}
    - {id: publish, action: publish:gitea, input: {repoUrl: '%s?repo=doomed', defaultBranch: main}}
    - {id: mirror, action: publish:git, input: {remoteUrl: '%s'}}
`

// A task survives its worker: `paved serve` is killed with SIGKILL while
// the task runs (after it created the repository and registered it);
// another `paved serve` on the same database resumes the task after its
// last completed step. In the end: task completed, one repository on a
// real Gitea (cloned back with the git CLI), one catalog location with
// the Component and its owner, one set of namespaces on a real
// kube-apiserver. Then, on the same server: a request outside policy
// fails before anything is created, and a push the host refuses fails
// with the host's answer after undoing the repository created before.
func TestTaskResumesAfterServeIsKilled(t *testing.T) {
	testsupport.ForEachDialect(t, testTaskResumes)
}

func testTaskResumes(t *testing.T, dialect database.Dialect) {
	gitea := testsupport.StartGitea(t)
	cp := testsupport.Kubernetes(t)
	gu, _ := url.Parse(gitea.URL)
	dir := t.TempDir()
	tplDir := filepath.Join(dir, "templates", "resumable")
	writeFile(t, tplDir, "template.yaml", fmt.Sprintf(goldenPathTemplate, gu.Host))
	writeFile(t, tplDir, "skeleton/catalog-info.yaml", `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${{ values.name }}
spec:
  type: service
  lifecycle: experimental
  owner: group:default/payments
`)
	writeFile(t, tplDir, "skeleton/README.md", "# ${{ values.name }}\n")
	mirror := testsupport.NewGitServer(t) // it refuses the password Paved is given
	mu, _ := url.Parse(mirror.URL)
	writeFile(t, filepath.Join(dir, "templates", "refused"), "template.yaml", fmt.Sprintf(refusedTemplate, gu.Host, mirror.CreateRepo(t, "mirror")))
	config := writeFile(t, dir, "paved.yaml", fmt.Sprintf(`catalog:
  reading:
    allow:
      - dir: %s
      - host: %s
      - host: %s
    networks: [127.0.0.0/8]
integrations:
  gitea: [{host: "%s", username: %s, token: %s, baseUrl: %s}]
  git: [{host: "%s", username: %s, password: wrong-password}]
`, filepath.Join(dir, "templates"), gu.Host, mu.Host, gu.Host, gitea.User, gitea.Token, gitea.URL, mu.Host, mirror.User))
	args := []string{"--config", config, "--data-dir", filepath.Join(dir, "data"), "--database-url", testsupport.DatabaseURL(t, dialect),
		"--kubeconfig", cp.WriteKubeconfig(t),
		"--namespace", "paved-system", "--scaffolder-heartbeat-interval", "300ms", "--scaffolder-task-stale-after", "2s"}

	first := startProcess(t, args...)
	if code, body := postJSON(t, first.url+"/api/catalog/locations", fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(tplDir, "template.yaml"))); code != http.StatusCreated {
		t.Fatalf("register the template: %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "the template in the catalog", func() bool {
		code, _ := get(t, first.url+"/api/catalog/entities/by-name/template/default/resumable")
		return code == http.StatusOK
	})
	code, body := postJSON(t, first.url+"/api/scaffolder/v2/tasks", `{"templateRef":"template:default/resumable","values":{"name":"orders"}}`)
	var created struct{ ID string }
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil || created.ID == "" {
		t.Fatalf("POST task = %d %s", code, body)
	}
	waitFor(t, 60*time.Second, "the task to reach its wait step", func() bool {
		ts := taskOf(t, first.url, created.ID)
		if ts.Status == "failed" {
			t.Fatalf("task failed before the kill: %s\n%s", ts.Error, first.stderr)
		}
		return len(ts.Steps) == 6 && ts.Steps[4].Status == "processing"
	})
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no last heartbeat
		t.Fatal(err)
	}
	<-first.exited

	second := startProcess(t, args...)
	var final taskState
	waitFor(t, 90*time.Second, "the resumed task to end", func() bool {
		final = taskOf(t, second.url, created.ID)
		return final.Status == "completed" || final.Status == "failed"
	})
	if final.Status != "completed" {
		t.Fatalf("resumed task %s: %s\nlogs:\n%s", final.Status, final.Error, second.stderr)
	}

	_, events := get(t, second.url+"/api/scaffolder/v2/tasks/"+created.ID+"/events")
	if !strings.Contains(events, "Resuming after step register") {
		t.Errorf("the event log does not show the resume:\n%s", events)
	}
	if n := strings.Count(events, "Beginning step publish"); n != 1 {
		t.Errorf("publish began %d times, want once:\n%s", n, events)
	}
	assertOneRepository(t, gitea, "orders")

	// A request outside policy fails at the check, before anything exists.
	code, body = postJSON(t, second.url+"/api/scaffolder/v2/tasks", `{"templateRef":"template:default/resumable","values":{"name":"slow","timeout":45}}`)
	var denied struct{ ID string }
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &denied) != nil {
		t.Fatalf("POST task = %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "the denied task to end", func() bool {
		return taskOf(t, second.url, denied.ID).Status != "open" && taskOf(t, second.url, denied.ID).Status != "processing"
	})
	if ts := taskOf(t, second.url, denied.ID); ts.Status != "failed" || !strings.Contains(ts.Error, "service_timeout") || ts.Steps[2].Status != "open" {
		t.Errorf("task outside policy: %+v", ts)
	}
	assertOneRepository(t, gitea, "orders")

	// A push the host refuses fails the step with the host's answer, and
	// the repository the task created before is deleted.
	if code, body := postJSON(t, second.url+"/api/catalog/locations", fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(dir, "templates", "refused", "template.yaml"))); code != http.StatusCreated {
		t.Fatalf("register the refused template: %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "the refused template in the catalog", func() bool {
		code, _ := get(t, second.url+"/api/catalog/entities/by-name/template/default/refused")
		return code == http.StatusOK
	})
	code, body = postJSON(t, second.url+"/api/scaffolder/v2/tasks", `{"templateRef":"template:default/refused"}`)
	var refused struct{ ID string }
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &refused) != nil {
		t.Fatalf("POST task = %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "the refused task to end", func() bool {
		st := taskOf(t, second.url, refused.ID).Status
		return st != "open" && st != "processing"
	})
	_, body = get(t, second.url+"/api/scaffolder/v2/tasks/"+refused.ID)
	if ts := taskOf(t, second.url, refused.ID); ts.Status != "failed" || !strings.Contains(ts.Error, "authentication") ||
		!strings.Contains(body, `"id":"publish","status":"completed","output"`) || !strings.Contains(body, `"undo":"undone"`) {
		t.Errorf("refused task: %s", body)
	}
	assertOneRepository(t, gitea, "orders")
	_, locs := get(t, second.url+"/api/catalog/locations")
	if n := strings.Count(locs, "/orders.git/catalog-info.yaml"); n != 1 {
		t.Errorf("%d locations of the new repository, want 1: %s", n, locs)
	}
	if code, body := get(t, second.url+"/api/catalog/entities/by-name/component/default/orders"); code != http.StatusOK ||
		!strings.Contains(body, `"type":"ownedBy","targetRef":"group:default/payments"`) {
		t.Errorf("the new component is not in the catalog with its owner: %d %s", code, body)
	}
	clone := filepath.Join(t.TempDir(), "orders")
	authed := strings.Replace(gitea.URL, "://", "://"+gitea.User+":"+gitea.Token+"@", 1) + "/" + gitea.User + "/orders.git"
	testsupport.Git(t, filepath.Dir(clone), "clone", "--quiet", authed, clone)
	if readme, err := os.ReadFile(filepath.Join(clone, "README.md")); err != nil || string(readme) != "# orders\n" {
		t.Errorf("README.md of the clone = %q, %v", readme, err)
	}
	cs := kubernetes.NewForConfigOrDie(cp.Config)
	nss, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=paved"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ns := range nss.Items {
		names = append(names, ns.Name)
	}
	if len(names) != 1 || names[0] != "payments-orders-dev" {
		t.Errorf("provisioned namespaces %v, want [payments-orders-dev]", names)
	}
}

func assertOneRepository(t *testing.T, g *testsupport.Gitea, name string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/api/v1/repos/search?limit=50", nil)
	req.Header.Set("Authorization", "token "+g.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var found struct {
		Data []struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&found); err != nil {
		t.Fatal(err)
	}
	if len(found.Data) != 1 || found.Data[0].Name != name {
		t.Errorf("repositories on Gitea: %+v, want one named %s", found.Data, name)
	}
}
