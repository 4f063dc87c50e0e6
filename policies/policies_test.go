package policies_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/policies"
)

func library(t testing.TB) policies.Source {
	t.Helper()
	src, err := policies.Library()
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestLibraryCompilesAndItsTestsPass(t *testing.T) {
	ctx := context.Background()
	src := library(t)
	c, err := policies.Compile(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Policies {
		if p.Title == "" || len(p.Targets) == 0 {
			t.Errorf("policy %s lacks a title or targets: %+v", p.Name, p)
		}
		if _, ok := src.Modules[p.Name+"/policy_test.rego"]; !ok {
			t.Errorf("policy %s has no policy_test.rego", p.Name)
		}
	}
	results, err := policies.Test(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if failed := policies.Failed(results); len(failed) > 0 || len(results) < len(c.Policies) {
		t.Fatalf("%s: %+v", policies.Summary(results), failed)
	}
}

// goldenPath is a Deployment as the golden-path templates write it.
func goldenPath() map[string]any {
	return review(map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "checkout", "namespace": "payments-checkout-dev",
			"labels": map[string]any{"app.kubernetes.io/name": "checkout", "team": "payments"}},
		"spec": map[string]any{"replicas": 2, "template": map[string]any{"spec": map[string]any{
			"securityContext": map[string]any{"runAsNonRoot": true},
			"containers": []any{map[string]any{
				"name": "app", "image": "ghcr.io/acme/checkout:1.4.2",
				"resources": map[string]any{
					"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
					"limits":   map[string]any{"cpu": "500m", "memory": "256Mi"},
				},
				"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/readyz", "port": 8080}},
				"livenessProbe":  map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": 8080}},
				"securityContext": map[string]any{"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
					"runAsNonRoot": true, "capabilities": map[string]any{"drop": []any{"ALL"}}},
			}},
		}}},
	})
}

func review(obj map[string]any) map[string]any {
	return map[string]any{"request": map[string]any{"operation": "CREATE", "object": obj,
		"kind": map[string]any{"group": "apps", "version": "v1", "kind": obj["kind"]}}}
}

