package portal

import (
	"context"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder/provision"
)

func newProvisioningServer(t *testing.T, cp *testsupport.ControlPlane, mutate func(*provision.Settings)) *Server {
	t.Helper()
	db := testsupport.OpenDB(t, database.SQLite)
	s := provision.DefaultSettings()
	if mutate != nil {
		mutate(&s)
	}
	clusters := map[string]*provision.Cluster{}
	if cp != nil {
		c, err := provision.NewCluster(provision.DefaultCluster, cp.Config)
		if err != nil {
			t.Fatal(err)
		}
		clusters[provision.DefaultCluster] = c
	}
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	p := provision.New(s, clusters, provision.NewStore(db), testsupport.DiscardLogger())
	return NewServer(testOptions, testsupport.DiscardLogger(), db, Services{Provisioning: Provisioning{Provisioner: p}})
}

func TestProvisioningOffSaysSo(t *testing.T) {
	s := newProvisioningServer(t, nil, nil)
	st := call(t, s, http.MethodGet, "/api/provisioning", nil, http.StatusOK)
	if st["enabled"] != false || !strings.Contains(st["reason"].(string), "no Kubernetes cluster is configured") {
		t.Errorf("status = %v", st)
	}
	out := call(t, s, http.MethodPost, "/api/provisioning/environments", map[string]any{"team": "payments", "service": "checkout"}, http.StatusServiceUnavailable)
	if msg := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "provisioning is off") || !strings.Contains(msg, "--kubeconfig") {
		t.Errorf("message = %q", msg)
	}
	call(t, s, http.MethodGet, "/api/provisioning/environments", nil, http.StatusServiceUnavailable)
}

