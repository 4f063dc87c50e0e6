package provision

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := testsupport.StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	os.Exit(code)
}

var crdsOnce sync.Once

// sharedCluster is the test binary's API server with the Argo CD, Tekton
// and Flux CRDs installed and an argocd namespace.
func sharedCluster(t testing.TB) *testsupport.ControlPlane {
	t.Helper()
	cp := testsupport.SharedKubernetes(t)
	crdsOnce.Do(func() {
		cp.InstallCRDs(t, "testdata/crds")
		c := newCluster(t, cp)
		_, err := c.Typed.CoreV1().Namespaces().Create(context.Background(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	})
	return cp
}

func newCluster(t testing.TB, cp *testsupport.ControlPlane) *Cluster {
	t.Helper()
	c, err := NewCluster(DefaultCluster, cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newProvisioner is a provisioner on the control plane and a new database.
func newProvisioner(t testing.TB, cp *testsupport.ControlPlane, db *database.DB, mutate func(*Settings)) *Provisioner {
	t.Helper()
	s := DefaultSettings()
	if mutate != nil {
		mutate(&s)
	}
	return New(completeSettings(t, s), map[string]*Cluster{DefaultCluster: newCluster(t, cp)}, NewStore(db), testsupport.DiscardLogger())
}

// completeSettings applies the defaults and checks the settings, as
// loading the configuration does.
func completeSettings(t testing.TB, s Settings) Settings {
	t.Helper()
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

var nameSeq atomic.Int64

// unique returns a name no other test uses: namespaces never finish
// deleting on envtest (no namespace controller), so names are not reused.
func unique(prefix string) string {
	return fmt.Sprintf("%s%d%d", prefix, os.Getpid()%1000, nameSeq.Add(1))
}

// live reads an object through the dynamic client.
func live(t *testing.T, c *Cluster, apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := c.get(context.Background(), ObjectRef{APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name})
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", kind, namespace, name, err)
	}
	if u == nil {
		t.Fatalf("%s %s/%s does not exist", kind, namespace, name)
	}
	return u
}

func field(t *testing.T, u *unstructured.Unstructured, path ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(u.Object, path...)
	if err != nil || !ok {
		t.Fatalf("%s %s: no field %v (%v)", u.GetKind(), u.GetName(), path, err)
	}
	return v
}

func gvr(group, version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}
