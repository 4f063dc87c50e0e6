package provision

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// TestProvisionCreatesEverything provisions dev and prod with Argo CD on a
// real API server and checks the fields of every object.
func TestProvisionCreatesEverything(t *testing.T) {
	cp := sharedCluster(t)
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		p := newProvisioner(t, cp, testsupport.OpenDB(t, dialect), func(s *Settings) { s.Mesh = "istio" })
		team, svc := unique("payments"), unique("checkout")
		repo := "https://git.example.com/" + team + "/" + svc + ".git"
		envs, err := p.Provision(ctx, Request{Team: team, Service: svc, Environments: []string{"dev", "prod"}, Pipeline: ArgoCD, RepoURL: repo})
		if err != nil {
			t.Fatal(err)
		}
		if len(envs) != 2 || envs[0].Status != StatusReady || envs[1].Status != StatusReady {
			t.Fatalf("environments = %+v, want dev and prod ready", envs)
		}
		for _, e := range envs {
			// 14 namespace objects with ingress, mesh and monitoring
			// namespaces configured, plus AppProject and Application.
			if len(e.Objects) != 16 {
				t.Errorf("%s: %d objects, want 16: %v", e.Environment, len(e.Objects), e.Objects)
			}
			for _, o := range e.Objects {
				if o.State != StateApplied || o.ResourceVersion == "" {
					t.Errorf("%s: %s is %s (rv %q), want applied", e.Environment, o.ObjectRef, o.State, o.ResourceVersion)
				}
			}
		}
		c := p.clusters[DefaultCluster]
		cs := c.Typed
		dev, prod := team+"-"+svc+"-dev", team+"-"+svc+"-prod"

		ns, err := cs.CoreV1().Namespaces().Get(ctx, prod, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantLabels := map[string]string{
			LabelManagedBy: "paved", LabelTeam: team, LabelService: svc, LabelEnvironment: "prod",
			"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted",
			"pod-security.kubernetes.io/audit": "restricted", "istio-injection": "enabled",
		}
		for k, v := range wantLabels {
			if ns.Labels[k] != v {
				t.Errorf("namespace %s label %s = %q, want %q", prod, k, ns.Labels[k], v)
			}
		}
		devNS, _ := cs.CoreV1().Namespaces().Get(ctx, dev, metav1.GetOptions{})
		if got := devNS.Labels["pod-security.kubernetes.io/enforce"]; got != "baseline" {
			t.Errorf("dev enforce = %q, want baseline", got)
		}

		q, err := cs.CoreV1().ResourceQuotas(prod).Get(ctx, quotaName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Spec.Hard[corev1.ResourceLimitsCPU]; got.String() != "32" {
			t.Errorf("prod quota limits.cpu = %s, want 32", got.String())
		}
		lr, err := cs.CoreV1().LimitRanges(dev).Get(ctx, limitRangeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := lr.Spec.Limits[0].Default[corev1.ResourceCPU]; got.String() != "500m" {
			t.Errorf("dev default cpu limit = %s, want 500m", got.String())
		}

		nps, err := cs.NetworkingV1().NetworkPolicies(dev).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		byName := map[string]networkingv1.NetworkPolicy{}
		for _, np := range nps.Items {
			names = append(names, np.Name)
			byName[np.Name] = np
		}
		slices.Sort(names)
		wantNP := []string{"paved-allow-dns", "paved-allow-ingress", "paved-allow-mesh", "paved-allow-monitoring", "paved-allow-same-namespace", "paved-default-deny"}
		if !reflect.DeepEqual(names, wantNP) {
			t.Errorf("network policies = %v, want %v", names, wantNP)
		}
		deny := byName["paved-default-deny"]
		if len(deny.Spec.PodSelector.MatchLabels) != 0 || len(deny.Spec.Ingress) != 0 || len(deny.Spec.PolicyTypes) != 2 {
			t.Errorf("default deny = %+v, want all pods, no rules, both directions", deny.Spec)
		}
		mesh := byName["paved-allow-mesh"].Spec.Ingress[0].From[0].NamespaceSelector.MatchExpressions[0]
		if mesh.Key != corev1.LabelMetadataName || !reflect.DeepEqual(mesh.Values, []string{"istio-system"}) {
			t.Errorf("mesh peer = %+v, want namespaces named istio-system", mesh)
		}
		dns := byName["paved-allow-dns"].Spec.Egress[0]
		if len(dns.Ports) != 2 || dns.Ports[0].Port.IntValue() != 53 {
			t.Errorf("dns egress = %+v, want port 53 over UDP and TCP", dns)
		}

		edit, err := cs.RbacV1().RoleBindings(dev).Get(ctx, teamBindingName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if edit.RoleRef.Name != "edit" || edit.Subjects[0].Kind != rbacv1.GroupKind || edit.Subjects[0].Name != team {
			t.Errorf("team binding = %+v %+v, want group %s bound to edit", edit.RoleRef, edit.Subjects, team)
		}
		view, err := cs.RbacV1().RoleBindings(dev).Get(ctx, viewBindingName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if view.RoleRef.Name != "view" || view.Subjects[0].Name != team+"-viewers" {
			t.Errorf("viewer binding = %+v %+v, want group %s-viewers bound to view", view.RoleRef, view.Subjects, team)
		}
		if _, err := cs.CoreV1().ServiceAccounts(dev).Get(ctx, "paved-deployer", metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
		role, err := cs.RbacV1().Roles(dev).Get(ctx, deployerName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.Resources, "deployments") }) {
			t.Errorf("deployer role %+v cannot deploy", role.Rules)
		}
		bind, err := cs.RbacV1().RoleBindings(dev).Get(ctx, deployerName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if bind.Subjects[0].Kind != rbacv1.ServiceAccountKind || bind.Subjects[0].Namespace != dev || bind.RoleRef.Kind != "Role" {
			t.Errorf("deployer binding = %+v", bind)
		}

		app := live(t, c, "argoproj.io/v1alpha1", "Application", "argocd", svc+"-prod")
		for path, want := range map[string]any{
			"spec.project": team, "spec.source.repoURL": repo, "spec.source.path": "deploy/overlays/prod",
			"spec.destination.namespace": prod, "spec.syncPolicy.automated.prune": true, "spec.syncPolicy.automated.selfHeal": true,
		} {
			if got := field(t, app, strings.Split(path, ".")...); got != want {
				t.Errorf("Application %s = %v, want %v", path, got, want)
			}
		}
		project := live(t, c, "argoproj.io/v1alpha1", "AppProject", "argocd", team)
		if got := field(t, project, "spec", "sourceRepos"); !reflect.DeepEqual(got, []any{repo}) {
			t.Errorf("AppProject sourceRepos = %v, want [%s]", got, repo)
		}
		dests := field(t, project, "spec", "destinations").([]any)
		if len(dests) != 2 || dests[0].(map[string]any)["namespace"] != dev || dests[1].(map[string]any)["namespace"] != prod {
			t.Errorf("AppProject destinations = %v, want the dev and prod namespaces", dests)
		}

		stored, err := p.store.Get(ctx, svc, "prod")
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != StatusReady || stored.Namespace != prod || len(stored.Objects) != 16 || stored.LastAppliedAt == nil {
			t.Errorf("stored = %+v", stored)
		}
	})
}

// TestProvisionTwiceChangesNothing: server-side apply of an unchanged
// desired state writes nothing, so no resourceVersion moves.
func TestProvisionTwiceChangesNothing(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	p := newProvisioner(t, cp, testsupport.OpenDB(t, database.SQLite), nil)
	req := Request{Team: unique("team"), Service: unique("svc"), Environments: []string{"dev"}, Pipeline: Flux, RepoURL: "https://git.example.com/a/b.git"}
	first, err := p.Provision(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	before := liveVersions(t, p.clusters[DefaultCluster], first[0].Objects)
	second, err := p.Provision(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range second[0].Objects {
		if o.State != StateUnchanged || o.ResourceVersion != first[0].Objects[i].ResourceVersion {
			t.Errorf("%s: second apply %s at rv %s, want unchanged at %s", o.ObjectRef, o.State, o.ResourceVersion, first[0].Objects[i].ResourceVersion)
		}
	}
	if after := liveVersions(t, p.clusters[DefaultCluster], first[0].Objects); !reflect.DeepEqual(before, after) {
		t.Errorf("resourceVersions moved:\nbefore %v\nafter  %v", before, after)
	}
	res, err := p.ReconcileAll(ctx)
	if err != nil || res.Corrected != 0 || res.Objects != len(first[0].Objects) {
		t.Errorf("reconcile of an untouched environment = %+v, %v; want nothing corrected", res, err)
	}
}

func liveVersions(t *testing.T, c *Cluster, objs []ObjectStatus) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, o := range objs {
		out[o.ObjectRef.String()] = live(t, c, o.APIVersion, o.Kind, o.Namespace, o.Name).GetResourceVersion()
	}
	return out
}

// TestReconcileUndoesDrift edits the quota by hand and deletes a network
// policy; the next pass puts both back and records what it corrected.
func TestReconcileUndoesDrift(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	p := newProvisioner(t, cp, testsupport.OpenDB(t, database.SQLite), nil)
	svc := unique("svc")
	envs, err := p.Provision(ctx, Request{Team: unique("team"), Service: svc, Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	ns := envs[0].Namespace
	cs := p.clusters[DefaultCluster].Typed
	editQuota(t, cs.CoreV1().ResourceQuotas(ns), "100")
	if err := cs.NetworkingV1().NetworkPolicies(ns).Delete(ctx, "paved-allow-dns", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	got, _, err := p.Get(ctx, svc, "dev")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, o := range got.Objects {
		states[o.Name] = o.State
	}
	if states[quotaName] != StateDrifted || states["paved-allow-dns"] != StateMissing || states[limitRangeName] != StateInSync {
		t.Errorf("live states before the pass = %v", states)
	}

	res, err := p.ReconcileAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Corrected != 2 || res.Environments != 1 {
		t.Errorf("pass = %+v, want 2 objects corrected in 1 environment", res)
	}
	q, err := cs.CoreV1().ResourceQuotas(ns).Get(ctx, quotaName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Spec.Hard[corev1.ResourceLimitsCPU]; got.String() != "8" {
		t.Errorf("quota limits.cpu after reconcile = %s, want 8", got.String())
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, "paved-allow-dns", metav1.GetOptions{}); err != nil {
		t.Errorf("deleted network policy not restored: %v", err)
	}

	drift, err := p.store.Drift(ctx, svc, "dev", 10)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]DriftEvent{}
	for _, d := range drift {
		byName[d.Object.Name] = d
	}
	qd := byName[quotaName]
	want := FieldDrift{Path: "spec.hard.limits.cpu", Live: "100", Desired: "8"}
	if qd.Reason != DriftChanged || !slices.Contains(qd.Fields, want) || !slices.Contains(qd.ChangedBy, "kubectl-edit") {
		t.Errorf("quota drift = %+v, want %+v changed by kubectl-edit", qd, want)
	}
	if d := byName["paved-allow-dns"]; d.Reason != DriftDeleted || d.CorrectedAt.IsZero() {
		t.Errorf("network policy drift = %+v, want deleted", d)
	}
	if res, err := p.ReconcileAll(ctx); err != nil || res.Corrected != 0 {
		t.Errorf("second pass = %+v, %v; want nothing to correct", res, err)
	}
}

type quotaClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ResourceQuota, error)
	Update(ctx context.Context, q *corev1.ResourceQuota, opts metav1.UpdateOptions) (*corev1.ResourceQuota, error)
}

// editQuota changes limits.cpu the way `kubectl edit` does: an update
// under its own field manager.
func editQuota(t *testing.T, qc quotaClient, cpu string) {
	t.Helper()
	ctx := context.Background()
	q, err := qc.Get(ctx, quotaName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Spec.Hard[corev1.ResourceLimitsCPU] = resourceList(map[string]string{"cpu": cpu})[corev1.ResourceCPU]
	if _, err := qc.Update(ctx, q, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
}

// TestBadRequestsApplyNothing: invalid names, unknown environments,
// clusters and providers are refused with every reason before anything
// reaches the cluster.
func TestBadRequestsApplyNothing(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	p := newProvisioner(t, cp, testsupport.OpenDB(t, database.SQLite), nil)
	long := strings.Repeat("a", 40)
	for _, tc := range []struct {
		name  string
		req   Request
		field string
		says  string
	}{
		{"invalid service", Request{Team: "team", Service: "Checkout_1"}, "service", "is not usable in Kubernetes names"},
		{"namespace too long", Request{Team: long, Service: long, Environments: []string{"dev"}}, "environments[0]", "{team}-{service}-{env}"},
		{"unknown environment", Request{Team: "team", Service: "svc", Environments: []string{"qa"}}, "environments[0]", "one of dev, staging, prod"},
		{"unknown cluster", Request{Team: "team", Service: "svc", Cluster: "eu-west"}, "cluster", "one of default"},
		{"pipeline without repository", Request{Team: "team", Service: "svc", Pipeline: ArgoCD}, "repoURL", "is required for the argocd pipeline"},
		{"unknown pipeline", Request{Team: "team", Service: "svc", Pipeline: "jenkins", RepoURL: "https://x/y.git"}, "pipeline", "one of argocd, tekton, flux"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Provision(ctx, tc.req)
			var pe *paved.Error
			if !errors.As(err, &pe) || pe.Code != paved.CodeUnprocessable {
				t.Fatalf("err = %v, want unprocessable", err)
			}
			if !slices.ContainsFunc(pe.Details, func(d paved.Detail) bool { return d.Field == tc.field && strings.Contains(d.Reason, tc.says) }) {
				t.Errorf("details = %+v, want %s: ...%s...", pe.Details, tc.field, tc.says)
			}
		})
	}
	envs, err := p.store.List(ctx, Filter{})
	if err != nil || len(envs) != 0 {
		t.Errorf("stored after refusals: %v, %v", envs, err)
	}
	if _, err := p.clusters[DefaultCluster].Typed.CoreV1().Namespaces().Get(ctx, "team-svc-dev", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace of a refused request: %v, want not found", err)
	}
}

// TestForeignNamespaceIsNotTakenOver: a namespace Paved did not create is
// refused, and deprovisioning never deletes one.
func TestForeignNamespaceIsNotTakenOver(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	p := newProvisioner(t, cp, testsupport.OpenDB(t, database.SQLite), nil)
	team, svc := unique("team"), unique("svc")
	cs := p.clusters[DefaultCluster].Typed
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: team + "-" + svc + "-dev"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := p.Provision(ctx, Request{Team: team, Service: svc, Environments: []string{"dev"}})
	if paved.ErrorCode(err) != paved.CodeConflict || !strings.Contains(err.Error(), "was not created by Paved") {
		t.Fatalf("err = %v, want a conflict saying Paved did not create the namespace", err)
	}
	if envs, _ := p.store.List(ctx, Filter{}); len(envs) != 0 {
		t.Errorf("stored %v", envs)
	}
}

// An Argo CD pipeline into a cluster without Argo CD's namespace is a
// precondition failure, like missing CRDs: 422 naming the namespace, and
// nothing applied.
func TestArgoCDNamespaceIsAPrecondition(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	p := newProvisioner(t, cp, testsupport.OpenDB(t, database.SQLite), func(s *Settings) { s.ArgoCD.Namespace = "argocd-absent" })
	team, svc := unique("team"), unique("svc")
	_, err := p.Provision(ctx, Request{Team: team, Service: svc, Environments: []string{"dev"}, Pipeline: ArgoCD, RepoURL: "https://git.example.com/x.git"})
	if paved.ErrorCode(err) != paved.CodeUnprocessable || !strings.Contains(err.Error(), "namespace argocd-absent does not exist on cluster default") {
		t.Fatalf("err = %v, want unprocessable naming the missing namespace", err)
	}
	if _, err := p.clusters[DefaultCluster].Typed.CoreV1().Namespaces().Get(ctx, team+"-"+svc+"-dev", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the service's namespace was created before the precondition failed: %v", err)
	}
}

// TestAPIServerRefusalReportsAppliedObjects: an admission policy refuses
// one object; the error carries the server's message and the states say
// what was applied; the environment is recorded as failed.
func TestAPIServerRefusalReportsAppliedObjects(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	p := newProvisioner(t, cp, testsupport.OpenDB(t, database.SQLite), nil)
	team, svc := unique("team"), unique("svc")
	denyMonitoring(t, p.clusters[DefaultCluster], team)

	envs, err := p.Provision(ctx, Request{Team: team, Service: svc, Environments: []string{"dev", "prod"}})
	var ae *ApplyError
	if !errors.As(err, &ae) || paved.ErrorCode(err) != paved.CodeUnprocessable {
		t.Fatalf("err = %v, want an unprocessable *ApplyError", err)
	}
	if !strings.Contains(err.Error(), "monitoring access is not allowed for this team") || !strings.Contains(err.Error(), "paved-allow-monitoring") {
		t.Errorf("err = %v, want the server's message and the object", err)
	}
	if len(envs) != 2 || envs[0].Status != StatusFailed || envs[1].Status != StatusSkipped {
		t.Fatalf("environments = %+v, want dev failed and prod skipped", envs)
	}
	states := map[string]string{}
	for _, o := range envs[0].Objects {
		states[o.Kind+"/"+o.Name] = o.State
	}
	if states["Namespace/"+envs[0].Namespace] != StateApplied || states["NetworkPolicy/paved-allow-monitoring"] != StateFailed {
		t.Errorf("object states = %v, want the namespace applied and the monitoring policy failed", states)
	}
	stored, err := p.store.Get(ctx, svc, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != StatusFailed || !strings.Contains(stored.LastError, "monitoring access") {
		t.Errorf("stored = %s %q, want failed with the server's message", stored.Status, stored.LastError)
	}
	if _, err := p.store.Get(ctx, svc, "prod"); paved.ErrorCode(err) != paved.CodeNotFound {
		t.Errorf("skipped prod stored: %v", err)
	}
}

// TestReconcilePrunesStaleObjects: objects an environment no longer wants
// (after a settings change, or a pipeline moved from Argo CD to Flux) are
// deleted by the next pass and recorded; the namespace stays.
func TestReconcilePrunesStaleObjects(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	db := testsupport.OpenDB(t, database.SQLite)
	p := newProvisioner(t, cp, db, nil)
	team, svc := unique("team"), unique("svc")
	req := Request{Team: team, Service: svc, Environments: []string{"dev"}, Pipeline: ArgoCD, RepoURL: "https://git.example.com/x.git"}
	envs, err := p.Provision(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ns := envs[0].Namespace
	req.Pipeline = Flux
	if _, err := p.Provision(ctx, req); err != nil {
		t.Fatal(err)
	}
	// The platform team stops allowing the monitoring namespace.
	p2 := newProvisioner(t, cp, db, func(s *Settings) { s.MonitoringNamespaces = []string{} })
	res, err := p2.ReconcileAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Corrected != 2 {
		t.Errorf("pass = %+v, want 2 stale objects removed", res)
	}
	c := p2.clusters[DefaultCluster]
	for _, ref := range []ObjectRef{
		{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: ns, Name: "paved-allow-monitoring"},
		{APIVersion: "argoproj.io/v1alpha1", Kind: "Application", Namespace: "argocd", Name: svc + "-dev"},
	} {
		if u, err := c.get(ctx, ref); err != nil || u != nil {
			t.Errorf("%s still there (%v)", ref, err)
		}
	}
	drift, _ := p2.store.Drift(ctx, svc, "dev", 10)
	if len(drift) != 2 || drift[0].Reason != DriftRemoved || drift[1].Reason != DriftRemoved {
		t.Errorf("drift = %+v, want two removals", drift)
	}
	live(t, c, "v1", "Namespace", "", ns)
	live(t, c, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", ns, svc)
}