// TestProvisioningAPI drives the whole life cycle through HTTP against a
// real API server: provision, list, inspect, drift and reconcile, refuse,
// deprovision.
func TestProvisioningAPI(t *testing.T) {
	cp := testsupport.Kubernetes(t)
	cp.InstallCRDs(t, "../scaffolder/provision/testdata/crds/argocd.yaml")
	cs := kubernetes.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := newProvisioningServer(t, cp, func(st *provision.Settings) {
		// The API server refuses quotas on resources it does not know.
		st.Environments[1].Quota = map[string]string{"gpus": "1"}
	})
	body := map[string]any{"team": "payments", "service": "checkout", "environments": []string{"dev", "prod"},
		"pipeline": "argocd", "repoURL": "https://git.example.com/payments/checkout.git"}

	out := call(t, s, http.MethodPost, "/api/provisioning/environments", body, http.StatusCreated)
	items := out["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["namespace"] != "payments-checkout-dev" || items[1].(map[string]any)["status"] != "ready" {
		t.Fatalf("items = %v", items)
	}
	again := call(t, s, http.MethodPost, "/api/provisioning/environments", body, http.StatusCreated)
	for _, o := range again["items"].([]any)[0].(map[string]any)["objects"].([]any) {
		if st := o.(map[string]any)["state"]; st != "unchanged" {
			t.Errorf("second POST: %v is %v, want unchanged", o.(map[string]any)["name"], st)
		}
	}

	bad := call(t, s, http.MethodPost, "/api/provisioning/environments", map[string]any{"team": "payments", "service": "checkout", "environments": []string{"qa"}}, http.StatusUnprocessableEntity)
	if d := bad["error"].(map[string]any)["details"].([]any)[0].(map[string]any); d["field"] != "environments[0]" || !strings.Contains(d["reason"].(string), "one of dev, staging, prod") {
		t.Errorf("unknown environment detail = %v", d)
	}
	typo := call(t, s, http.MethodPost, "/api/provisioning/environments", `{"team":"payments","service":"checkout","enviroments":["dev"]}`, http.StatusBadRequest)
	if !strings.Contains(typo["error"].(map[string]any)["details"].([]any)[0].(map[string]any)["reason"].(string), "enviroments") {
		t.Errorf("typo answer = %v", typo)
	}

	refused := call(t, s, http.MethodPost, "/api/provisioning/environments", map[string]any{"team": "payments", "service": "ledger", "environments": []string{"dev", "staging"}}, http.StatusUnprocessableEntity)
	if msg := refused["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "ResourceQuota ledger") && !strings.Contains(msg, "payments-ledger-staging/paved-quota") {
		t.Errorf("refusal message = %q, want the quota named", msg)
	}
	envs := refused["items"].([]any)
	if envs[0].(map[string]any)["status"] != "ready" || envs[1].(map[string]any)["status"] != "failed" {
		t.Errorf("refused items = %v, want dev ready and staging failed", envs)
	}

	list := call(t, s, http.MethodGet, "/api/provisioning/environments?service=checkout", nil, http.StatusOK)
	if n := len(list["items"].([]any)); n != 2 {
		t.Errorf("list has %d items, want 2", n)
	}
	call(t, s, http.MethodGet, "/api/provisioning/environments?owner=x", nil, http.StatusBadRequest)

	q, err := cs.CoreV1().ResourceQuotas("payments-checkout-dev").Get(ctx, "paved-quota", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Spec.Hard[corev1.ResourcePods] = resource.MustParse("500")
	if _, err := cs.CoreV1().ResourceQuotas("payments-checkout-dev").Update(ctx, q, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	one := call(t, s, http.MethodGet, "/api/provisioning/environments/checkout/dev", nil, http.StatusOK)
	states := map[string]any{}
	for _, o := range one["environment"].(map[string]any)["objects"].([]any) {
		states[o.(map[string]any)["name"].(string)] = o.(map[string]any)["state"]
	}
	if states["paved-quota"] != "drifted" || states["paved-limits"] != "in-sync" {
		t.Errorf("live states = %v", states)
	}
	rec := call(t, s, http.MethodPost, "/api/provisioning/environments/checkout/dev/reconcile", nil, http.StatusOK)
	corrected := rec["corrected"].([]any)
	if len(corrected) != 1 || corrected[0].(map[string]any)["fields"].([]any)[0].(map[string]any)["path"] != "spec.hard.pods" {
		t.Errorf("corrected = %v", corrected)
	}
	after := call(t, s, http.MethodGet, "/api/provisioning/environments/checkout/dev", nil, http.StatusOK)
	if d := after["drift"].([]any); len(d) != 1 || d[0].(map[string]any)["changedBy"].([]any)[0] != "kubectl-edit" {
		t.Errorf("drift history = %v", d)
	}

	// A refused reconcile answers the error with the environment's state
	// and what was corrected before the refusal (nothing here).
	store := s.provisioning.Provisioner.Store()
	dev, err := store.Get(context.Background(), "checkout", "dev")
	if err != nil {
		t.Fatal(err)
	}
	dev.Status = provision.StatusDeprovisioning
	if err := store.UpdateState(context.Background(), dev); err != nil {
		t.Fatal(err)
	}
	refusedRec := call(t, s, http.MethodPost, "/api/provisioning/environments/checkout/dev/reconcile", nil, http.StatusConflict)
	if env, _ := refusedRec["environment"].(map[string]any); env["status"] != "deprovisioning" || refusedRec["corrected"] == nil ||
		len(refusedRec["corrected"].([]any)) != 0 || refusedRec["error"].(map[string]any)["code"] != "conflict" {
		t.Errorf("refused reconcile = %v", refusedRec)
	}

	call(t, s, http.MethodGet, "/api/provisioning/environments/checkout/qa", nil, http.StatusNotFound)
	unconfirmed := call(t, s, http.MethodDelete, "/api/provisioning/environments/checkout/dev", map[string]any{"confirm": "checkout"}, http.StatusUnprocessableEntity)
	if d := unconfirmed["error"].(map[string]any)["details"].([]any)[0].(map[string]any); d["field"] != "confirm" {
		t.Errorf("unconfirmed = %v", unconfirmed)
	}
	gone := call(t, s, http.MethodDelete, "/api/provisioning/environments/checkout/dev", map[string]any{"confirm": "checkout/dev"}, http.StatusOK)
	if n := len(gone["deleted"].([]any)); n != 2 {
		t.Errorf("deleted = %v, want the Application and the namespace", gone["deleted"])
	}
	call(t, s, http.MethodGet, "/api/provisioning/environments/checkout/dev", nil, http.StatusNotFound)
}
