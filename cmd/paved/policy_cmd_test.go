package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/paved-dev/paved/internal/testsupport"
)

func runPaved(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := run(context.Background(), append([]string{"paved"}, args...), func(k string) string { return env[k] }, &stdout, io.Discard)
	return stdout.String(), err
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// allPassed and opaPassed match a run of the whole library with every test
// passing, Paved's summary and OPA's.
var (
	allPassed = regexp.MustCompile(`^(\d+)/(\d+) tests passed`)
	opaPassed = regexp.MustCompile(`PASS: (\d+)/(\d+)`)
)

func TestPolicyTestCommand(t *testing.T) {
	out, err := runPaved(t, nil, "policy", "test")
	if m := allPassed.FindStringSubmatch(out); err != nil || m == nil || m[1] != m[2] {
		t.Fatalf("library: %q, %v", out, err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "p/policy.rego", costCenter)
	writeFile(t, dir, "p/policy_test.rego", "package paved.policies.cost_center_test\n\nimport data.paved.policies.cost_center\n\n"+
		"test_warns if count(cost_center.violation) == 1 with input as {\"request\": {\"kind\": {\"kind\": \"Pod\"}, \"object\": {\"metadata\": {\"name\": \"p\"}}}}\n\n"+
		"test_wrong if count(cost_center.violation) == 0 with input as {\"request\": {\"kind\": {\"kind\": \"Pod\"}, \"object\": {\"metadata\": {\"name\": \"p\"}}}}\n")
	out, err = runPaved(t, nil, "policy", "test", dir)
	if err == nil || exitCode(err) != 1 || !strings.Contains(out, "FAIL data.paved.policies.cost_center_test.test_wrong (p/policy_test.rego)") ||
		!strings.Contains(out, "1/2 tests passed") {
		t.Fatalf("failing test: %q, %v", out, err)
	}
	writeFile(t, dir, "p/broken.rego", "package x\n\ny := \n")
	if out, err = runPaved(t, nil, "policy", "test", dir); err == nil || !strings.Contains(out, "p/broken.rego:4:0:") {
		t.Fatalf("compile error: %q, %v", out, err)
	}
	if _, err := runPaved(t, nil, "policy", "test", filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "not a readable folder") {
		t.Fatalf("missing folder: %v", err)
	}
}

func TestPolicyEvalCommand(t *testing.T) {
	dir := t.TempDir()
	manifests := writeFile(t, dir, "deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app.kubernetes.io/name: web, team: a}\n"+
		"spec:\n  template:\n    spec:\n      containers:\n      - {name: app, image: 'nginx:latest'}\n---\n"+
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {app.kubernetes.io/name: web, team: a}\nspec: {type: ClusterIP}\n")
	out, err := runPaved(t, nil, "policy", "eval", "--input", manifests)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 input(s) denied") {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var first, second struct {
		Input      string
		Allowed    bool
		Violations []struct{ Policy string }
	}
	if dec.Decode(&first) != nil || dec.Decode(&second) != nil || first.Allowed || second.Allowed != true || first.Input != manifests+"#1 Deployment/web" {
		t.Fatalf("results: %+v %+v\n%s", first, second, out)
	}
	svc := writeFile(t, dir, "svc.json", `{"service": {"name": "checkout", "owner": "group:payments", "timeoutSeconds": 10}}`)
	if out, err := runPaved(t, nil, "policy", "eval", "--target", "service", "--input", svc); err != nil || !strings.Contains(out, `"allowed": true`) {
		t.Fatalf("service: %v\n%s", err, out)
	}
	bad := writeFile(t, dir, "bad.yaml", "kind: [\n")
	if _, err := runPaved(t, nil, "policy", "eval", "--input", bad); err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Fatalf("bad input: %v", err)
	}
	if _, err := runPaved(t, nil, "policy", "eval"); exitCode(err) != 2 {
		t.Fatalf("no input: %v", err)
	}
}

// The exported bundle is a real OPA bundle: opa runs its tests and
// evaluates the same violations.
func TestPolicyExportLoadsInOPA(t *testing.T) {
	opa := testsupport.OPA(t)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.tar.gz")
	if out, err := runPaved(t, nil, "policy", "export", "--output", bundle, "--revision", "default@1"); err != nil || !strings.Contains(out, "wrote") {
		t.Fatalf("export: %v %s", err, out)
	}
	out, err := exec.Command(opa, "test", "--bundle", bundle).CombinedOutput()
	if m := opaPassed.FindStringSubmatch(string(out)); err != nil || m == nil || m[1] != m[2] {
		t.Fatalf("opa test: %v\n%s", err, out)
	}
	input := writeFile(t, dir, "input.json", `{"request": {"kind": {"kind": "Pod"}, "object": {"kind": "Pod", "metadata": {"name": "p"},
		"spec": {"containers": [{"name": "a", "image": "nginx:latest"}]}}}}`)
	out, err = exec.Command(opa, "eval", "--bundle", bundle, "--input", input, "--format", "raw", "data.paved.policies.no_latest_tag.violation").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "container a uses image nginx:latest") {
		t.Fatalf("opa eval: %v\n%s", err, out)
	}
	// And Paved reads the bundle layout back.
	extract := filepath.Join(dir, "x")
	if err := os.MkdirAll(extract, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xzf", bundle, "-C", extract).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	summary, err := runPaved(t, nil, "policy", "test", extract)
	if m := allPassed.FindStringSubmatch(summary); err != nil || m == nil || m[1] != m[2] {
		t.Fatalf("paved policy test of the extracted bundle: %v %s", err, summary)
	}
}

func TestAdmissionManifestCommand(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{"PAVED_DATA_DIR": dataDir, "PAVED_WEBHOOK_URL": "https://paved.platform.svc:8443/admission/validate",
		"PAVED_NAMESPACE": "platform", "PAVED_WEBHOOK_FAILURE_POLICY": "Fail"}
	out, err := runPaved(t, env, "admission", "manifest")
	if err != nil {
		t.Fatal(err)
	}
	var hook admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict([]byte(out), &hook); err != nil {
		t.Fatalf("not a ValidatingWebhookConfiguration: %v\n%s", err, out)
	}
	ca, err := os.ReadFile(filepath.Join(dataDir, "webhook-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	w := hook.Webhooks[0]
	svc := w.ClientConfig.Service
	if svc == nil || svc.Namespace != "platform" || svc.Name != "paved" || *svc.Port != 8443 || *svc.Path != "/admission/validate" ||
		!bytes.Equal(w.ClientConfig.CABundle, ca) || *w.TimeoutSeconds != 3 || *w.SideEffects != admissionregistrationv1.SideEffectClassNone ||
		*w.FailurePolicy != admissionregistrationv1.Fail || len(w.Rules) != 4 {
		t.Fatalf("webhook = %+v", w)
	}
	if excluded := w.NamespaceSelector.MatchExpressions[0].Values; strings.Join(excluded, ",") != "kube-system,platform" {
		t.Fatalf("excluded namespaces = %v", excluded)
	}
	// The CA is kept: a second run prints the same caBundle.
	again, _ := runPaved(t, env, "admission", "manifest")
	if again != out {
		t.Fatal("the caBundle changed between runs")
	}
	if _, err := runPaved(t, map[string]string{"PAVED_DATA_DIR": dataDir}, "admission", "manifest"); exitCode(err) != 2 {
		t.Fatalf("without a webhook address: %v", err)
	}
}
