package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/paved-dev/paved"
)

// Action is a scaffolder step that provisioning implements. The
// scaffolder's task runner calls Run with the step's input (the `input:`
// of the template step, parameters substituted) and stores the output;
// when a later step fails it calls Undo, if set, with the same input and
// that output.
type Action struct {
	ID          string
	Description string
	Run         func(ctx context.Context, input map[string]any) (map[string]any, error)
	Undo        func(ctx context.Context, input, output map[string]any) error
}

// Actions are kube:namespace and kube:pipeline, running the same code as
// the provisioning API.
func (p *Provisioner) Actions() []Action {
	return []Action{
		{ID: "kube:namespace", Description: "Provision a namespace per environment: quota, limits, network policies, RBAC, deployer service account",
			Run: p.namespaceAction, Undo: p.undoNamespaceAction},
		{ID: "kube:pipeline", Description: "Provision the service's pipeline (Argo CD, Tekton or Flux) in each environment",
			Run: p.pipelineAction},
	}
}

// namespaceAction provisions the environments without adding a pipeline;
// an environment that already has one keeps it.
func (p *Provisioner) namespaceAction(ctx context.Context, input map[string]any) (map[string]any, error) {
	r, err := decodeInput("kube:namespace", input)
	if err != nil {
		return nil, err
	}
	if r.Pipeline != "" {
		return nil, paved.Invalid("kube:namespace does not set up pipelines; use kube:pipeline",
			paved.Detail{Field: "input.pipeline", Reason: "not accepted by kube:namespace"})
	}
	r.keepPipeline = true
	return p.runAction(ctx, r)
}

func (p *Provisioner) pipelineAction(ctx context.Context, input map[string]any) (map[string]any, error) {
	r, err := decodeInput("kube:pipeline", input)
	if err != nil {
		return nil, err
	}
	return p.runAction(ctx, r)
}

func (p *Provisioner) runAction(ctx context.Context, r Request) (map[string]any, error) {
	targets, err := p.Targets(r)
	if err != nil {
		return nil, err
	}
	created := map[string]bool{}
	for _, t := range targets {
		if _, err := p.store.Get(ctx, t.Service, t.Environment); paved.ErrorCode(err) == paved.CodeNotFound {
			created[t.Environment] = true
		}
	}
	envs, err := p.Provision(ctx, r)
	out := map[string]any{}
	var list []any
	namespaces := map[string]any{}
	for _, e := range envs {
		namespaces[e.Environment] = e.Namespace
		list = append(list, map[string]any{"environment": e.Environment, "namespace": e.Namespace, "cluster": e.Cluster,
			"pipeline": e.Pipeline, "status": e.Status, "created": created[e.Environment] && e.Status != StatusSkipped})
	}
	out["environments"], out["namespaces"] = list, namespaces
	return out, err
}

// undoNamespaceAction deprovisions the environments the step created;
// ones that existed before it are left alone.
func (p *Provisioner) undoNamespaceAction(ctx context.Context, input, output map[string]any) error {
	r, err := decodeInput("kube:namespace", input)
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
		if _, err := p.Deprovision(ctx, r.Service, env, r.Service+"/"+env); err != nil && paved.ErrorCode(err) != paved.CodeNotFound {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return paved.Errorf(paved.CodeUnavailable, "undo kube:namespace: %s", strings.Join(errs, "; "))
	}
	return nil
}

// decodeInput reads a step's input as a Request; unknown keys are errors,
// so a typo in a template does not silently drop a setting.
func decodeInput(action string, input map[string]any) (Request, error) {
	data, err := json.Marshal(input)
	if err != nil {
		return Request{}, paved.Invalid(action+": input is not JSON data", paved.Detail{Field: "input", Reason: err.Error()})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Request
	if err := dec.Decode(&r); err != nil {
		return Request{}, paved.Invalid(fmt.Sprintf("%s: invalid input", action), paved.Detail{Field: "input", Reason: strings.TrimPrefix(err.Error(), "json: ")})
	}
	return r, nil
}
