package provision

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/paved-dev/paved"
)

// Request asks for a service's (or a team's) environments.
type Request struct {
	Team    string `json:"team"`
	Service string `json:"service"`
	// Environments to provision; empty means every configured one.
	Environments []string `json:"environments,omitempty"`
	// Pipeline overrides the environments' configured provider: argocd,
	// tekton, flux, or "none".
	Pipeline string `json:"pipeline,omitempty"`
	// RepoURL is the service's git repository; pipelines need it.
	RepoURL string `json:"repoURL,omitempty"`
	// Cluster overrides the environments' configured cluster.
	Cluster string `json:"cluster,omitempty"`
	// Viewers are groups bound to view besides the configured ones.
	Viewers []string `json:"viewers,omitempty"`
	// keepPipeline makes environments already provisioned with a pipeline
	// keep it when the request names none (ProvisionNamespaces).
	keepPipeline bool
}

// Target is one environment of a request, resolved against the settings:
// everything needed to build its objects.
type Target struct {
	Team        string   `json:"team"`
	Service     string   `json:"service"`
	Environment string   `json:"environment"`
	Cluster     string   `json:"cluster"`
	Namespace   string   `json:"namespace"`
	Pipeline    string   `json:"pipeline,omitempty"`
	RepoURL     string   `json:"repoURL,omitempty"`
	Viewers     []string `json:"viewers,omitempty"`
	profile     Profile
}

// Resolve validates r against the settings and the connected clusters and
// returns one target per environment, or an unprocessable error naming
// every wrong field. Nothing is applied before Resolve succeeds.
func (s *Settings) Resolve(r Request, clusters []string) ([]Target, error) {
	var details []paved.Detail
	bad := func(field, format string, args ...any) {
		details = append(details, paved.Detail{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	for _, f := range []struct{ field, value string }{{"team", r.Team}, {"service", r.Service}} {
		if f.value == "" {
			bad(f.field, "is required")
		} else if errs := validation.IsDNS1123Label(f.value); len(errs) > 0 {
			bad(f.field, "%q is not usable in Kubernetes names and labels: %s", f.value, strings.Join(errs, "; "))
		}
	}
	envs := r.Environments
	if len(envs) == 0 {
		envs = s.EnvironmentNames()
	}
	pipeline := r.Pipeline
	if pipeline != "" && pipeline != "none" && !slices.Contains(providerNames, pipeline) {
		bad("pipeline", "%q is not %s, or none", pipeline, knownList(providerNames))
	}
	if r.Cluster != "" && !slices.Contains(clusters, r.Cluster) {
		bad("cluster", "%q is not a connected cluster; %s", r.Cluster, knownList(clusters))
	}
	if r.RepoURL != "" {
		if u, err := url.Parse(r.RepoURL); err != nil || u.Scheme == "" || (u.Host == "" && u.Scheme != "file") {
			bad("repoURL", "%q is not a repository URL such as https://git.example.com/team/service.git", r.RepoURL)
		}
	}
	var targets []Target
	seen := map[string]bool{}
	for i, env := range envs {
		field := fmt.Sprintf("environments[%d]", i)
		p, ok := s.Profile(env)
		if !ok {
			bad(field, "%q is not a configured environment; %s", env, knownList(s.EnvironmentNames()))
			continue
		}
		if seen[env] {
			bad(field, "%q is listed twice", env)
			continue
		}
		seen[env] = true
		t := Target{Team: r.Team, Service: r.Service, Environment: env, Cluster: p.Cluster, Pipeline: p.Pipeline,
			RepoURL: r.RepoURL, Viewers: r.Viewers, profile: p}
		if r.Cluster != "" {
			t.Cluster = r.Cluster
		} else if !slices.Contains(clusters, t.Cluster) {
			bad(field, "environment %q runs on cluster %q, which is not connected; %s", env, t.Cluster, knownList(clusters))
		}
		if pipeline != "" {
			t.Pipeline = strings.TrimPrefix(pipeline, "none")
		}
		if t.Pipeline != "" && r.RepoURL == "" {
			bad("repoURL", "is required for the %s pipeline of %q", t.Pipeline, env)
		}
		t.Namespace = s.namespaceName(r.Team, r.Service, env)
		if errs := validation.IsDNS1123Label(t.Namespace); len(errs) > 0 {
			bad(field, "the namespace name %q (from the pattern %q) is not a valid Kubernetes name: %s",
				t.Namespace, s.NamespacePattern, strings.Join(errs, "; "))
		}
		targets = append(targets, t)
	}
	if len(details) > 0 {
		return nil, &paved.Error{Code: paved.CodeUnprocessable, Message: "cannot provision these environments", Details: dedupe(details)}
	}
	return targets, nil
}

func (s *Settings) namespaceName(team, service, env string) string {
	return strings.NewReplacer("{team}", team, "{service}", service, "{env}", env).Replace(s.NamespacePattern)
}

func (s *Settings) groups(team string, extra []string) (editors string, viewers []string) {
	r := strings.NewReplacer("{team}", team)
	for _, g := range append(slices.Clone(s.ViewerGroups), extra...) {
		if g = r.Replace(g); g != "" && !slices.Contains(viewers, g) {
			viewers = append(viewers, g)
		}
	}
	return r.Replace(s.TeamGroup), viewers
}

func dedupe(details []paved.Detail) []paved.Detail {
	var out []paved.Detail
	for _, d := range details {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}
