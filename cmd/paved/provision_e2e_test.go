package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/paved-dev/paved/internal/testsupport"
)

// writeKubeconfig writes a kubeconfig reaching cfg's API server as its user.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// `paved serve --kubeconfig` turns provisioning on: the reconciler takes
// the Lease in Paved's namespace (created when missing) and the API
// provisions into the cluster.
func TestServeProvisionsWithKubeconfig(t *testing.T) {
	cp := testsupport.Kubernetes(t)
	s := startServe(t, nil, "--data-dir", t.TempDir(), "--kubeconfig", writeKubeconfig(t, cp.Config), "--namespace", "paved-system")

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
