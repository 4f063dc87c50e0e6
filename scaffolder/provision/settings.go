package provision

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/paved-dev/paved"
)

// Settings is the `provisioning:` section of the config file: how
// namespaces are named and what goes in them, the environments and their
// profiles, the clusters and the pipeline providers.
type Settings struct {
	// NamespacePattern names each environment's namespace; {team},
	// {service} and {env} are replaced.
	NamespacePattern string `yaml:"namespacePattern" json:"namespacePattern"`
	// TeamGroup is the group bound to the edit role; {team} is replaced.
	TeamGroup string `yaml:"teamGroup" json:"teamGroup"`
	// ViewerGroups are bound to the view role; {team} is replaced.
	ViewerGroups []string `yaml:"viewerGroups" json:"viewerGroups"`
	// Mesh is none, istio or linkerd; IstioRevision selects
	// istio.io/rev=<rev> instead of istio-injection=enabled.
	Mesh          string `yaml:"mesh" json:"mesh"`
	IstioRevision string `yaml:"istioRevision" json:"istioRevision,omitempty"`
	// Namespaces allowed to reach workloads in provisioned namespaces.
	IngressNamespaces    []string `yaml:"ingressNamespaces" json:"ingressNamespaces"`
	MeshNamespaces       []string `yaml:"meshNamespaces" json:"meshNamespaces"`
	MonitoringNamespaces []string `yaml:"monitoringNamespaces" json:"monitoringNamespaces"`
	// ReconcileInterval is how often the leader re-applies everything.
	ReconcileInterval time.Duration `yaml:"reconcileInterval" json:"reconcileInterval"`
	// Clusters are named clusters besides the default one (--kubeconfig or
	// in-cluster).
	Clusters map[string]ClusterSettings `yaml:"clusters" json:"clusters,omitempty"`
	// Environments in the order they are provisioned when a request does
	// not name any.
	Environments []Profile       `yaml:"environments" json:"environments"`
	ArgoCD       ArgoCDSettings  `yaml:"argocd" json:"argocd"`
	Tekton       TektonSettings  `yaml:"tekton" json:"tekton"`
	Flux         FluxSettings    `yaml:"flux" json:"flux"`
	Deployer     DeployerSetting `yaml:"deployer" json:"deployer"`
}

// ClusterSettings reaches one named cluster through a kubeconfig.
type ClusterSettings struct {
	Kubeconfig string `yaml:"kubeconfig" json:"kubeconfig"`
	// Context is the kubeconfig context; empty uses its current one.
	Context string `yaml:"context" json:"context,omitempty"`
}

// Profile is one environment: where it runs and how big and strict its
// namespaces are.
type Profile struct {
	Name string `yaml:"name" json:"name"`
	// Cluster is "default" or a name under clusters.
	Cluster string `yaml:"cluster" json:"cluster"`
	// PodSecurity is the Pod Security Admission level enforced:
	// privileged, baseline or restricted. warn and audit use restricted.
	PodSecurity string `yaml:"podSecurity" json:"podSecurity"`
	// Pipeline is the provider used when a request names none: "" (no
	// pipeline), argocd, tekton or flux.
	Pipeline string `yaml:"pipeline" json:"pipeline,omitempty"`
	// Quota is the ResourceQuota's spec.hard.
	Quota map[string]string `yaml:"quota" json:"quota"`
	// Limits is the LimitRange's container item.
	Limits ContainerLimits `yaml:"limits" json:"limits"`
}

// ContainerLimits are a LimitRange's per-container values.
type ContainerLimits struct {
	Default        map[string]string `yaml:"default" json:"default"`
	DefaultRequest map[string]string `yaml:"defaultRequest" json:"defaultRequest"`
	Max            map[string]string `yaml:"max" json:"max"`
}

// ArgoCDSettings says where Argo CD runs and what its Applications deploy.
type ArgoCDSettings struct {
	Namespace string `yaml:"namespace" json:"namespace"`
	// DestinationServer is the API server URL Argo CD deploys to.
	DestinationServer string `yaml:"destinationServer" json:"destinationServer"`
	TargetRevision    string `yaml:"targetRevision" json:"targetRevision"`
}

