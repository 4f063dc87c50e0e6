// Package kube finds the Kubernetes cluster Paved talks to.
package kube

import (
	"errors"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/paved-dev/paved"
)

// Config returns the REST config of the cluster: the kubeconfig file when
// one is named, the in-cluster service account when Paved runs in a pod,
// and nil (no cluster) otherwise.
func Config(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, paved.Invalid("cannot use the kubeconfig", paved.Detail{Field: "--kubeconfig", Reason: err.Error()})
		}
		return withDefaults(cfg), nil
	}
	if os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil, nil
	}
	cfg, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, nil
	}
	if err != nil {
		return nil, paved.Errorf(paved.CodeUnavailable, "in-cluster Kubernetes configuration: %w", err)
	}
	return withDefaults(cfg), nil
}

// withDefaults raises client-go's conservative rate limits (5 QPS), which
// would make listing a large cluster take minutes.
func withDefaults(cfg *rest.Config) *rest.Config {
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "paved"
	return cfg
}
