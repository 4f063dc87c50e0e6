package provision

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"
)

// provider builds one pipeline flavour's objects for a target.
type provider struct {
	// kinds are the custom resources its objects use; a cluster without
	// them cannot run the provider.
	kinds []crdKind
	// objects builds the target's pipeline objects. team holds every
	// target of the same team and provider on the same cluster (target
	// included), for objects shared by a team.
	objects func(s *Settings, t Target, team []Target) []Object
}

// crdKind is a custom resource kind and the CRD that serves it.
type crdKind struct {
	schema.GroupVersionKind
	crd string
}

var providers = map[string]provider{
	ArgoCD: {kinds: []crdKind{
		{schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "AppProject"}, "appprojects.argoproj.io"},
		{schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}, "applications.argoproj.io"},
	}, objects: argoCDObjects},
	Tekton: {kinds: []crdKind{
		{schema.GroupVersionKind{Group: "tekton.dev", Version: "v1", Kind: "Pipeline"}, "pipelines.tekton.dev"},
		{schema.GroupVersionKind{Group: "triggers.tekton.dev", Version: "v1beta1", Kind: "TriggerBinding"}, "triggerbindings.triggers.tekton.dev"},
		{schema.GroupVersionKind{Group: "triggers.tekton.dev", Version: "v1beta1", Kind: "TriggerTemplate"}, "triggertemplates.triggers.tekton.dev"},
		{schema.GroupVersionKind{Group: "triggers.tekton.dev", Version: "v1beta1", Kind: "EventListener"}, "eventlisteners.triggers.tekton.dev"},
	}, objects: tektonObjects},
	Flux: {kinds: []crdKind{
		{schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}, "gitrepositories.source.toolkit.fluxcd.io"},
		{schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}, "kustomizations.kustomize.toolkit.fluxcd.io"},
	}, objects: fluxObjects},
}

// overlayPath is where a golden-path repository keeps each environment's
// manifests.
func overlayPath(env string) string { return "deploy/overlays/" + env }

