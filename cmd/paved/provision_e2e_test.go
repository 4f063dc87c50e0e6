package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/paved-dev/paved/internal/testsupport"
)

// `paved serve --kubeconfig` turns provisioning on: the reconciler takes
// the Lease in Paved's namespace (created when missing) and the API
// provisions into the cluster.
func TestServeProvisionsWithKubeconfig(t *testing.T) {
	cp := testsupport.Kubernetes(t)
	s := startServe(t, nil, "--data-dir", t.TempDir(), "--kubeconfig", cp.WriteKubeconfig(t), "--namespace", "paved-system")

	var status struct {
		Enabled    bool
		Clusters   []string
		Reconciler struct{ Leading bool }
	}
	deadline := time.Now().Add(30 * time.Second)
	for !status.Reconciler.Leading {
		if time.Now().After(deadline) {
			t.Fatalf("the reconciler never took the Lease; status %+v\nlogs:\n%s", status, s.stderr)
		}
		time.Sleep(100 * time.Millisecond)
		_, body := get(t, s.url+"/api/provisioning")
		if err := json.Unmarshal([]byte(body), &status); err != nil {
			t.Fatal(err)
		}
	}
	if !status.Enabled || len(status.Clusters) != 1 || status.Clusters[0] != "default" {
		t.Errorf("status = %+v", status)
	}
	cs := kubernetes.NewForConfigOrDie(cp.Config)
	lease, err := cs.CoordinationV1().Leases("paved-system").Get(context.Background(), "paved-provisioning", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("Lease = %+v, %v", lease, err)
	}

	if _, metrics := get(t, s.url+"/metrics"); !strings.Contains(metrics, "paved_provisioning_leader 1") {
		t.Errorf("/metrics does not show this replica leading:\n%s", metrics)
	}

	resp, err := http.Post(s.url+"/api/provisioning/environments", "application/json",
		strings.NewReader(`{"team":"payments","service":"checkout","environments":["dev"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST environments = %d", resp.StatusCode)
	}
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), "payments-checkout-dev", metav1.GetOptions{})
	if err != nil || ns.Labels["app.kubernetes.io/managed-by"] != "paved" {
		t.Errorf("namespace = %+v, %v", ns, err)
	}
	s.stop(t)
	assertJSONLogs(t, s.stderr.String(), "leading provisioning reconciles", "provisioned environment")
}

// Without a cluster `paved serve` says provisioning is off, in its log and
// its API.
func TestServeWithoutClusterSaysProvisioningIsOff(t *testing.T) {
	s := startServe(t, map[string]string{"KUBERNETES_SERVICE_HOST": ""}, "--data-dir", t.TempDir())
	code, body := get(t, s.url+"/api/provisioning")
	if code != http.StatusOK || !strings.Contains(body, `"enabled":false`) || !strings.Contains(body, "no Kubernetes cluster is configured") {
		t.Errorf("GET /api/provisioning = %d %s", code, body)
	}
	s.stop(t)
	assertJSONLogs(t, s.stderr.String(), "provisioning is off")
}
