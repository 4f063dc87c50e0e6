package main

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/paved-dev/paved/internal/config"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/policies/webhook"
	"github.com/paved-dev/paved/portal"
)

// warnings records the Warning headers the API server relays.
type warnings struct {
	mu   sync.Mutex
	seen []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.seen
	w.seen = nil
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// goldenDeployment follows every rule of the default library.
func goldenDeployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": name, "team": "payments"}
	no, yes := false, true
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intOrPort(8080)}}}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes},
					Containers: []corev1.Container{{
						Name: "app", Image: image,
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
						},
						ReadinessProbe: probe, LivenessProbe: probe,
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes, RunAsNonRoot: &yes,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
					}},
				},
			},
		},
	}
}

// costCenter is a warn policy added to the library in the test.
const costCenter = `# METADATA
# title: Cost center
# custom:
#   enforcement: warn
#   targets: [admission]
package paved.policies.cost_center

violation contains msg if {
	not input.request.object.metadata.labels["cost-center"]
	msg := sprintf("%s %s has no cost-center label", [input.request.kind.kind, input.request.object.metadata.name])
}
`

const costCenterTest = `package paved.policies.cost_center_test

import data.paved.policies.cost_center

test_unlabelled_warned if {
	count(cost_center.violation) == 1 with input as {"request": {"kind": {"kind": "Pod"}, "object": {"metadata": {"name": "p"}}}}
}
`

