package policies

import (
	"time"

	"github.com/paved-dev/paved"
)

// Options are the policy engine's settings.
type Options struct {
	// EvalTimeout is the deadline of one evaluation (policy-eval-timeout).
	EvalTimeout time.Duration
	// SyncInterval is how often a replica looks for a newly activated
	// version (policy-sync-interval).
	SyncInterval time.Duration
	// DecisionRetention is how long decisions are kept
	// (policy-decision-retention).
	DecisionRetention time.Duration
	// DecisionQueue is how many decisions may wait to be written
	// (policy-decision-queue).
	DecisionQueue int
	// AuditInterval is how often live objects are audited
	// (policy-audit-interval).
	AuditInterval time.Duration
	// ExemptNamespaces are not judged at admission
	// (policy-exempt-namespaces).
	ExemptNamespaces []string
	// FailClosedAbove is the review size (bytes) above which an undecided
	// review is denied even with failure policy Ignore
	// (policy-fail-closed-above).
	FailClosedAbove int
}

// Validate checks the options. Details name the settings
// (policy-eval-timeout), as flags and the config file spell them.
func (o Options) Validate() error {
	var d paved.Details
	d.PositiveDuration("policy-eval-timeout", o.EvalTimeout)
	d.PositiveDuration("policy-sync-interval", o.SyncInterval)
	d.PositiveDuration("policy-decision-retention", o.DecisionRetention)
	d.PositiveDuration("policy-audit-interval", o.AuditInterval)
	if o.FailClosedAbove < 0 {
		d.Add("policy-fail-closed-above", "%d is not a size in bytes (0 turns it off)", o.FailClosedAbove)
	}
	if o.DecisionQueue < 1 {
		d.Add("policy-decision-queue", "%d is not a positive number", o.DecisionQueue)
	}
	return d.Err("invalid policy settings")
}