func TestEvaluate(t *testing.T) {
	ctx := context.Background()
	c, err := policies.Compile(ctx, library(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Evaluate(ctx, policies.Admission, goldenPath())
	if err != nil || len(got) != 0 {
		t.Fatalf("golden path: %v, %v; want no violations", got, err)
	}

	latest := goldenPath()
	container := latest["request"].(map[string]any)["object"].(map[string]any)["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	container["image"] = "nginx:latest"
	got, err = c.Evaluate(ctx, policies.Admission, latest)
	want := []policies.Violation{{Policy: "no_latest_tag", Severity: "high", Enforcement: policies.Deny,
		Message: "Deployment checkout: container app uses image nginx:latest; pin a tag other than latest, or a digest"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("latest image: %+v, %v; want %+v", got, err, want)
	}

	got, err = c.Evaluate(ctx, policies.Service, map[string]any{"service": map[string]any{"name": "checkout", "owner": "group:payments", "timeoutSeconds": 90}})
	if err != nil || len(got) != 1 || got[0].Policy != "service_timeout" {
		t.Fatalf("service with a 90 s timeout: %+v, %v; want the service_timeout violation", got, err)
	}
}

const validPolicy = `# METADATA
# title: T
# custom:
#   targets: [admission]
package paved.policies.p

violation contains "x" if input.x
`

func TestCompileReportsEveryErrorWithItsPosition(t *testing.T) {
	tests := []struct {
		Name    string
		Modules map[string]string
		Want    []policies.CompileError
	}{
		{"Syntax", map[string]string{"a.rego": "package a\n\nallow if {\n"},
			[]policies.CompileError{{File: "a.rego", Row: 4, Col: 0}}}, // OPA places an unexpected end of file after the last line
		{"OutwardBuiltinUnavailable", map[string]string{"a.rego": "package a\n\nr := http.send({\"method\": \"get\", \"url\": \"http://x\"})\n"},
			[]policies.CompileError{{File: "a.rego", Row: 3, Col: 6}}},
		{"NetBuiltinUnavailable", map[string]string{"a.rego": "package a\n\nr := net.lookup_ip_addr(\"example.com\")\n"},
			[]policies.CompileError{{File: "a.rego", Row: 3, Col: 6}}},
		{"TwoFilesTwoErrors", map[string]string{"a.rego": "package a\n\nr := undefined_fn(1)\n", "b.rego": "package b\n\nx := \n"},
			[]policies.CompileError{{File: "a.rego", Row: 3, Col: 6}, {File: "b.rego", Row: 4, Col: 0}, {File: "b.rego", Row: 4, Col: 0}}},
		{"MissingMetadata", map[string]string{"p.rego": "package paved.policies.p\n\nviolation contains \"x\" if input.x\n"},
			[]policies.CompileError{{File: "p.rego", Row: 1, Col: 1}}},
		{"BadEnforcementAndNoViolationRule", map[string]string{"p.rego": strings.Replace(strings.Replace(validPolicy, "targets: [admission]", "targets: [admission]\n#   enforcement: block", 1), "violation contains", "other contains", 1)},
			[]policies.CompileError{{File: "p.rego", Row: 6, Col: 1}, {File: "p.rego", Row: 6, Col: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			errs := policies.Validate(context.Background(), policies.Source{Modules: tt.Modules})
			if len(errs) != len(tt.Want) {
				t.Fatalf("errors = %v, want %d", errs, len(tt.Want))
			}
			for i, w := range tt.Want {
				if e := errs[i]; e.File != w.File || e.Row != w.Row || e.Col != w.Col || e.Message == "" {
					t.Errorf("error %d = %+v, want at %s:%d:%d", i, e, w.File, w.Row, w.Col)
				}
			}
		})
	}
	if errs := policies.Validate(context.Background(), policies.Source{Modules: map[string]string{"p.rego": validPolicy}}); errs != nil {
		t.Fatalf("a valid policy: %v", errs)
	}
}

func TestFailingTestIsReported(t *testing.T) {
	src := policies.Source{Modules: map[string]string{
		"p.rego":      validPolicy,
		"p_test.rego": "package paved.policies.p_test\n\nimport data.paved.policies.p\n\ntest_passes if count(p.violation) == 1 with input as {\"x\": true}\n\ntest_fails if count(p.violation) == 1 with input as {}\n",
	}}
	results, err := policies.Test(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	failed := policies.Failed(results)
	if len(results) != 2 || len(failed) != 1 || failed[0].Name != "data.paved.policies.p_test.test_fails" || failed[0].File != "p_test.rego" {
		t.Fatalf("results = %+v", results)
	}
}

// Service requests are checked before evaluation; admission input is not
// (the review parser checks it).
func TestCheckInput(t *testing.T) {
	for _, tt := range []struct {
		Name   string
		Target policies.Target
		Input  any
		Want   string // in the error; "" for none
	}{
		{"Valid", policies.Service, map[string]any{"service": map[string]any{"name": "checkout", "owner": "group:payments", "timeoutSeconds": 10.0}}, ""},
		{"NoOwnerIsForThePolicies", policies.Service, map[string]any{"service": map[string]any{"name": "checkout"}}, ""},
		{"FlatRequest", policies.Service, map[string]any{"name": "checkout", "timeout_seconds": 60.0}, "missing property 'service'"},
		{"NoName", policies.Service, map[string]any{"service": map[string]any{"owner": "x"}}, "input.service"},
		{"TimeoutAsString", policies.Service, map[string]any{"service": map[string]any{"name": "a", "timeoutSeconds": "10"}}, "input.service.timeoutSeconds"},
		{"NotAnObject", policies.Service, []any{1.0}, "want object"},
		{"AdmissionNotChecked", policies.Admission, map[string]any{"anything": true}, ""},
	} {
		t.Run(tt.Name, func(t *testing.T) {
			err := policies.CheckInput(tt.Target, tt.Input)
			switch {
			case tt.Want == "" && err != nil:
				t.Errorf("CheckInput = %v, want nil", err)
			case tt.Want != "" && (paved.ErrorCode(err) != paved.CodeInvalid || !strings.Contains(err.Error(), tt.Want)):
				t.Errorf("CheckInput = %v, want an invalid error saying %q", err, tt.Want)
			}
		})
	}
}