// The real kube-apiserver calls Paved's TLS webhook, registered with the
// configuration `paved admission manifest` prints.
func TestAdmissionWebhookEndToEnd(t *testing.T) {
	cp := testsupport.Kubernetes(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	port := freePort(t)
	cfg, err := config.LoadNoArgs("serve", nil, func(k string) string {
		return map[string]string{
			"PAVED_DATA_DIR":                 t.TempDir(),
			"PAVED_WEBHOOK_LISTEN":           "127.0.0.1:" + strconv.Itoa(port),
			"PAVED_WEBHOOK_FAILURE_POLICY":   "Fail", // a Paved that did not answer would deny everything
			"PAVED_POLICY_EXEMPT_NAMESPACES": "kube-system,legacy",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := testsupport.DiscardLogger()
	db, _, err := openMigrated(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := newServices(db, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := portal.NewServer(cfg.HTTP, log, db, svc.portal)
	ln, tlsConfig, err := listenWebhook(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeWebhook(ctx, ln, tlsConfig)

	admin, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := webhook.CABundle(cfg.Webhook, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	hook, err := webhook.Configuration(cfg.Webhook, cfg.ExemptNamespaces(), ca)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, hook, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := &warnings{}
	userCfg := rest.CopyConfig(cp.Config)
	userCfg.WarningHandler = seen
	client, err := kubernetes.NewForConfig(userCfg)
	if err != nil {
		t.Fatal(err)
	}
	ns := cp.Namespace(t)
	create := func(ns string, d *appsv1.Deployment) error {
		_, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
		return err
	}

	// The API server picks the configuration up within a moment.
	deadline := time.Now().Add(30 * time.Second)
	var denied error
	for i := 0; ; i++ {
		_, denied = client.AppsV1().Deployments(ns).Create(ctx, goldenDeployment("probe", "nginx:latest"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if denied != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if denied == nil || !strings.Contains(denied.Error(), "[no_latest_tag]") || !strings.Contains(denied.Error(), "nginx:latest") {
		t.Fatalf("dry-run of an :latest Deployment: %v; want the no_latest_tag denial", denied)
	}

	t.Run("LatestRejected", func(t *testing.T) {
		err := create(ns, goldenDeployment("web", "nginx:latest"))
		if err == nil || !strings.Contains(err.Error(), `admission webhook "policies.paved.dev" denied the request`) || !strings.Contains(err.Error(), "default@1") {
			t.Fatalf("create: %v", err)
		}
		if err := create(ns, goldenDeployment("web", "nginx:1.27.3")); err != nil {
			t.Fatalf("golden path: %v", err)
		}
	})

	t.Run("WarningReachesClient", func(t *testing.T) {
		lib, err := policies.Library()
		if err != nil {
			t.Fatal(err)
		}
		lib.Modules["cost_center/policy.rego"] = costCenter
		lib.Modules["cost_center/policy_test.rego"] = costCenterTest
		v, err := svc.portal.Policies.Manager.CreateVersion(ctx, "default", lib, "warn on cost-center")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.portal.Policies.Manager.Activate(ctx, "default", v, "activate"); err != nil {
			t.Fatal(err)
		}
		seen.take()
		if err := create(ns, goldenDeployment("warned", "nginx:1.27.3")); err != nil {
			t.Fatalf("create: %v", err)
		}
		got := seen.take()
		if len(got) != 1 || got[0] != "[cost_center] Deployment warned has no cost-center label" {
			t.Fatalf("warnings = %q", got)
		}
	})

	t.Run("ExemptNamespaces", func(t *testing.T) {
		labelled := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "exempt-", Labels: map[string]string{policies.ExemptLabel: "true"}}}
		byLabel, err := admin.CoreV1().Namespaces().Create(ctx, labelled, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{byLabel.Name, "legacy"} {
			if err := create(ns, goldenDeployment("old", "nginx:latest")); err != nil {
				t.Fatalf("exempt namespace %s: %v", ns, err)
			}
		}
	})

	t.Run("BrokenActivationRefused", func(t *testing.T) {
		lib, _ := policies.Library()
		lib.Modules["no_latest_tag/policy_test.rego"] += "\ntest_broken if false\n"
		v, err := svc.portal.Policies.Manager.CreateVersion(ctx, "default", lib, "a failing test")
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.portal.Policies.Manager.Activate(ctx, "default", v, "activate")
		var ref *policies.RefusedError
		if !errors.As(err, &ref) || len(ref.FailedTests) != 1 {
			t.Fatalf("activation of a version with a failing test: %v", err)
		}
		if err := create(ns, goldenDeployment("still", "nginx:latest")); err == nil || !strings.Contains(err.Error(), "default@2") {
			t.Fatalf("after the refused activation: %v; want a denial by default@2", err)
		}
	})

	t.Run("AuditAndPreviewLiveObjects", func(t *testing.T) {
		live, err := policies.NewClusterObjects(cp.Config, map[string]bool{"kube-system": true, "legacy": true})
		if err != nil {
			t.Fatal(err)
		}
		a := &policies.Auditor{Store: svc.portal.Policies.Manager.Store, Engine: svc.portal.Policies.Manager.Engine, Objects: live, Log: log}
		run, err := a.Run(ctx)
		if err != nil || run.Error != "" {
			t.Fatalf("audit: %+v, %v", run, err)
		}
		rep, err := svc.portal.Policies.Manager.Store.Audit(ctx, policies.AuditFilter{Namespace: ns, Limit: 10})
		if err != nil || rep.TotalItems != 2 || rep.Items[0].Name != "warned" || rep.Items[0].Violations[0].Policy != "cost_center" {
			t.Fatalf("audit of %s: %+v, %v", ns, rep, err)
		}
		for _, exempt := range []string{"legacy"} {
			if rep, _ := svc.portal.Policies.Manager.Store.Audit(ctx, policies.AuditFilter{Namespace: exempt, Limit: 10}); rep.TotalItems != 0 {
				t.Fatalf("exempt namespace %s audited: %+v", exempt, rep)
			}
		}
		if all, _ := svc.portal.Policies.Manager.Store.Audit(ctx, policies.AuditFilter{Limit: 100}); slices.ContainsFunc(all.Items, func(r policies.AuditResult) bool { return r.Name == "old" }) {
			t.Fatalf("objects of exempt namespaces audited: %+v", all.Items)
		}
		// Version 1 lacks the cost-center warning: nothing is newly denied.
		p, err := svc.portal.Policies.Manager.Preview(ctx, "default", 1, 100, live)
		if err != nil || p.Cluster != "ok" || p.Live != run.Objects || len(p.NewlyDenied) != 0 {
			t.Fatalf("preview with live objects: %+v, %v", p, err)
		}
	})

	t.Run("DatabaseDown", func(t *testing.T) {
		db.SQL.Close()
		if err := create(ns, goldenDeployment("nodb", "nginx:latest")); err == nil || !strings.Contains(err.Error(), "[no_latest_tag]") {
			t.Fatalf(":latest with the database down: %v", err)
		}
		if err := create(ns, goldenDeployment("nodb", "nginx:1.27.3")); err != nil {
			t.Fatalf("golden path with the database down: %v", err)
		}
	})
	cancel()
	_ = svc.stop(5 * time.Second)
}

func intOrPort(p int) intstr.IntOrString { return intstr.FromInt32(int32(p)) }
