package provision

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// BenchmarkProvisionEnvironment provisions one new environment per
// iteration: the namespace, its 12 objects (no mesh configured) and an Argo CD AppProject and
// Application, on the envtest API server, recorded in SQLite. Target:
// p50 ≤ 1 s.
func BenchmarkProvisionEnvironment(b *testing.B) {
	cp := sharedCluster(b)
	p := newProvisioner(b, cp, testsupport.OpenDB(b, database.SQLite), nil)
	ctx := context.Background()
	team := unique("bench")
	var took []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		envs, err := p.Provision(ctx, Request{Team: team, Service: unique("svc"), Environments: []string{"dev"}, Pipeline: ArgoCD, RepoURL: "https://git.example.com/x.git"})
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		if len(envs[0].Objects) != 15 {
			b.Fatalf("%d objects", len(envs[0].Objects))
		}
	}
	reportPercentiles(b, took)
}

// BenchmarkReprovisionUnchanged applies an environment that is already as
// desired: the cost of a no-op server-side apply of every object.
func BenchmarkReprovisionUnchanged(b *testing.B) {
	cp := sharedCluster(b)
	p := newProvisioner(b, cp, testsupport.OpenDB(b, database.SQLite), nil)
	ctx := context.Background()
	req := Request{Team: unique("bench"), Service: unique("svc"), Environments: []string{"dev"}, Pipeline: ArgoCD, RepoURL: "https://git.example.com/x.git"}
	if _, err := p.Provision(ctx, req); err != nil {
		b.Fatal(err)
	}
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := p.Provision(ctx, req); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	reportPercentiles(b, took)
}

func reportPercentiles(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	at := func(q float64) float64 {
		return float64(took[int(q*float64(len(took)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// reconcileFixture is 500 provisioned environments, built once per test
// binary (building them takes longer than a pass).
var reconcileFixture struct {
	once sync.Once
	p    *Provisioner
	envs []Environment
	err  error
}

const reconcileEnvs = 500

func fiveHundred(b *testing.B) (*Provisioner, []Environment) {
	cp := sharedCluster(b)
	f := &reconcileFixture
	f.once.Do(func() {
		// The database outlives the benchmark that builds it: the fixture is
		// shared by the binary's benchmarks and goes with the process.
		dir, err := os.MkdirTemp("", "paved-bench-")
		if err != nil {
			b.Fatal(err)
		}
		db, err := database.Open(context.Background(), "sqlite:"+filepath.Join(dir, "paved.db"), dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Migrate(context.Background(), testsupport.DiscardLogger()); err != nil {
			b.Fatal(err)
		}
		f.p = newProvisioner(b, cp, db, nil)
		f.envs = make([]Environment, reconcileEnvs)
		team := unique("fleet")
		start := time.Now()
		f.err = forEach(context.Background(), reconcileEnvs, 8, func(ctx context.Context, i int) error {
			envs, err := f.p.Provision(ctx, Request{Team: fmt.Sprintf("%s%d", team, i%25), Service: fmt.Sprintf("%s-svc%d", team, i), Environments: []string{"dev"}})
			if err == nil {
				f.envs[i] = envs[0]
			}
			return err
		})
		b.Logf("provisioned %d environments in %s", reconcileEnvs, time.Since(start))
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f.p, f.envs
}

// BenchmarkReconcile500 is one pass over 500 provisioned namespaces (6,500
// objects) with nothing to correct. Target: ≤ 30 s.
func BenchmarkReconcile500(b *testing.B) {
	p, _ := fiveHundred(b)
	ctx := context.Background()
	for b.Loop() {
		res, err := p.ReconcileAll(ctx)
		if err != nil || res.Environments != reconcileEnvs || res.Corrected != 0 {
			b.Fatalf("pass = %+v, %v", res, err)
		}
	}
}

// BenchmarkReconcile500Drifted is the same pass with 50 quotas edited by
// hand before it: 50 corrections and drift records.
func BenchmarkReconcile500Drifted(b *testing.B) {
	p, envs := fiveHundred(b)
	ctx := context.Background()
	cs := p.clusters[DefaultCluster].Typed
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for _, e := range envs[:50] {
			q, err := cs.CoreV1().ResourceQuotas(e.Namespace).Get(ctx, quotaName, metav1.GetOptions{})
			if err != nil {
				b.Fatal(err)
			}
			q.Spec.Hard[corev1.ResourcePods] = resourceList(map[string]string{"pods": fmt.Sprint(100 + i)})["pods"]
			if _, err := cs.CoreV1().ResourceQuotas(e.Namespace).Update(ctx, q, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		res, err := p.ReconcileAll(ctx)
		if err != nil || res.Corrected != 50 {
			b.Fatalf("pass = %+v, %v", res, err)
		}
	}
}
