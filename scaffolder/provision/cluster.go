package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/paved-dev/paved"
)

// Cluster is one Kubernetes cluster Paved provisions into.
type Cluster struct {
	Name    string
	Config  *rest.Config
	Typed   kubernetes.Interface
	Dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
}

// NewCluster connects to the cluster cfg reaches. Provisioning talks to
// the API server in bursts (a reconcile pass lists and applies thousands
// of objects), so the client's rate limit is raised well above
// client-go's default of 5 requests per second.
func NewCluster(name string, cfg *rest.Config) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 200, 400
	if cfg.UserAgent == "" {
		cfg.UserAgent = "paved"
	}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(typed.Discovery()))
	return &Cluster{Name: name, Config: cfg, Typed: typed, Dynamic: dyn, mapper: mapper}, nil
}

// ConnectClusters connects the default cluster (cfg, nil when there is
// none) and the named clusters of the settings.
func ConnectClusters(s *Settings, defaultCfg *rest.Config) (map[string]*Cluster, error) {
	out := map[string]*Cluster{}
	if defaultCfg != nil {
		c, err := NewCluster(DefaultCluster, defaultCfg)
		if err != nil {
			return nil, err
		}
		out[DefaultCluster] = c
	}
	for name, cs := range s.Clusters {
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cs.Kubeconfig}
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: cs.Context}).ClientConfig()
		if err != nil {
			return nil, paved.Invalid("cannot use the kubeconfig of a cluster", paved.Detail{Field: "provisioning.clusters." + name, Reason: err.Error()})
		}
		c, err := NewCluster(name, cfg)
		if err != nil {
			return nil, err
		}
		out[name] = c
	}
	return out, nil
}

// mapping finds how the cluster serves a kind. Discovery is cached; a kind
// it does not know refreshes the cache once, so CRDs installed after Paved
// started are found.
func (c *Cluster) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

// missingKinds returns the CRDs of kinds the cluster does not serve.
func (c *Cluster) missingKinds(kinds []crdKind) ([]string, error) {
	var missing []string
	for _, k := range kinds {
		_, err := c.mapping(k.GroupVersionKind)
		if meta.IsNoMatchError(err) {
			missing = append(missing, fmt.Sprintf("%s (%s %s)", k.crd, k.GroupVersion(), k.Kind))
			continue
		}
		if err != nil {
			return nil, paved.Errorf(paved.CodeUnavailable, "cluster %s: discover %s: %w", c.Name, k.GroupVersionKind, err)
		}
	}
	return missing, nil
}

// checkProvider fails with the names of the CRDs the provider needs that
// the cluster lacks.
func (c *Cluster) checkProvider(name string) error {
	p, ok := providers[name]
	if !ok {
		return paved.Errorf(paved.CodeUnprocessable, "unknown pipeline provider %q; %s", name, knownList(providerNames))
	}
	missing, err := c.missingKinds(p.kinds)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return paved.Errorf(paved.CodeUnprocessable, "the %s pipeline needs custom resources that cluster %s does not serve: %s; install %s first",
			name, c.Name, strings.Join(missing, ", "), name)
	}
	return nil
}

// checkNamespace fails, as a precondition like a missing CRD, when the
// namespace does not exist; why says what needs it.
func (c *Cluster) checkNamespace(ctx context.Context, name, why string) error {
	_, err := c.Typed.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return paved.Errorf(paved.CodeUnprocessable, "namespace %s does not exist on cluster %s (%s); create it, or install Argo CD, first", name, c.Name, why)
	case err != nil:
		return paved.Errorf(paved.CodeUnavailable, "cluster %s: read namespace %s: %w", c.Name, name, err)
	}
	return nil
}
