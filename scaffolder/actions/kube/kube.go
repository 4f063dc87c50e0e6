// Package kube is the scaffolder's Kubernetes actions, kube:namespace and
// kube:pipeline: adapters from a template step's input and output to
// provisioning, so a template runs the same code as the provisioning API.
package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/provision"
)

// Actions are kube:namespace and kube:pipeline over p.
func Actions(p *provision.Provisioner) []scaffolder.Action {
	return []scaffolder.Action{Namespace{p}, Pipeline{p}}
}

var (
	_ scaffolder.Undoer = Namespace{}
	_ scaffolder.Action = Pipeline{}
)

// Namespace is kube:namespace: a namespace per environment with quota,
// limits, network policies, RBAC and the deployer. It leaves pipelines
// alone. Its input is a provisioning request without a pipeline.
type Namespace struct{ Provisioner *provision.Provisioner }

// ID is the action's name in templates.
func (Namespace) ID() string { return "kube:namespace" }

// Description says what the action does.
func (Namespace) Description() string {
	return "Provision a namespace per environment: quota, limits, network policies, RBAC, deployer service account"
}

// Run provisions the environments; an environment that already has a
// pipeline keeps it. Its output lists each environment (namespace,
// cluster, status, and whether this step created it) and maps
// environments to namespaces.
func (a Namespace) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	r, err := decodeInput(a.ID(), call.Input)
	if err != nil {
		return nil, err
	}
	if r.Pipeline != "" {
		return nil, paved.Invalid("kube:namespace does not set up pipelines; use kube:pipeline",
			paved.Detail{Field: "input.pipeline", Reason: "not accepted by kube:namespace"})
	}
	if call.DryRun {
		return plan(call, a.ID(), a.Provisioner, r)
	}
	return run(ctx, a.Provisioner, r, a.Provisioner.ProvisionNamespaces)
}

