package policies

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/paved-dev/paved"
)

// Review is an AdmissionReview v1 request, read once: the fields a
// decision is logged with, and the whole review as policy input.
type Review struct {
	UID       string
	Group     string
	Kind      string
	Operation string
	Namespace string
	Name      string
	User      string
	DryRun    bool
	// Input is {"request": <the review's request>}, ready for evaluation.
	Input ast.Value
	// Body is the whole review as received, kept for previews.
	Body []byte
}

// ParseReview reads an AdmissionReview v1. A body that is not one returns
// a CodeInvalid error saying what is missing.
func ParseReview(body []byte) (*Review, error) {
	// One pass over the body: numbers stay json.Number, as OPA wants them.
	var doc map[string]any
	if err := util.UnmarshalJSON(body, &doc); err != nil {
		return nil, paved.Invalid("the body is not an AdmissionReview", paved.Detail{Reason: "not a JSON object: " + err.Error()})
	}
	if doc["apiVersion"] != "admission.k8s.io/v1" || doc["kind"] != "AdmissionReview" {
		return nil, paved.Invalid("the body is not an AdmissionReview", paved.Detail{Field: "apiVersion",
			Reason: fmt.Sprintf("want admission.k8s.io/v1 AdmissionReview, got %q %q", doc["apiVersion"], doc["kind"])})
	}
	req, ok := doc["request"].(map[string]any)
	if !ok {
		return nil, paved.Invalid("the AdmissionReview has no request object", paved.Detail{Field: "request", Reason: "missing or not an object"})
	}
	r := &Review{Body: body}
	r.UID, _ = req["uid"].(string)
	if r.UID == "" {
		return nil, paved.Invalid("the AdmissionReview request has no uid", paved.Detail{Field: "request.uid", Reason: "missing"})
	}
	kind, _ := req["kind"].(map[string]any)
	r.Group, _ = kind["group"].(string)
	r.Kind, _ = kind["kind"].(string)
	r.Operation, _ = req["operation"].(string)
	r.Namespace, _ = req["namespace"].(string)
	r.Name, _ = req["name"].(string)
	r.DryRun, _ = req["dryRun"].(bool)
	if user, ok := req["userInfo"].(map[string]any); ok {
		r.User, _ = user["username"].(string)
	}
	if r.Name == "" {
		r.Name = objectName(req["object"])
	}
	v, err := ast.InterfaceToValue(map[string]any{"request": req})
	if err != nil {
		return nil, paved.Invalid("the AdmissionReview request cannot be read", paved.Detail{Field: "request", Reason: err.Error()})
	}
	r.Input = v
	return r, nil
}

// objectName is metadata.name, or generateName for objects the API server
// will name.
func objectName(obj any) string {
	o, _ := obj.(map[string]any)
	meta, _ := o["metadata"].(map[string]any)
	if n, _ := meta["name"].(string); n != "" {
		return n
	}
	n, _ := meta["generateName"].(string)
	return n
}

// AdmissionKinds are the kinds the admission policies understand; reviews
// of any other kind are allowed without evaluation.
var AdmissionKinds = map[string]bool{
	"Pod": true, "Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
	"Job": true, "CronJob": true, "Service": true, "Ingress": true,
}

// Admitter decides admission reviews with the engine's active policies.
type Admitter struct {
	Engine *Engine
	// Decisions records each decision; nil records nothing.
	Decisions *DecisionLog
	// Exempt lists namespaces whose requests are allowed unevaluated.
	Exempt map[string]bool
	// Timeout bounds one evaluation.
	Timeout time.Duration
	// FailOpen allows a request whose evaluation failed or timed out;
	// otherwise it is denied. It matches the webhook's failurePolicy.
	FailOpen bool
	// FailClosedAbove is the review size (bytes) above which a failed or
	// timed-out evaluation denies whatever FailOpen says: a huge object
	// must not be admitted because it was too big to judge in time.
	// Zero disables it.
	FailClosedAbove int
	Log             *slog.Logger
}

// Skip says why a review was allowed without evaluating it.
type Skip string