// TektonSettings are the images of the generated pipeline's steps.
type TektonSettings struct {
	GitImage     string `yaml:"gitImage" json:"gitImage"`
	TestImage    string `yaml:"testImage" json:"testImage"`
	BuildImage   string `yaml:"buildImage" json:"buildImage"`
	DeployImage  string `yaml:"deployImage" json:"deployImage"`
	Registry     string `yaml:"registry" json:"registry"`
	StorageClass string `yaml:"storageClass" json:"storageClass,omitempty"`
}

// FluxSettings are the GitRepository's branch and the sync intervals.
type FluxSettings struct {
	Branch   string        `yaml:"branch" json:"branch"`
	Interval time.Duration `yaml:"interval" json:"interval"`
}

// DeployerSetting names the CI service account of every namespace.
type DeployerSetting struct {
	ServiceAccount string `yaml:"serviceAccount" json:"serviceAccount"`
}

// DefaultCluster is the cluster of --kubeconfig or the in-cluster config.
const DefaultCluster = "default"

// The pipeline providers.
const (
	ArgoCD = "argocd"
	Tekton = "tekton"
	Flux   = "flux"
)

var providerNames = []string{ArgoCD, Tekton, Flux}

// DefaultSettings are what a platform team gets without configuring
// anything: dev, staging and prod on the default cluster.
func DefaultSettings() Settings {
	// Each profile gets maps of its own: configuring one must not change
	// another.
	profile := func(name, podSecurity string, quota map[string]string) Profile {
		return Profile{Name: name, Cluster: DefaultCluster, PodSecurity: podSecurity, Quota: quota,
			Limits: ContainerLimits{
				Default:        map[string]string{"cpu": "500m", "memory": "512Mi"},
				DefaultRequest: map[string]string{"cpu": "100m", "memory": "128Mi"},
				Max:            map[string]string{"cpu": "2", "memory": "4Gi"},
			}}
	}
	small := func() map[string]string {
		return map[string]string{"requests.cpu": "4", "requests.memory": "8Gi", "limits.cpu": "8", "limits.memory": "16Gi", "pods": "50"}
	}
	dev, staging := profile("dev", "baseline", small()), profile("staging", "baseline", small())
	prod := profile("prod", "restricted",
		map[string]string{"requests.cpu": "16", "requests.memory": "32Gi", "limits.cpu": "32", "limits.memory": "64Gi", "pods": "200"})
	return Settings{
		NamespacePattern:     "{team}-{service}-{env}",
		TeamGroup:            "{team}",
		ViewerGroups:         []string{"{team}-viewers"},
		Mesh:                 "none",
		IngressNamespaces:    []string{"ingress-nginx"},
		MonitoringNamespaces: []string{"monitoring"},
		ReconcileInterval:    5 * time.Minute,
		Environments:         []Profile{dev, staging, prod},
		ArgoCD:               ArgoCDSettings{Namespace: "argocd", DestinationServer: "https://kubernetes.default.svc", TargetRevision: "HEAD"},
		Tekton: TektonSettings{GitImage: "alpine/git:2.45.2", TestImage: "golang:1.26", BuildImage: "gcr.io/kaniko-project/executor:v1.23.2",
			DeployImage: "registry.k8s.io/kubectl:v1.35.4", Registry: "registry.local"},
		Flux:     FluxSettings{Branch: "main", Interval: 5 * time.Minute},
		Deployer: DeployerSetting{ServiceAccount: "paved-deployer"},
	}
}

// ApplyDefaults fills what the config file may leave out and that
// depends on what it says: the mesh's namespaces from the mesh, and each
// environment's cluster (default) and Pod Security level (restricted, the
// safe side when unsaid). Run it once, before Validate.
func (s *Settings) ApplyDefaults() {
	if s.MeshNamespaces == nil {
		s.MeshNamespaces = map[string][]string{"istio": {"istio-system"}, "linkerd": {"linkerd"}}[s.Mesh]
	}
	for i := range s.Environments {
		p := &s.Environments[i]
		if p.Cluster == "" {
			p.Cluster = DefaultCluster
		}
		if p.PodSecurity == "" {
			p.PodSecurity = "restricted"
		}
	}
}

