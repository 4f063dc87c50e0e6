package kube_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/kube"
	"github.com/paved-dev/paved/scaffolder/provision"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := testsupport.StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	os.Exit(code)
}

var seq atomic.Int64

func unique(prefix string) string {
	return fmt.Sprintf("%s%d%d", prefix, os.Getpid()%1000, seq.Add(1))
}

// newProvisioner provisions into a real API server with the Argo CD, Tekton
// and Flux CRDs and an argocd namespace, recording in a new database.
func newProvisioner(t *testing.T) *provision.Provisioner {
	t.Helper()
	cp := testsupport.SharedKubernetes(t)
	cp.InstallCRDs(t, "../../provision/testdata/crds")
	c, err := provision.NewCluster(provision.DefaultCluster, cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Typed.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	s := provision.DefaultSettings()
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	db := testsupport.OpenDB(t, database.SQLite)
	return provision.New(s, map[string]*provision.Cluster{provision.DefaultCluster: c}, provision.NewStore(db), testsupport.DiscardLogger())
}

// TestActions runs kube:namespace then kube:pipeline as a template would,
// through the scaffolder's registry, then the namespace step's undo.
func TestActions(t *testing.T) {
	p := newProvisioner(t)
	ctx := context.Background()
	reg, err := scaffolder.NewRegistry(kube.Actions(p)...)
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := reg.Action("kube:namespace")
	pipeline, _ := reg.Action("kube:pipeline")
	team, svc := unique("team"), unique("svc")
	nsInput := map[string]any{"team": team, "service": svc, "environments": []any{"dev"}}

	// A dry run says what it would provision and applies nothing.
	dry := call(nsInput)
	dry.DryRun = true
	planned, err := ns.Run(ctx, dry)
	if err != nil {
		t.Fatal(err)
	}
	if envs := planned["environments"].([]any); len(envs) != 1 || envs[0].(map[string]any)["status"] != "planned" ||
		envs[0].(map[string]any)["namespace"] != team+"-"+svc+"-dev" {
		t.Fatalf("dry run output = %v", planned)
	}
	if _, err := p.Store().Get(ctx, svc, "dev"); paved.ErrorCode(err) != paved.CodeNotFound {
		t.Fatalf("a dry run provisioned: %v", err)
	}

	out, err := ns.Run(ctx, call(nsInput))
	if err != nil {
		t.Fatal(err)
	}
	if got := out["namespaces"].(map[string]any)["dev"]; got != team+"-"+svc+"-dev" {
		t.Errorf("namespace output = %v", out)
	}
	if envs := out["environments"].([]any); len(envs) != 1 || envs[0].(map[string]any)["created"] != true {
		t.Errorf("environments output = %v, want dev created by this step", out["environments"])
	}
	if _, err := pipeline.Run(ctx, call(map[string]any{"team": team, "service": svc, "environments": []any{"dev"},
		"pipeline": "argocd", "repoURL": "https://git.example.com/x.git"})); err != nil {
		t.Fatal(err)
	}
	// Re-running the namespace step keeps the pipeline, and did not create dev.
	again, err := ns.Run(ctx, call(nsInput))
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := p.Store().Get(ctx, svc, "dev"); e.Pipeline != provision.ArgoCD {
		t.Errorf("pipeline after re-running kube:namespace = %q, want argocd", e.Pipeline)
	}
	if envs := again["environments"].([]any); envs[0].(map[string]any)["created"] != false {
		t.Errorf("second run says it created dev: %v", envs)
	}
	if _, err := ns.Run(ctx, call(map[string]any{"team": team, "service": svc, "enviroments": []any{"dev"}})); paved.ErrorCode(err) != paved.CodeInvalid || !strings.Contains(err.Error(), "enviroments") {
		t.Errorf("misspelt input: %v, want invalid naming the key", err)
	}
	if _, err := ns.Run(ctx, call(map[string]any{"team": team, "service": svc, "pipeline": "flux"})); paved.ErrorCode(err) != paved.CodeInvalid || !strings.Contains(err.Error(), "use kube:pipeline") {
		t.Errorf("pipeline given to kube:namespace: %v, want invalid pointing at kube:pipeline", err)
	}

	// Undo with the second run's output leaves dev (that run did not create
	// it); with the first run's, it deprovisions dev and its Application.
	undo := ns.(scaffolder.Undoer)
	if err := undo.Undo(ctx, call(nsInput), again); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Store().Get(ctx, svc, "dev"); err != nil {
		t.Errorf("undo of a run that created nothing removed dev: %v", err)
	}
	if err := undo.Undo(ctx, call(nsInput), out); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Store().Get(ctx, svc, "dev"); paved.ErrorCode(err) != paved.CodeNotFound {
		t.Errorf("after undo: %v, want the environment gone", err)
	}
	c, _ := p.Cluster(provision.DefaultCluster)
	apps := schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	if _, err := c.Dynamic.Resource(apps).Namespace("argocd").Get(ctx, svc+"-dev", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Application after undo: %v, want not found", err)
	}
}

// call is a step's call of an action with input and nothing else.
func call(input map[string]any) *scaffolder.Call {
	return &scaffolder.Call{Input: input, Log: slog.New(slog.DiscardHandler)}
}

// Without a cluster the actions exist (templates that provision are
// accepted) and their steps fail saying why.
func TestActionsWithoutCluster(t *testing.T) {
	s := provision.DefaultSettings()
	s.ApplyDefaults()
	p := provision.New(s, nil, provision.NewStore(testsupport.OpenDB(t, database.SQLite)), testsupport.DiscardLogger())
	for _, a := range kube.Actions(p) {
		for _, dry := range []bool{false, true} {
			c := call(map[string]any{"team": "t", "service": "s", "environments": []any{"dev"}})
			c.DryRun = dry
			if _, err := a.Run(context.Background(), c); paved.ErrorCode(err) != paved.CodeUnavailable || !strings.Contains(err.Error(), "provisioning is off") {
				t.Errorf("%s (dry run %v) without a cluster: %v", a.ID(), dry, err)
			}
		}
	}
}
