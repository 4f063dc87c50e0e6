package testsupport_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/paved-dev/paved/internal/testsupport"
)

func TestGitServerAcceptsPushWithToken(t *testing.T) {
	srv := testsupport.NewGitServer(t)
	srv.CreateRepo(t, "payments")

	work := srv.Clone(t, "payments")
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("# payments\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testsupport.Git(t, work, "add", "README.md")
	testsupport.Git(t, work, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "first")
	testsupport.Git(t, work, "push", "-q", "origin", "main")

	again := srv.Clone(t, "payments")
	got, err := os.ReadFile(filepath.Join(again, "README.md"))
	if err != nil || string(got) != "# payments\n" {
		t.Fatalf("fresh clone README.md = %q, %v; want the pushed content", got, err)
	}
}

func TestGitServerRefusesWrongToken(t *testing.T) {
	srv := testsupport.NewGitServer(t)
	srv.CreateRepo(t, "payments")
	wrong := strings.Replace(srv.RepoURL("payments"), "://", "://"+srv.User+":not-the-token@", 1)
	cmd := exec.Command("git", "ls-remote", wrong)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Authentication failed") {
		t.Fatalf("git ls-remote with a wrong token: err = %v, output %q; want an authentication failure", err, out)
	}
}

func TestControlPlaneServesTheKubernetesAPI(t *testing.T) {
	cp := testsupport.Kubernetes(t)
	ns := cp.Namespace(t)
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "probe", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("read back ConfigMap = %v, %v", got, err)
	}
	info, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if info.GitVersion != "v1.35.4" {
		t.Fatalf("kube-apiserver reports version %q, want the stamped v1.35.4", info.GitVersion)
	}
}

func TestPostgresURLIsolatesTests(t *testing.T) {
	a, b := testsupport.PostgresURL(t), testsupport.PostgresURL(t)
	if a == b {
		t.Fatalf("two calls returned the same schema URL %q", a)
	}
	if !strings.Contains(a, "search_path=t_testpostgresurlisolatestests_") {
		t.Fatalf("schema URL %q does not name the test's schema", a)
	}
}

// The scaffolder pushes with go-git; the server must take that push and the
// real git CLI must clone what it pushed.
func TestGitServerAcceptsGoGitPush(t *testing.T) {
	srv := testsupport.NewGitServer(t)
	url := srv.CreateRepo(t, "orders")

	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.Main},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "catalog-info.yaml"), []byte("kind: Component\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add("catalog-info.yaml"); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Paved", Email: "paved@example.com", When: time.Now()}
	if _, err := wt.Commit("scaffold", &git.CommitOptions{Author: sig}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		t.Fatal(err)
	}
	push := func(token string) error {
		return repo.Push(&git.PushOptions{RemoteName: "origin", Auth: &githttp.BasicAuth{Username: srv.User, Password: token}})
	}
	if err := push("wrong"); err == nil || !strings.Contains(err.Error(), "authentication required") {
		t.Fatalf("push with a wrong token: err = %v, want authentication required", err)
	}
	if err := push(srv.Token); err != nil {
		t.Fatal(err)
	}
	clone := srv.Clone(t, "orders")
	if got := testsupport.Git(t, clone, "log", "--format=%s", "-1"); strings.TrimSpace(got) != "scaffold" {
		t.Fatalf("cloned head commit = %q, want scaffold", got)
	}
}

// The Gitea harness serves its API with the admin token it made.
func TestStartGitea(t *testing.T) {
	g := testsupport.StartGitea(t)
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/api/v1/user", nil)
	req.Header.Set("Authorization", "token "+g.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var user struct {
		Login   string `json:"login"`
		IsAdmin bool   `json:"is_admin"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&user); err != nil || user.Login != g.User || !user.IsAdmin {
		t.Fatalf("GET /user = %d %+v %v", resp.StatusCode, user, err)
	}
}

// The real upstream CRDs install into the test harness's kube-apiserver
// and are served (envtest waits until every one is established). SMI's
// are left out: the archived project publishes apiextensions.k8s.io/v1beta1
// CRDs without schemas, which no API server since 1.22 accepts as shipped.
func TestUpstreamCRDsInstall(t *testing.T) {
	dir := testsupport.UpstreamCRDs(t)
	cp := testsupport.Kubernetes(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "smi" {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	if len(paths) < 6 {
		t.Fatalf("%d projects in %s", len(paths), dir)
	}
	cp.InstallCRDs(t, paths...)
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	client := dynamic.NewForConfigOrDie(cp.Config)
	for _, name := range []string{"applications.argoproj.io", "gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io",
		"pipelineruns.tekton.dev", "virtualservices.networking.istio.io", "servicemonitors.monitoring.coreos.com"} {
		if _, err := client.Resource(crds).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			t.Errorf("CRD %s: %v", name, err)
		}
	}
}