// Undo deprovisions the environments Run created; ones that existed
// before it are left alone.
func (a Namespace) Undo(ctx context.Context, call *scaffolder.Call, output map[string]any) error {
	r, err := decodeInput(a.ID(), call.Input)
	if err != nil {
		return err
	}
	envs, _ := output["environments"].([]any)
	var errs []string
	for _, e := range envs {
		m, _ := e.(map[string]any)
		env, _ := m["environment"].(string)
		if created, _ := m["created"].(bool); !created || env == "" {
			continue
		}
		_, err := a.Provisioner.Deprovision(ctx, r.Service, env, r.Service+"/"+env)
		if err != nil && paved.ErrorCode(err) != paved.CodeNotFound {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return paved.Errorf(paved.CodeUnavailable, "undo kube:namespace: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Pipeline is kube:pipeline: the service's Argo CD, Tekton or Flux
// pipeline in each environment (and the namespace, if missing). Its input
// is a provisioning request.
type Pipeline struct{ Provisioner *provision.Provisioner }

// ID is the action's name in templates.
func (Pipeline) ID() string { return "kube:pipeline" }

// Description says what the action does.
func (Pipeline) Description() string {
	return "Provision the service's pipeline (Argo CD, Tekton or Flux) in each environment"
}

// Run provisions the environments with their pipeline; its output is
// kube:namespace's.
func (a Pipeline) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	r, err := decodeInput(a.ID(), call.Input)
	if err != nil {
		return nil, err
	}
	if call.DryRun {
		return plan(call, a.ID(), a.Provisioner, r)
	}
	return run(ctx, a.Provisioner, r, a.Provisioner.Provision)
}

// SupportsDryRun: a dry run says which namespaces (and pipelines) it
// would provision where, applying nothing.
func (Namespace) SupportsDryRun() bool { return true }

// SupportsDryRun: as kube:namespace.
func (Pipeline) SupportsDryRun() bool { return true }

// plan is a dry run's output: the environments the request resolves to,
// status "planned", and a log line for each.
func plan(call *scaffolder.Call, action string, p *provision.Provisioner, r provision.Request) (map[string]any, error) {
	targets, err := p.Targets(r)
	if err != nil {
		return nil, err
	}
	var list []any
	namespaces := map[string]any{}
	for _, t := range targets {
		namespaces[t.Environment] = t.Namespace
		list = append(list, map[string]any{"environment": t.Environment, "namespace": t.Namespace, "cluster": t.Cluster, "pipeline": t.Pipeline, "status": "planned"})
		what := "namespace " + t.Namespace
		if action == "kube:pipeline" && t.Pipeline != "" {
			what += " with its " + t.Pipeline + " pipeline"
		}
		call.Log.Info(fmt.Sprintf("%s would provision %s on cluster %s (environment %s)", action, what, t.Cluster, t.Environment))
	}
	return map[string]any{"environments": list, "namespaces": namespaces}, nil
}

// run provisions r with apply and words the outcome as a step output,
// noting which environments did not exist before.
func run(ctx context.Context, p *provision.Provisioner, r provision.Request,
	apply func(context.Context, provision.Request) ([]provision.Environment, error)) (map[string]any, error) {
	targets, err := p.Targets(r)
	if err != nil {
		return nil, err
	}
	created := map[string]bool{}
	for _, t := range targets {
		if _, err := p.Store().Get(ctx, t.Service, t.Environment); paved.ErrorCode(err) == paved.CodeNotFound {
			created[t.Environment] = true
		}
	}
	envs, err := apply(ctx, r)
	var list []any
	namespaces := map[string]any{}
	for _, e := range envs {
		namespaces[e.Environment] = e.Namespace
		list = append(list, map[string]any{"environment": e.Environment, "namespace": e.Namespace, "cluster": e.Cluster,
			"pipeline": e.Pipeline, "status": e.Status, "created": created[e.Environment] && e.Status != provision.StatusSkipped})
	}
	return map[string]any{"environments": list, "namespaces": namespaces}, err
}

// decodeInput reads a step's input as a provisioning request; unknown keys
// are errors, so a typo in a template does not silently drop a setting.
func decodeInput(action string, input map[string]any) (provision.Request, error) {
	data, err := json.Marshal(input)
	if err != nil {
		return provision.Request{}, paved.Invalid(action+": input is not JSON data", paved.Detail{Field: "input", Reason: err.Error()})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r provision.Request
	if err := dec.Decode(&r); err != nil {
		return provision.Request{}, paved.Invalid(action+": invalid input", paved.Detail{Field: "input", Reason: strings.TrimPrefix(err.Error(), "json: ")})
	}
	return r, nil
}

// requestSchema is the input of both actions: a provisioning request.
func requestSchema() map[string]any {
	return scaffolder.Object([]string{"team", "service"}, map[string]any{
		"team":         scaffolder.Prop("string", "the owning team"),
		"service":      scaffolder.Prop("string", "the service's name"),
		"environments": scaffolder.Prop("array", "environment profiles (default: every configured one)"),
		"pipeline":     scaffolder.Prop("string", "argocd, flux or tekton (default: the profile's)"),
		"repoURL":      scaffolder.Prop("string", "the repository the pipeline deploys from"),
		"cluster":      scaffolder.Prop("string", "a named cluster instead of the profile's"),
		"viewers":      scaffolder.Prop("array", "groups given read access"),
	})
}

// provisionedSchema is the output of both actions.
func provisionedSchema() map[string]any {
	return scaffolder.Object(nil, map[string]any{
		"environments": scaffolder.Prop("array", "per environment: environment, namespace, cluster, pipeline, status, created"),
		"namespaces":   scaffolder.Prop("array", "the namespaces, in environment order"),
	})
}

// Schema describes the input and output.
func (Namespace) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: requestSchema(), Output: provisionedSchema()}
}

// Schema describes the input and output.
func (Pipeline) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: requestSchema(), Output: provisionedSchema()}
}
