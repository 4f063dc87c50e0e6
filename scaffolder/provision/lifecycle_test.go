package provision

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// denyMonitoring installs a ValidatingAdmissionPolicy refusing the
// monitoring network policy in the team's namespaces, and waits until the
// API server enforces it.
func denyMonitoring(t *testing.T, c *Cluster, team string) {
	t.Helper()
	ctx := context.Background()
	fail := admissionv1.Fail
	name := "deny-monitoring-" + team
	vap := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{"networking.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"networkpolicies"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: "object.metadata.name != 'paved-allow-monitoring'", Message: "monitoring access is not allowed for this team"}},
		},
	}
	if _, err := c.Typed.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, vap, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{LabelTeam: team}}},
		},
	}
	if _, err := c.Typed.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The API server loads policies asynchronously: probe with dry runs in
	// a namespace of the team until one is refused.
	probe := unique("probe")
	if _, err := c.Typed.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probe, Labels: map[string]string{LabelTeam: team}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "paved-allow-monitoring"}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.Typed.NetworkingV1().NetworkPolicies(probe).Create(ctx, np, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admission policy is not enforced after 30s (last answer: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDeprovision needs the confirmation, deletes the Application and the
// namespace, shrinks the team's AppProject, and deletes it with the
// team's last environment.
func TestDeprovision(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	p := newProvisioner(t, cp, testsupport.OpenDB(t, database.SQLite), nil)
	team, svc := unique("team"), unique("svc")
	c := p.clusters[DefaultCluster]
	if _, err := p.Provision(ctx, Request{Team: team, Service: svc, Environments: []string{"dev", "prod"}, Pipeline: ArgoCD, RepoURL: "https://git.example.com/x.git"}); err != nil {
		t.Fatal(err)
	}

	_, err := p.Deprovision(ctx, svc, "dev", "dev")
	if paved.ErrorCode(err) != paved.CodeUnprocessable || !strings.Contains(err.Error(), `must be "`+svc+`/dev"`) {
		t.Fatalf("unconfirmed deprovision: %v, want unprocessable naming the confirmation", err)
	}
	if _, err := p.store.Get(ctx, svc, "dev"); err != nil {
		t.Fatalf("unconfirmed deprovision removed the record: %v", err)
	}

	out, err := p.Deprovision(ctx, svc, "dev", svc+"/dev")
	if err != nil {
		t.Fatal(err)
	}
	devNS := team + "-" + svc + "-dev"
	want := []ObjectRef{
		{APIVersion: "argoproj.io/v1alpha1", Kind: "Application", Namespace: "argocd", Name: svc + "-dev"},
		{APIVersion: "v1", Kind: "Namespace", Name: devNS},
	}
	if !reflect.DeepEqual(out.Deleted, want) {
		t.Errorf("deleted = %v, want %v", out.Deleted, want)
	}
	ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, devNS, metav1.GetOptions{})
	if err == nil && ns.DeletionTimestamp == nil {
		t.Errorf("namespace %s not being deleted", devNS)
	}
	if u, err := c.get(ctx, want[0]); err != nil || u != nil {
		t.Errorf("Application still there: %v %v", u, err)
	}
	project := live(t, c, "argoproj.io/v1alpha1", "AppProject", "argocd", team)
	dests := field(t, project, "spec", "destinations").([]any)
	if len(dests) != 1 || dests[0].(map[string]any)["namespace"] != team+"-"+svc+"-prod" {
		t.Errorf("AppProject destinations after removing dev = %v, want prod only", dests)
	}
	if _, err := p.store.Get(ctx, svc, "dev"); paved.ErrorCode(err) != paved.CodeNotFound {
		t.Errorf("record of dev after deprovision: %v", err)
	}

	// A removal interrupted half-way stays marked: passes leave it alone,
	// provisioning it again is refused, and DELETE finishes it.
	prod, _ := p.store.Get(ctx, svc, "prod")
	prod.Status = StatusDeprovisioning
	if err := p.store.UpdateState(ctx, prod); err != nil {
		t.Fatal(err)
	}
	if res, err := p.ReconcileAll(ctx); err != nil || res.Environments != 0 {
		t.Errorf("pass over an environment being deprovisioned = %+v, %v; want it skipped", res, err)
	}
	if _, err := p.Provision(ctx, Request{Team: team, Service: svc, Environments: []string{"prod"}}); paved.ErrorCode(err) != paved.CodeConflict {
		t.Errorf("provisioning an environment being deprovisioned: %v, want conflict", err)
	}
	if _, err := p.Deprovision(ctx, svc, "prod", svc+"/prod"); err != nil {
		t.Fatal(err)
	}
	if u, err := c.get(ctx, ObjectRef{APIVersion: "argoproj.io/v1alpha1", Kind: "AppProject", Namespace: "argocd", Name: team}); err != nil || u != nil {
		t.Errorf("AppProject kept after the team's last environment: %v %v", u, err)
	}
}

// TestPipelinesNeedTheirCRDs runs on an API server of its own, without the
// CRDs: each provider fails naming what is missing and nothing is
// applied; once the CRDs are installed the same request succeeds (the
// discovery cache is refreshed).
func TestPipelinesNeedTheirCRDs(t *testing.T) {
	cp := testsupport.Kubernetes(t)
	ctx := context.Background()
	p := newProvisioner(t, cp, testsupport.OpenDB(t, database.SQLite), nil)
	wants := map[string][]string{
		ArgoCD: {"applications.argoproj.io", "appprojects.argoproj.io"},
		Tekton: {"pipelines.tekton.dev", "eventlisteners.triggers.tekton.dev", "triggerbindings.triggers.tekton.dev", "triggertemplates.triggers.tekton.dev"},
		Flux:   {"gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io"},
	}
	for provider, crds := range wants {
		req := Request{Team: "team", Service: provider + "svc", Environments: []string{"dev"}, Pipeline: provider, RepoURL: "https://git.example.com/x.git"}
		_, err := p.Provision(ctx, req)
		if paved.ErrorCode(err) != paved.CodeUnprocessable {
			t.Fatalf("%s: err = %v, want unprocessable", provider, err)
		}
		for _, crd := range crds {
			if !strings.Contains(err.Error(), crd) {
				t.Errorf("%s: %q does not name %s", provider, err, crd)
			}
		}
		if _, err := p.clusters[DefaultCluster].Typed.CoreV1().Namespaces().Get(ctx, "team-"+provider+"svc-dev", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: namespace created although the pipeline cannot run: %v", provider, err)
		}
	}
	cp.InstallCRDs(t, "testdata/crds/tekton.yaml")
	envs, err := p.Provision(ctx, Request{Team: "team", Service: "tektonsvc", Environments: []string{"dev"}, Pipeline: Tekton, RepoURL: "https://git.example.com/x.git"})
	if err != nil || envs[0].Status != StatusReady {
		t.Fatalf("after installing the Tekton CRDs: %v, %+v", err, envs)
	}
}

// TestTektonAndFluxObjects checks the fields the two providers set.
func TestTektonAndFluxObjects(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	p := newProvisioner(t, cp, testsupport.OpenDB(t, database.SQLite), nil)
	c := p.clusters[DefaultCluster]
	team := unique("team")
	repo := "https://git.example.com/" + team + "/app.git"

	tek := unique("tek")
	if _, err := p.Provision(ctx, Request{Team: team, Service: tek, Environments: []string{"dev"}, Pipeline: Tekton, RepoURL: repo}); err != nil {
		t.Fatal(err)
	}
	ns := team + "-" + tek + "-dev"
	pipeline := live(t, c, "tekton.dev/v1", "Pipeline", ns, tek)
	var tasks []string
	for _, task := range field(t, pipeline, "spec", "tasks").([]any) {
		tasks = append(tasks, task.(map[string]any)["name"].(string))
	}
	if !reflect.DeepEqual(tasks, []string{"fetch", "test", "build", "deploy"}) {
		t.Errorf("pipeline tasks = %v", tasks)
	}
	el := live(t, c, "triggers.tekton.dev/v1beta1", "EventListener", ns, tek)
	if got := field(t, el, "spec", "serviceAccountName"); got != "paved-deployer" {
		t.Errorf("EventListener service account = %v", got)
	}
	tt := live(t, c, "triggers.tekton.dev/v1beta1", "TriggerTemplate", ns, tek)
	run := field(t, tt, "spec", "resourcetemplates").([]any)[0].(map[string]any)
	if run["kind"] != "PipelineRun" {
		t.Errorf("TriggerTemplate creates %v, want PipelineRun", run["kind"])
	}
	live(t, c, "triggers.tekton.dev/v1beta1", "TriggerBinding", ns, tek)
	live(t, c, "rbac.authorization.k8s.io/v1", "Role", ns, "paved-tekton-triggers")

	flux := unique("flux")
	if _, err := p.Provision(ctx, Request{Team: team, Service: flux, Environments: []string{"staging"}, Pipeline: Flux, RepoURL: repo}); err != nil {
		t.Fatal(err)
	}
	ns = team + "-" + flux + "-staging"
	gr := live(t, c, "source.toolkit.fluxcd.io/v1", "GitRepository", ns, flux)
	if field(t, gr, "spec", "url") != repo || field(t, gr, "spec", "ref", "branch") != "main" {
		t.Errorf("GitRepository spec = %v", gr.Object["spec"])
	}
	k := live(t, c, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", ns, flux)
	for path, want := range map[string]any{"path": "./deploy/overlays/staging", "serviceAccountName": "paved-deployer", "targetNamespace": ns, "prune": true} {
		if got := field(t, k, "spec", path); got != want {
			t.Errorf("Kustomization spec.%s = %v, want %v", path, got, want)
		}
	}
}

// TestOnlyTheLeaseHolderReconciles runs two reconcilers (two replicas) on
// one database and cluster: only the Lease holder runs passes; when it
// stops, the other takes over.
func TestOnlyTheLeaseHolderReconciles(t *testing.T) {
	cp := sharedCluster(t)
	db := testsupport.OpenDB(t, database.SQLite)
	ctx := context.Background()
	seed := newProvisioner(t, cp, db, nil)
	svc := unique("svc")
	envs, err := seed.Provision(ctx, Request{Team: unique("team"), Service: svc, Environments: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	leaseNS, lease := unique("paved"), unique("lease")
	replica := func(id string) (*Reconciler, context.CancelFunc) {
		p := newProvisioner(t, cp, db, nil)
		p.Identity = id
		// A long lease, so a slow machine never loses it by accident; the
		// take-over below is quick anyway because stopping releases it.
		r := &Reconciler{Provisioner: p, Cluster: p.clusters[DefaultCluster], Namespace: leaseNS, LeaseName: lease, Identity: id,
			Interval: 200 * time.Millisecond, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second,
			RetryPeriod: 200 * time.Millisecond, Log: testsupport.DiscardLogger()}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); r.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return r, func() { cancel(); <-done }
	}
	a, stopA := replica("replica-a")
	b, stopB := replica("replica-b")
	leader, follower := waitForLeader(t, a, b)
	stopLeader := map[*Reconciler]func(){a: stopA, b: stopB}[leader]

	editQuota(t, seed.clusters[DefaultCluster].Typed.CoreV1().ResourceQuotas(envs[0].Namespace), "99")
	waitFor(t, "the quota to be restored", func() bool {
		d, _ := seed.store.Drift(ctx, svc, "dev", 1)
		return len(d) == 1
	})
	d, _ := seed.store.Drift(ctx, svc, "dev", 1)
	if d[0].CorrectedBy != leader.Identity {
		t.Errorf("drift corrected by %s, want the leader %s", d[0].CorrectedBy, leader.Identity)
	}
	if follower.Passes() != 0 || follower.Leading() {
		t.Errorf("follower %s ran %d passes (leading %v), want none", follower.Identity, follower.Passes(), follower.Leading())
	}
	if leader.Passes() == 0 {
		t.Errorf("leader ran no pass")
	}

	stopLeader() // releases the Lease
	waitFor(t, "the other replica to take over", func() bool { return follower.Leading() && follower.Passes() > 0 })
}

func waitForLeader(t *testing.T, a, b *Reconciler) (leader, follower *Reconciler) {
	t.Helper()
	waitFor(t, "a leader", func() bool { return a.Leading() || b.Leading() })
	if a.Leading() {
		return a, b
	}
	return b, a
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNamedClusters connects a cluster named in the settings through its
// kubeconfig; environments on a cluster that is not connected are refused
// naming the connected ones.
func TestNamedClusters(t *testing.T) {
	cp := sharedCluster(t)
	ctx := context.Background()
	s := DefaultSettings()
	s.Clusters = map[string]ClusterSettings{"eu": {Kubeconfig: cp.WriteKubeconfig(t)}}
	s.Environments[2].Cluster = "eu"
	s = completeSettings(t, s)
	clusters, err := ConnectClusters(&s, nil) // no --kubeconfig: only "eu"
	if err != nil {
		t.Fatal(err)
	}
	p := New(s, clusters, NewStore(testsupport.OpenDB(t, database.SQLite)), testsupport.DiscardLogger())
	team, svc := unique("team"), unique("svc")
	_, err = p.Provision(ctx, Request{Team: team, Service: svc, Environments: []string{"dev"}})
	if paved.ErrorCode(err) != paved.CodeUnprocessable || !strings.Contains(err.Error(), `runs on cluster "default", which is not connected; one of eu`) {
		t.Errorf("dev without a default cluster: %v", err)
	}
	envs, err := p.Provision(ctx, Request{Team: team, Service: svc, Environments: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if envs[0].Cluster != "eu" || envs[0].Status != StatusReady {
		t.Errorf("prod = %+v, want ready on eu", envs[0])
	}
	// The request may move an environment to another connected cluster.
	envs, err = p.Provision(ctx, Request{Team: team, Service: unique("svc"), Environments: []string{"dev"}, Cluster: "eu"})
	if err != nil || envs[0].Cluster != "eu" {
		t.Errorf("dev with cluster eu: %+v, %v", envs, err)
	}

	s.Clusters["broken"] = ClusterSettings{Kubeconfig: filepath.Join(t.TempDir(), "missing")}
	if _, err := ConnectClusters(&s, nil); err == nil || !strings.Contains(err.Error(), "provisioning.clusters.broken") {
		t.Errorf("missing kubeconfig: %v, want an error naming provisioning.clusters.broken", err)
	}
}
