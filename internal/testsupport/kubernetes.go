package testsupport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// KubernetesAssetsEnv names the folder holding kube-apiserver and etcd. When
// it is unset, the folder hack/envtest.sh builds into is used.
const KubernetesAssetsEnv = "KUBEBUILDER_ASSETS"

// ControlPlane is a running kube-apiserver with its etcd.
type ControlPlane struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	env    *envtest.Environment
}

// StartControlPlane starts a kube-apiserver and etcd from the binaries that
// `make envtest` builds. Share one per test binary from TestMain (start-up
// takes a few seconds) and Stop it before exiting.
func StartControlPlane() (*ControlPlane, error) {
	dir, err := KubernetesAssets()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{BinaryAssetsDirectory: dir, ControlPlaneStartTimeout: time.Minute}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", dir, err)
	}
	return &ControlPlane{Config: cfg, env: env}, nil
}

// Stop stops the API server and etcd and removes their data.
func (cp *ControlPlane) Stop() error { return cp.env.Stop() }

// Kubernetes starts a control plane for one test and stops it when the test
// ends. Prefer StartControlPlane in TestMain when several tests need one.
func Kubernetes(tb testing.TB) *ControlPlane {
	tb.Helper()
	cp, err := StartControlPlane()
	if errors.Is(err, errNoAssets) {
		requirePart(tb, "%v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			tb.Errorf("stop control plane: %v", err)
		}
	})
	return cp
}

var shared struct {
	once sync.Once
	cp   *ControlPlane
	err  error
}

// SharedKubernetes starts one control plane for the whole test binary on
// first use and returns it to every later caller. Call StopShared from
// TestMain after m.Run. Tests sharing it must use their own namespaces and
// names.
func SharedKubernetes(tb testing.TB) *ControlPlane {
	tb.Helper()
	shared.once.Do(func() { shared.cp, shared.err = StartControlPlane() })
	if errors.Is(shared.err, errNoAssets) {
		requirePart(tb, "%v", shared.err)
	}
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.cp
}

// StopShared stops the control plane SharedKubernetes started, if any.
func StopShared() error {
	if shared.cp == nil {
		return nil
	}
	return shared.cp.Stop()
}

// InstallCRDs installs the CustomResourceDefinitions in the YAML files and
// waits until the API server serves them.
func (cp *ControlPlane) InstallCRDs(tb testing.TB, paths ...string) {
	tb.Helper()
	if _, err := envtest.InstallCRDs(cp.Config, envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true}); err != nil {
		tb.Fatalf("install CRDs from %v: %v", paths, err)
	}
}

// WriteKubeconfig writes a kubeconfig that reaches the API server as its
// administrator and returns its path, for code that takes --kubeconfig.
func (cp *ControlPlane) WriteKubeconfig(tb testing.TB) string {
	tb.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cp.Config.Host, CertificateAuthorityData: cp.Config.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cp.Config.CertData, ClientKeyData: cp.Config.KeyData, Token: cp.Config.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(tb.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Namespace creates a namespace with a generated name for one test. envtest
// runs no controller-manager, so deleted namespaces never finish
// terminating: tests must not share or reuse names.
func (cp *ControlPlane) Namespace(tb testing.TB) string {
	tb.Helper()
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		tb.Fatal(err)
	}
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

var errNoAssets = errors.New("kube-apiserver and etcd are not built")

// KubernetesAssets returns the folder holding kube-apiserver and etcd, or an
// error wrapping errNoAssets that says how to build them.
func KubernetesAssets() (string, error) {
	dir := os.Getenv(KubernetesAssetsEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		out, err := exec.Command(filepath.Join(root, "hack", "envtest.sh"), "--print").Output()
		if err != nil {
			return "", fmt.Errorf("hack/envtest.sh --print: %w", err)
		}
		dir = strings.TrimSpace(string(out))
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%w: %s is missing; run `make envtest` (builds them from source, about 4 minutes)", errNoAssets, filepath.Join(dir, bin))
		}
	}
	return dir, nil
}

// moduleRoot finds the folder of Paved's go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "envtest.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the Paved repository (hack/envtest.sh) above the working directory")
		}
		dir = parent
	}
}