// Reasons to allow a review unevaluated.
const (
	// SkipOperation is a DELETE or CONNECT, which policies do not judge.
	SkipOperation Skip = "operation"
	// SkipExempt is a request in an exempt namespace.
	SkipExempt Skip = "exempt"
	// SkipUnknownKind is a kind outside AdmissionKinds.
	SkipUnknownKind Skip = "unknown kind"
)

// AdmissionResponse is what the webhook answers.
type AdmissionResponse struct {
	UID        string
	Allowed    bool
	Message    string
	Warnings   []string
	DecisionID string
	// Skipped is why the review was not evaluated; "" when it was.
	Skipped Skip
}

// Admit decides one review. It never fails: errors become the configured
// failure behaviour, logged with the decision id.
func (a *Admitter) Admit(ctx context.Context, r *Review) AdmissionResponse {
	resp := AdmissionResponse{UID: r.UID, Allowed: true}
	switch {
	case r.Operation == "DELETE" || r.Operation == "CONNECT":
		resp.Skipped = SkipOperation
		return resp
	case a.Exempt[r.Namespace]:
		resp.Skipped = SkipExempt
		return resp
	case !AdmissionKinds[r.Kind]:
		resp.Skipped = SkipUnknownKind
		return resp
	}
	start := time.Now()
	d := Decision{ID: NewDecisionID(), At: start, Source: "admission", Target: Admission, Kind: r.Kind,
		Namespace: r.Namespace, Name: r.Name, Operation: r.Operation, User: r.User, DryRun: r.DryRun}
	resp.DecisionID = d.ID
	snap := a.Engine.Snapshot()
	d.Revision = snap.Revision
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	violations, err := snap.Evaluate(ctx, Admission, r.Input)
	cancel()
	d.Duration = time.Since(start)
	if err != nil {
		resp = a.failed(resp, &d, err, len(r.Body))
	} else {
		o := Verdict(violations, snap.Revision)
		d.Violations, d.Allowed = violations, o.Allowed
		resp.Allowed, resp.Warnings = o.Allowed, o.Warnings
		if !o.Allowed {
			resp.Message = fmt.Sprintf("denied by Paved policies %s (decision %s): %s", snap.Revision, d.ID, DenyMessage(violations))
		}
	}
	if !r.DryRun {
		// Dry runs (kubectl --dry-run=server) are decided and logged but not
		// replayed by previews: nothing was stored.
		d.SampleKey = r.Kind + "/" + r.Namespace + "/" + r.Name
		d.SampleInput = r.Body
	}
	if a.Decisions != nil {
		a.Decisions.Record(d)
	}
	return resp
}

// failed applies the failure behaviour to an evaluation that did not
// finish.
func (a *Admitter) failed(resp AdmissionResponse, d *Decision, err error, size int) AdmissionResponse {
	reason := "policy evaluation failed"
	if errors.Is(err, context.DeadlineExceeded) || d.Duration >= a.Timeout {
		reason = fmt.Sprintf("policy evaluation did not finish within %s", a.Timeout)
	}
	d.Error = reason + ": " + err.Error()
	a.Log.Error("admission: "+reason, "decision_id", d.ID, "kind", d.Kind, "namespace", d.Namespace, "name", d.Name, "err", err)
	if a.FailClosedAbove > 0 && size > a.FailClosedAbove {
		d.Allowed, resp.Allowed = false, false
		resp.Message = fmt.Sprintf("Paved: %s; the review is %d bytes, over the %d above which an undecided object is denied whatever the failure policy (decision %s)",
			reason, size, a.FailClosedAbove, d.ID)
		return resp
	}
	if a.FailOpen {
		d.Allowed, resp.Allowed = true, true
		resp.Warnings = []string{Truncate(fmt.Sprintf("Paved: %s; allowed by failure policy Ignore (decision %s)", reason, d.ID), maxWarning)}
		return resp
	}
	d.Allowed, resp.Allowed = false, false
	resp.Message = fmt.Sprintf("Paved: %s; denied by failure policy Fail (decision %s)", reason, d.ID)
	return resp
}