// Validate checks the settings without changing them. Details name fields
// as config-file paths (provisioning.environments[1].quota.pods), sorted.
func (s *Settings) Validate() error {
	var d paved.Details
	bad := func(field, format string, args ...any) { d.Add("provisioning."+field, format, args...) }
	if !strings.Contains(s.NamespacePattern, "{service}") || !strings.Contains(s.NamespacePattern, "{env}") {
		bad("namespacePattern", "%q must contain {service} and {env}, or two environments would share a namespace", s.NamespacePattern)
	}
	if !slices.Contains([]string{"none", "istio", "linkerd"}, s.Mesh) {
		bad("mesh", "%q is not none, istio or linkerd", s.Mesh)
	}
	if s.ReconcileInterval <= 0 {
		bad("reconcileInterval", "must be a positive duration such as 5m")
	}
	if len(s.Environments) == 0 {
		bad("environments", "at least one environment is needed")
	}
	seen := map[string]bool{}
	for i, p := range s.Environments {
		field := fmt.Sprintf("environments[%d]", i)
		switch {
		case p.Name == "":
			bad(field+".name", "is required")
		case seen[p.Name]:
			bad(field+".name", "%q is listed twice", p.Name)
		}
		seen[p.Name] = true
		s.validateProfile(p, field, bad)
	}
	for name, c := range s.Clusters {
		if name == DefaultCluster {
			bad("clusters."+name, "the name %q is taken by --kubeconfig or the in-cluster config", name)
		}
		if c.Kubeconfig == "" {
			bad("clusters."+name+".kubeconfig", "is required")
		}
	}
	slices.SortFunc(d, func(a, b paved.Detail) int { return strings.Compare(a.Field, b.Field) })
	return d.Err("invalid provisioning settings")
}

// validateProfile checks one environment's cluster, Pod Security level,
// pipeline and quantities.
func (s *Settings) validateProfile(p Profile, field string, bad func(field, format string, args ...any)) {
	if p.Cluster != DefaultCluster {
		if _, ok := s.Clusters[p.Cluster]; !ok {
			bad(field+".cluster", "%q is not %s", p.Cluster, knownList(s.ClusterNames()))
		}
	}
	if !slices.Contains([]string{"privileged", "baseline", "restricted"}, p.PodSecurity) {
		bad(field+".podSecurity", "%q is not privileged, baseline or restricted", p.PodSecurity)
	}
	if p.Pipeline != "" && !slices.Contains(providerNames, p.Pipeline) {
		bad(field+".pipeline", "%q is not %s", p.Pipeline, knownList(providerNames))
	}
	for _, q := range []struct {
		name string
		vals map[string]string
	}{{"quota", p.Quota}, {"limits.default", p.Limits.Default}, {"limits.defaultRequest", p.Limits.DefaultRequest}, {"limits.max", p.Limits.Max}} {
		for k, v := range q.vals {
			if _, err := resource.ParseQuantity(v); err != nil {
				bad(field+"."+q.name+"."+k, "%q is not a quantity such as 500m or 4Gi", v)
			}
		}
	}
}

// Profile returns the environment named name.
func (s *Settings) Profile(name string) (Profile, bool) {
	for _, p := range s.Environments {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// EnvironmentNames lists the environments in their configured order.
func (s *Settings) EnvironmentNames() []string {
	names := make([]string, len(s.Environments))
	for i, p := range s.Environments {
		names[i] = p.Name
	}
	return names
}

// ClusterNames lists the named clusters and the default one, sorted.
func (s *Settings) ClusterNames() []string {
	names := []string{DefaultCluster}
	for name := range s.Clusters {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// knownList words a set of accepted values for an error message.
func knownList(names []string) string {
	if len(names) == 0 {
		return "known (none are configured)"
	}
	return "one of " + strings.Join(names, ", ")
}
