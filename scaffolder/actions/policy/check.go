// Package policy is paved:policy:check, the scaffolder's gate: the same
// Rego policies that judge a service at creation and every deployment at
// admission judge the request and the rendered manifests before anything
// is created.
package policy

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/scaffolder"
)

// Check is paved:policy:check.
type Check struct {
	// Engine holds the active policies.
	Engine *policies.Engine
}

var _ scaffolder.Action = Check{}

// ID is the action's name in templates.
func (Check) ID() string { return "paved:policy:check" }

// Description says what the action does.
func (Check) Description() string {
	return "Check the request (input.service) against the service policies and every Kubernetes object of the workspace (kustomize overlays built) against the admission policies"
}

// SupportsDryRun: it only reads.
func (Check) SupportsDryRun() bool { return true }

// Replayable: it changes nothing, so a resumed task checks again.
func (Check) Replayable() bool { return true }

// Run judges input.service (when given) with the service policies and
// every object under input.path (default: the whole workspace) with the
// admission policies. A deny fails the step naming each violation with
// its file (or kustomization) and object; warnings go to the log.
func (a Check) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	snap := a.Engine.Snapshot()
	var found []finding
	if svc, ok := call.Input["service"]; ok {
		input := map[string]any{"service": svc, "template": map[string]any{"ref": call.Template}}
		if err := policies.CheckInput(policies.Service, input); err != nil {
			return nil, err
		}
		vs, err := snap.Evaluate(ctx, policies.Service, input)
		if err != nil {
			return nil, err
		}
		found = append(found, findings("input.service", vs)...)
	}
	root, err := checkedRoot(call)
	if err != nil {
		return nil, err
	}
	objects, err := workspaceObjects(root)
	if err != nil {
		return nil, err
	}
	for _, o := range objects {
		vs, err := snap.Evaluate(ctx, policies.Admission, policies.ObjectInput(o.Obj))
		if err != nil {
			return nil, err
		}
		found = append(found, findings(o.Source+": "+objectName(o.Obj), vs)...)
	}
	return report(call, snap.Revision, len(objects), found)
}

// checkedRoot is the part of the workspace input.path names.
func checkedRoot(call *scaffolder.Call) (fs.FS, error) {
	ws := call.Workspace.FS()
	p, _ := call.Input["path"].(string)
	if p == "" || p == "." {
		return ws, nil
	}
	clean := path.Clean(strings.TrimPrefix(p, "./"))
	if !fs.ValidPath(clean) {
		return nil, paved.Invalid("invalid paved:policy:check input", paved.Detail{Field: "input.path", Reason: fmt.Sprintf("%q is not a path inside the workspace", p)})
	}
	return fs.Sub(ws, clean)
}

// finding is one violation and what it is about.
type finding struct {
	Subject string
	policies.Violation
}

func findings(subject string, vs []policies.Violation) []finding {
	out := make([]finding, 0, len(vs))
	for _, v := range vs {
		out = append(out, finding{Subject: subject, Violation: v})
	}
	return out
}

// report logs warnings and fails on denials.
func report(call *scaffolder.Call, revision string, objects int, found []finding) (map[string]any, error) {
	var denied paved.Details
	warnings := 0
	for _, f := range found {
		switch f.Enforcement {
		case policies.Deny:
			denied = append(denied, paved.Detail{Field: f.Subject, Reason: f.Policy + ": " + f.Message})
		case policies.Warn:
			warnings++
			call.Log.Warn(fmt.Sprintf("policy %s warns about %s: %s", f.Policy, f.Subject, f.Message))
		default:
			call.Log.Info(fmt.Sprintf("policy %s (dry run) would deny %s: %s", f.Policy, f.Subject, f.Message))
		}
	}
	if len(denied) > 0 {
		return nil, &paved.Error{Code: paved.CodeForbidden, Message: fmt.Sprintf("denied by policy (%s): %d violations", revision, len(denied)), Details: denied}
	}
	call.Log.Info(fmt.Sprintf("policies %s allow the request and %d Kubernetes objects (%d warnings)", revision, objects, warnings))
	return map[string]any{"allowed": true, "objects": objects, "warnings": warnings, "revision": revision}, nil
}

// objectName is Kind namespace/name.
func objectName(obj map[string]any) string {
	u := unstructured.Unstructured{Object: obj}
	name := u.GetName()
	if ns := u.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return u.GetKind() + " " + name
}

// Schema describes the input and output.
func (Check) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object(nil, map[string]any{
		"service": scaffolder.Prop("object", "the request the service policies judge: name, owner, system, timeoutSeconds, environments..."),
		"path":    scaffolder.Prop("string", "the part of the workspace whose Kubernetes objects are checked (default: all of it)"),
	}), Output: scaffolder.Object(nil, map[string]any{
		"allowed":  scaffolder.Prop("boolean", "true (a deny fails the step)"),
		"objects":  scaffolder.Prop("integer", "how many Kubernetes objects were checked"),
		"warnings": scaffolder.Prop("integer", "how many warnings were logged"),
		"revision": scaffolder.Prop("string", "the policy versions that judged"),
	})}
}