// argoCDObjects are the team's AppProject, which limits its Applications to
// the team's repositories and namespaces, and the service's Application.
func argoCDObjects(s *Settings, t Target, team []Target) []Object {
	var repos []any
	var destinations []any
	seenRepo, seenNS := map[string]bool{}, map[string]bool{}
	for _, m := range team {
		if !seenRepo[m.RepoURL] {
			seenRepo[m.RepoURL] = true
			repos = append(repos, m.RepoURL)
		}
		if !seenNS[m.Namespace] {
			seenNS[m.Namespace] = true
			destinations = append(destinations, map[string]any{"server": s.ArgoCD.DestinationServer, "namespace": m.Namespace})
		}
	}
	slices.SortFunc(repos, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	slices.SortFunc(destinations, func(a, b any) int {
		return strings.Compare(a.(map[string]any)["namespace"].(string), b.(map[string]any)["namespace"].(string))
	})
	project := customObject("argoproj.io/v1alpha1", "AppProject", s.ArgoCD.Namespace, t.Team,
		map[string]string{LabelManagedBy: managedByPaved, LabelTeam: t.Team},
		map[string]any{"spec": map[string]any{
			"description":                "Services of team " + t.Team + ", provisioned by Paved",
			"sourceRepos":                repos,
			"destinations":               destinations,
			"namespaceResourceWhitelist": []any{map[string]any{"group": "*", "kind": "*"}},
		}})
	app := customObject("argoproj.io/v1alpha1", "Application", s.ArgoCD.Namespace, t.Service+"-"+t.Environment, targetLabels(t),
		map[string]any{"spec": map[string]any{
			"project": t.Team,
			"source": map[string]any{
				"repoURL": t.RepoURL, "targetRevision": s.ArgoCD.TargetRevision, "path": overlayPath(t.Environment),
			},
			"destination": map[string]any{"server": s.ArgoCD.DestinationServer, "namespace": t.Namespace},
			"syncPolicy": map[string]any{
				"automated":   map[string]any{"prune": true, "selfHeal": true},
				"syncOptions": []any{"CreateNamespace=false"},
			},
		}})
	return []Object{project, app}
}

// tektonObjects are a test-build-deploy Pipeline and the Triggers that run
// it on every push, under the namespace's deployer service account.
func tektonObjects(s *Settings, t Target, _ []Target) []Object {
	sa := s.Deployer.ServiceAccount
	labels := targetLabels(t)
	step := func(name, image, script string) map[string]any {
		return map[string]any{"name": name, "image": image, "workingDir": "$(workspaces.source.path)", "script": script}
	}
	task := func(name string, after []string, steps ...map[string]any) map[string]any {
		stepList := make([]any, len(steps))
		for i, st := range steps {
			stepList[i] = st
		}
		m := map[string]any{
			"name":       name,
			"workspaces": []any{map[string]any{"name": "source", "workspace": "source"}},
			"taskSpec":   map[string]any{"workspaces": []any{map[string]any{"name": "source"}}, "steps": stepList},
		}
		if after != nil {
			m["runAfter"] = toAny(after)
		}
		return m
	}
	image := s.Tekton.Registry + "/" + t.Team + "/" + t.Service + ":$(params.revision)"
	pipeline := customObject("tekton.dev/v1", "Pipeline", t.Namespace, t.Service, labels, map[string]any{"spec": map[string]any{
		"params": []any{
			map[string]any{"name": "repo-url", "type": "string", "default": t.RepoURL},
			map[string]any{"name": "revision", "type": "string", "default": "main"},
		},
		"workspaces": []any{map[string]any{"name": "source"}},
		"tasks": []any{
			task("fetch", nil, step("clone", s.Tekton.GitImage,
				"git clone $(params.repo-url) . && git checkout $(params.revision)")),
			task("test", []string{"fetch"}, step("test", s.Tekton.TestImage, "make test")),
			task("build", []string{"test"}, map[string]any{"name": "build", "image": s.Tekton.BuildImage,
				"workingDir": "$(workspaces.source.path)",
				"args":       []any{"--context=$(workspaces.source.path)", "--destination=" + image}}),
			task("deploy", []string{"build"}, step("deploy", s.Tekton.DeployImage,
				"kubectl apply -k "+overlayPath(t.Environment)+" -n "+t.Namespace)),
		},
	}})
	binding := customObject("triggers.tekton.dev/v1beta1", "TriggerBinding", t.Namespace, t.Service, labels, map[string]any{"spec": map[string]any{
		"params": []any{
			map[string]any{"name": "revision", "value": "$(body.after)"},
			map[string]any{"name": "repo-url", "value": "$(body.repository.clone_url)"},
		},
	}})
	volume := map[string]any{"spec": map[string]any{"accessModes": []any{"ReadWriteOnce"},
		"resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}}}
	if s.Tekton.StorageClass != "" {
		volume["spec"].(map[string]any)["storageClassName"] = s.Tekton.StorageClass
	}
	template := customObject("triggers.tekton.dev/v1beta1", "TriggerTemplate", t.Namespace, t.Service, labels, map[string]any{"spec": map[string]any{
		"params": []any{map[string]any{"name": "revision"}, map[string]any{"name": "repo-url"}},
		"resourcetemplates": []any{map[string]any{
			"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
			"metadata": map[string]any{"generateName": t.Service + "-"},
			"spec": map[string]any{
				"pipelineRef": map[string]any{"name": t.Service},
				"params": []any{
					map[string]any{"name": "revision", "value": "$(tt.params.revision)"},
					map[string]any{"name": "repo-url", "value": "$(tt.params.repo-url)"},
				},
				"taskRunTemplate": map[string]any{"serviceAccountName": sa},
				"workspaces":      []any{map[string]any{"name": "source", "volumeClaimTemplate": volume}},
			},
		}},
	}})
	listener := customObject("triggers.tekton.dev/v1beta1", "EventListener", t.Namespace, t.Service, labels, map[string]any{"spec": map[string]any{
		"serviceAccountName": sa,
		"triggers": []any{map[string]any{"name": "push",
			"bindings": []any{map[string]any{"ref": t.Service}},
			"template": map[string]any{"ref": t.Service}}},
	}})
	return append([]Object{pipeline, binding, template, listener}, triggerRBAC(s, t)...)
}

// triggerRBAC lets the deployer service account, which the EventListener
// runs as, read its triggers and start PipelineRuns.
func triggerRBAC(s *Settings, t Target) []Object {
	const name = "paved-tekton-triggers"
	role := rbacv1ac.Role(name, t.Namespace).WithLabels(targetLabels(t)).WithRules(
		rbacv1ac.PolicyRule().WithAPIGroups("triggers.tekton.dev").
			WithResources("eventlisteners", "triggerbindings", "triggertemplates", "triggers", "interceptors").
			WithVerbs("get", "list", "watch"),
		rbacv1ac.PolicyRule().WithAPIGroups("tekton.dev").WithResources("pipelineruns").WithVerbs("create"),
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("configmaps", "events").WithVerbs("get", "list", "watch", "create"),
	)
	binding := roleBinding(t, name, "Role", name,
		rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithName(s.Deployer.ServiceAccount).WithNamespace(t.Namespace))
	return []Object{
		typedObject(role, func(cs kubernetes.Interface) applyFunc[*rbacv1ac.RoleApplyConfiguration, *rbacv1.Role] {
			return cs.RbacV1().Roles(t.Namespace).Apply
		}),
		roleBindingObject(t, binding),
	}
}

// fluxObjects are a GitRepository and a Kustomization that applies the
// environment's overlay as the deployer service account (impersonation),
// so Flux can do no more in the namespace than CI could.
func fluxObjects(s *Settings, t Target, _ []Target) []Object {
	interval := s.Flux.Interval.String()
	repo := customObject("source.toolkit.fluxcd.io/v1", "GitRepository", t.Namespace, t.Service, targetLabels(t), map[string]any{"spec": map[string]any{
		"interval": interval,
		"url":      t.RepoURL,
		"ref":      map[string]any{"branch": s.Flux.Branch},
	}})
	kustomization := customObject("kustomize.toolkit.fluxcd.io/v1", "Kustomization", t.Namespace, t.Service, targetLabels(t), map[string]any{"spec": map[string]any{
		"interval":           interval,
		"path":               "./" + overlayPath(t.Environment),
		"prune":              true,
		"sourceRef":          map[string]any{"kind": "GitRepository", "name": t.Service},
		"targetNamespace":    t.Namespace,
		"serviceAccountName": s.Deployer.ServiceAccount,
	}})
	return []Object{repo, kustomization}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
