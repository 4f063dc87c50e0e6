package policy_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/policy"
)

// defaultEngine is the policy engine with the default library active.
func defaultEngine(t *testing.T) *policies.Engine {
	t.Helper()
	m := &policies.Manager{Store: policies.NewStore(testsupport.OpenDB(t, database.SQLite)), Engine: policies.NewEngine(), Log: slog.New(slog.DiscardHandler)}
	if err := m.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m.Engine
}

// workspace copies testdata/service into a fresh workspace and applies
// the changes (path → content; "" removes).
func workspace(t *testing.T, changes map[string]string) *os.Root {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/service")); err != nil {
		t.Fatal(err)
	}
	for p, content := range changes {
		full := filepath.Join(dir, p)
		if content == "" {
			os.Remove(full)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}

var goodService = map[string]any{"name": "orders", "owner": "group:default/payments", "timeoutSeconds": int64(10)}

const privilegedPatch = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: payments-orders-dev
resources: [../../base]
images: [{name: registry.local/orders, newTag: "1.2.3"}]
patches:
  - target: {kind: Deployment, name: orders}
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation
        value: true
`

func TestCheck(t *testing.T) {
	check := policy.Check{Engine: defaultEngine(t)}
	cases := []struct {
		name    string
		service map[string]any
		changes map[string]string
		code    paved.Code
		want    []string
	}{
		{name: "Compliant", service: goodService},
		{name: "TimeoutOutsidePolicy", service: map[string]any{"name": "orders", "owner": "group:default/payments", "timeoutSeconds": int64(45)},
			code: paved.CodeForbidden, want: []string{"input.service", "service_timeout"}},
		{name: "OverlayEscalates", service: goodService, changes: map[string]string{"overlays/dev/kustomization.yaml": privilegedPatch},
			code: paved.CodeForbidden, want: []string{"kustomize build overlays/dev: Deployment payments-orders-dev/orders", "no_privilege_escalation"}},
		{name: "PlainFileDenied", service: goodService, changes: map[string]string{"extra/nodeport.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: x, labels: {app.kubernetes.io/name: x, team: payments}}\nspec: {type: NodePort, ports: [{port: 80}]}\n"},
			code: paved.CodeForbidden, want: []string{"extra/nodeport.yaml: Service x", "service_types"}},
		{name: "RemoteBase", service: goodService, changes: map[string]string{"overlays/dev/kustomization.yaml": "resources:\n  - https://github.com/acme/base?ref=main\n"},
			code: paved.CodeInvalid, want: []string{"overlays/dev/kustomization.yaml", "remote bases are not fetched"}},
		{name: "BaseOutside", service: goodService, changes: map[string]string{"overlays/dev/kustomization.yaml": "resources: [../../../../etc]\n"},
			code: paved.CodeInvalid, want: []string{"not a file or directory of the repository"}},
		{name: "BrokenYAML", service: goodService, changes: map[string]string{"extra/broken.yaml": "kind: [\n"},
			code: paved.CodeInvalid, want: []string{"extra/broken.yaml"}},
		{name: "BadServiceInput", service: map[string]any{"owner": "x"}, code: paved.CodeInvalid, want: []string{"name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			call := &scaffolder.Call{Input: map[string]any{"service": tc.service}, Workspace: workspace(t, tc.changes),
				Template: "template:default/go-service", Log: slog.New(slog.DiscardHandler)}
			out, err := check.Run(context.Background(), call)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				// two overlays of two objects, and the VirtualService
				if out["objects"] != 5 || out["allowed"] != true {
					t.Fatalf("output = %v", out)
				}
				return
			}
			if paved.ErrorCode(err) != tc.code {
				t.Fatalf("err = %v (%s), want %s", err, paved.ErrorCode(err), tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}
