package provision

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Reconciler runs reconcile passes on a schedule and on demand, on one
// replica at a time: the holder of a coordination.k8s.io Lease.
type Reconciler struct {
	Provisioner *Provisioner
	// Cluster holds the Lease, in Namespace under LeaseName.
	Cluster   *Cluster
	Namespace string
	LeaseName string
	// Identity names this replica in the Lease and in drift records.
	Identity string
	Interval time.Duration
	// Lease timing; zero values take client-go's usual 15s/10s/2s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Log                                       *slog.Logger

	triggerOnce sync.Once
	trigger     chan struct{}
	leading     atomic.Bool
	passes      atomic.Int64
	drift       atomic.Int64
}

// DefaultLeaseName is the Lease the reconcilers of one Paved installation
// share.
const DefaultLeaseName = "paved-provisioning"

// Trigger asks the leader's loop for a pass now. It never blocks; on a
// replica that does not lead it does nothing.
func (r *Reconciler) Trigger() {
	select {
	case r.triggers() <- struct{}{}:
	default:
	}
}

func (r *Reconciler) triggers() chan struct{} {
	r.triggerOnce.Do(func() { r.trigger = make(chan struct{}, 1) })
	return r.trigger
}

// Leading reports whether this replica holds the Lease.
func (r *Reconciler) Leading() bool { return r.leading.Load() }

// Passes is how many passes this replica ran; Corrected is how many drifted
// objects they fixed.
func (r *Reconciler) Passes() int64    { return r.passes.Load() }
func (r *Reconciler) Corrected() int64 { return r.drift.Load() }

// Run campaigns for the Lease until ctx ends; while leading it reconciles
// every Interval and on Trigger. Leadership lost (the API server was
// unreachable past the renew deadline) stops the passes and campaigns
// again.
func (r *Reconciler) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := r.ensureNamespace(ctx); err != nil {
			r.Log.ErrorContext(ctx, "cannot create the namespace of the reconciler's Lease; retrying", "namespace", r.Namespace, "err", err)
			sleep(ctx, r.retryPeriod())
			continue
		}
		elector, err := leaderelection.NewLeaderElector(r.electionConfig())
		if err != nil {
			r.Log.ErrorContext(ctx, "leader election is misconfigured; the reconciler does not run", "err", err)
			return
		}
		elector.Run(ctx)
	}
}

func (r *Reconciler) electionConfig() leaderelection.LeaderElectionConfig {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: r.leaseName(), Namespace: r.Namespace},
		Client:     r.Cluster.Typed.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: r.Identity},
	}
	return leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            r.leaseName(),
		LeaseDuration:   orDefault(r.LeaseDuration, 15*time.Second),
		RenewDeadline:   orDefault(r.RenewDeadline, 10*time.Second),
		RetryPeriod:     r.retryPeriod(),
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: r.lead,
			OnStoppedLeading: func() {
				r.leading.Store(false)
				r.Log.Info("stopped leading provisioning reconciles", "identity", r.Identity)
			},
		},
	}
}

// lead runs passes until leadership ends (ctx is cancelled).
func (r *Reconciler) lead(ctx context.Context) {
	r.leading.Store(true)
	r.Log.InfoContext(ctx, "leading provisioning reconciles", "identity", r.Identity, "interval", r.Interval)
	ticker := time.NewTicker(r.Interval)
	defer ticker.Stop()
	for {
		r.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-r.triggers():
		}
	}
}

func (r *Reconciler) pass(ctx context.Context) {
	res, err := r.Provisioner.ReconcileAll(ctx)
	r.passes.Add(1)
	r.drift.Add(int64(res.Corrected))
	level := slog.LevelInfo
	if res.Corrected == 0 && err == nil {
		level = slog.LevelDebug
	}
	r.Log.Log(ctx, level, "reconcile pass", "environments", res.Environments, "objects", res.Objects,
		"corrected", res.Corrected, "failed", res.Failed, "duration", res.Duration, "err", err)
}

// ensureNamespace creates the Lease's namespace when it is missing (Paved
// running outside the cluster with a kubeconfig).
func (r *Reconciler) ensureNamespace(ctx context.Context) error {
	ns := r.Cluster.Typed.CoreV1().Namespaces()
	_, err := ns.Get(ctx, r.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = ns.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.Namespace}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	}
	return err
}

func (r *Reconciler) leaseName() string { return orDefault(r.LeaseName, DefaultLeaseName) }

func (r *Reconciler) retryPeriod() time.Duration { return orDefault(r.RetryPeriod, 2*time.Second) }

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
