package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/policies"
)

// policyServer serves the policy API and the webhook handler over a real
// database with the library installed and the decision log running.
type policyServer struct {
	*Server
	webhook *admissionHandler
	mgr     *policies.Manager
}

// newPolicyServer serves the policy API and the webhook with the default
// settings (1 s evaluations, failure policy Ignore, kube-system exempt),
// which tune may change.
func newPolicyServer(t *testing.T, dialect database.Dialect, tune func(*policies.Admitter)) *policyServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db := testsupport.OpenDB(t, dialect)
	store := policies.NewStore(db)
	mgr := &policies.Manager{Store: store, Engine: policies.NewEngine(), Log: testsupport.DiscardLogger()}
	if err := mgr.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	log := policies.NewDecisionLog(store, testsupport.DiscardLogger(), 1000, time.Hour)
	done := make(chan struct{})
	go func() { log.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	adm := &policies.Admitter{Engine: mgr.Engine, Decisions: log, Exempt: map[string]bool{"kube-system": true}, Timeout: time.Second,
		FailOpen: true, Log: testsupport.DiscardLogger()}
	if tune != nil {
		tune(adm)
	}
	s := NewServer(testOptions, testsupport.DiscardLogger(), db,
		Services{Policies: Policies{Manager: mgr, Decisions: log, Admitter: adm, EvalTimeout: adm.Timeout}})
	return &policyServer{Server: s, mgr: mgr, webhook: &admissionHandler{admitter: adm, metrics: s.admission, log: testsupport.DiscardLogger()}}
}

// call sends a JSON request and decodes the JSON answer.
func call(t *testing.T, h http.Handler, method, path string, body any, wantStatus int) map[string]any {
	t.Helper()
	var r *strings.Reader
	if s, ok := body.(string); ok {
		r = strings.NewReader(s)
	} else {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	rec := do(t, h, method, path, r, "Content-Type", "application/json")
	if rec.Code != wantStatus {
		t.Fatalf("%s %s: status %d %s, want %d", method, path, rec.Code, rec.Body, wantStatus)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, rec.Body)
	}
	return out
}

// warnSet has a deny policy on x, a warn policy with a long message, and
// a test; failing makes the test fail.
func warnSet(failing bool) map[string]any {
	test := `count(no_x.violation) == 1 with input as {"request": {"object": {"x": true}}}`
	if failing {
		test = "count(no_x.violation) == 5"
	}
	return map[string]any{"message": "x is out", "data": map[string]any{}, "modules": map[string]string{
		"no_x.rego":      "# METADATA\n# title: No x\n# custom:\n#   targets: [admission, service]\npackage paved.policies.no_x\n\nviolation contains \"x is forbidden\" if input.request.object.x\n",
		"no_x_test.rego": "package paved.policies.no_x_test\n\nimport data.paved.policies.no_x\n\ntest_x if " + test + "\n",
		"long_warn.rego": "# METADATA\n# title: Long warning\n# custom:\n#   enforcement: warn\n#   targets: [admission]\npackage paved.policies.long_warn\n\n" +
			"violation contains msg if {\n\tinput.request.object.y\n\tmsg := concat(\"\", [\"this warning is long \" | some _ in numbers.range(1, 20)])\n}\n",
		"long_warn_test.rego": "package paved.policies.long_warn_test\n\nimport data.paved.policies.long_warn\n\n" +
			"test_y if count(long_warn.violation) == 1 with input as {\"request\": {\"object\": {\"y\": true}}}\n",
	}}
}

func TestPolicyAPI(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		s := newPolicyServer(t, dialect, nil)

		sets := call(t, s, "GET", "/api/policies/sets", nil, 200)
		if items := sets["items"].([]any); len(items) != 1 || items[0].(map[string]any)["activeVersion"] != 1.0 {
			t.Fatalf("sets = %v", sets)
		}
		set := call(t, s, "GET", "/api/policies/sets/default", nil, 200)
		if ps := set["policies"].([]any); len(ps) < 17 || set["data"].(map[string]any)["resources"] == nil {
			t.Fatalf("default set = %v", set)
		}
		call(t, s, "GET", "/api/policies/sets/nope", nil, 404)

		// A module that does not compile: 422 with every error positioned,
		// once, as the error's details.
		broken := map[string]any{"modules": map[string]string{"a.rego": "package a\n\nr := undefined_fn(1)\n", "b.rego": "package b\n\nx := \n"}}
		out := call(t, s, "POST", "/api/policies/sets/default/versions", broken, 422)
		details := out["error"].(map[string]any)["details"].([]any)
		first := details[0].(map[string]any)
		if len(details) != 3 || first["field"] != "a.rego" || first["line"] != 3.0 || first["column"] != 6.0 || first["reason"] == "" ||
			out["error"].(map[string]any)["code"] != "unprocessable" || out["errors"] != nil || len(out) != 1 {
			t.Fatalf("422 body = %v", out)
		}
		if v := call(t, s, "POST", "/api/policies/validate", broken, 200); v["valid"] != false || len(v["errors"].([]any)) != 3 {
			t.Fatalf("validate broken = %v", v)
		}
		if v := call(t, s, "POST", "/api/policies/validate", warnSet(false), 200); v["valid"] != true {
			t.Fatalf("validate good = %v", v)
		}
		call(t, s, "POST", "/api/policies/validate", `{"modules": {}}`, 400)
		call(t, s, "POST", "/api/policies/validate", `{"modules": `, 400)

		// A version whose test fails is stored, but not activated.
		if v := call(t, s, "POST", "/api/policies/sets/default/versions", warnSet(true), 201); v["version"] != 2.0 {
			t.Fatalf("create = %v", v)
		}
		tests := call(t, s, "POST", "/api/policies/sets/default/versions/2/test", nil, 200)
		if tests["passed"] != false || len(tests["results"].([]any)) != 2 {
			t.Fatalf("test results = %v", tests)
		}
		refused := call(t, s, "POST", "/api/policies/sets/default/versions/2/activate", nil, 422)
		if ft := refused["failedTests"].([]any); len(ft) != 1 || ft[0].(map[string]any)["name"] != "data.paved.policies.no_x_test.test_x" ||
			refused["error"].(map[string]any)["requestId"] == nil {
			t.Fatalf("refused activation = %v", refused)
		}

		call(t, s, "POST", "/api/policies/sets/default/versions", warnSet(false), 201)
		if st := call(t, s, "POST", "/api/policies/sets/default/versions/3/activate", nil, 200); st["activeVersion"] != 3.0 {
			t.Fatalf("activate = %v", st)
		}
		ev := call(t, s, "POST", "/api/policies/evaluate", map[string]any{"target": "admission",
			"input": map[string]any{"request": map[string]any{"kind": map[string]any{"kind": "Deployment"}, "namespace": "team-a",
				"object": map[string]any{"x": true, "y": true, "metadata": map[string]any{"name": "web"}}}}}, 200)
		warnings := ev["warnings"].([]any)
		if ev["allowed"] != false || ev["revision"] != "default@3" || ev["decisionId"] == "" || len(warnings) != 1 ||
			len(warnings[0].(string)) > 120 || len(ev["violations"].([]any)) != 2 {
			t.Fatalf("evaluate = %v", ev)
		}
		svc := call(t, s, "POST", "/api/policies/evaluate", map[string]any{"target": "service", "input": map[string]any{"service": map[string]any{"name": "a"}}}, 200)
		if svc["allowed"] != true {
			t.Fatalf("service evaluate = %v", svc)
		}
		// A service request without its service object is a 400 naming the
		// fields, not an allow by policies that found nothing to judge.
		malformed := call(t, s, "POST", "/api/policies/evaluate", map[string]any{"target": "service", "input": map[string]any{"name": "a", "timeout_seconds": 60}}, 400)
		if msg := fmt.Sprint(malformed["error"]); !strings.Contains(msg, "missing property 'service'") || !strings.Contains(msg, "'timeout_seconds'") || !strings.Contains(msg, "not allowed") {
			t.Fatalf("malformed service request = %v", malformed)
		}
		bad := call(t, s, "POST", "/api/policies/evaluate", map[string]any{"target": "cluster", "input": map[string]any{}}, 400)
		if d := bad["error"].(map[string]any)["details"].([]any)[0].(map[string]any); d["field"] != "target" {
			t.Fatalf("bad target = %v", bad)
		}

		// Rollback, history, diff.
		if st := call(t, s, "POST", "/api/policies/sets/default/rollback", map[string]any{"version": 1}, 200); st["activeVersion"] != 1.0 {
			t.Fatalf("rollback = %v", st)
		}
		call(t, s, "POST", "/api/policies/sets/default/rollback", map[string]any{"version": 0}, 400)
		call(t, s, "POST", "/api/policies/sets/default/rollback", map[string]any{"version": 42}, 404)
		if acts := call(t, s, "GET", "/api/policies/sets/default/activations", nil, 200)["items"].([]any); len(acts) != 3 ||
			acts[0].(map[string]any)["action"] != "rollback" {
			t.Fatalf("activations = %v", acts)
		}
		diff := call(t, s, "GET", "/api/policies/sets/default/diff?from=2&to=3", nil, 200)
		if files := diff["files"].([]any); len(files) != 1 || files[0].(map[string]any)["file"] != "no_x_test.rego" {
			t.Fatalf("diff = %v", diff)
		}
		call(t, s, "GET", "/api/policies/sets/default/diff?from=x&to=3", nil, 400)
		if vs := call(t, s, "GET", "/api/policies/sets/default/versions", nil, 200)["items"].([]any); len(vs) != 3 {
			t.Fatalf("versions = %v", vs)
		}

		// The evaluations reach the decision log.
		waitFor(t, func() bool {
			page := call(t, s, "GET", "/api/policies/decisions?source=api&allowed=false", nil, 200)
			items := page["items"].([]any)
			return len(items) == 1 && items[0].(map[string]any)["id"] == ev["decisionId"] && items[0].(map[string]any)["name"] == "web"
		})
		call(t, s, "GET", "/api/policies/decisions?since=yesterday", nil, 400)
		call(t, s, "GET", "/api/policies/decisions?limit=100000", nil, 400)

		audit := call(t, s, "GET", "/api/policies/audit", nil, 200)
		if audit["run"] != nil || !strings.HasPrefix(audit["cluster"].(string), "not configured") {
			t.Fatalf("audit without a cluster = %v", audit)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// admissionReview is an AdmissionReview v1 of obj.
func admissionReview(uid, operation, namespace string, dryRun bool, obj map[string]any) string {
	kind := obj["kind"].(string)
	b, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": uid, "kind": map[string]any{"group": "apps", "version": "v1", "kind": kind}, "operation": operation,
		"namespace": namespace, "name": obj["metadata"].(map[string]any)["name"], "dryRun": dryRun,
		"userInfo": map[string]any{"username": "alice"}, "object": obj}})
	return string(b)
}

func deployment(name, image string) map[string]any {
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "labels": map[string]any{"app.kubernetes.io/name": name, "team": "a"}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "image": image}}}}}}
}

func TestAdmissionWebhook(t *testing.T) {
	s := newPolicyServer(t, database.SQLite, nil)
	type result struct {
		Response struct {
			UID      string   `json:"uid"`
			Allowed  bool     `json:"allowed"`
			Warnings []string `json:"warnings"`
			Status   struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"status"`
		} `json:"response"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	latest := deployment("web", "nginx:latest")
	tests := []struct {
		Name        string
		Body        string
		WantStatus  int
		WantAllowed bool
		WantMessage string
		WantCode    string
	}{
		{"Malformed", `{"apiVersion":`, 400, false, "", "invalid"},
		{"NotAReview", `{"apiVersion": "v1", "kind": "Pod"}`, 400, false, "", "invalid"},
		{"NoRequest", `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}`, 400, false, "", "invalid"},
		{"NoUID", `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"operation": "CREATE"}}`, 400, false, "", "invalid"},
		{"TooLarge", `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "1", "pad": "` + strings.Repeat("x", 3<<20) + `"}}`, 413, false, "", "too_large"},
		{"LatestDenied", admissionReview("u1", "CREATE", "team-a", false, latest), 200, false, "[no_latest_tag] Deployment web: container app uses image nginx:latest", ""},
		{"UpdateDenied", admissionReview("u2", "UPDATE", "team-a", false, latest), 200, false, "[no_latest_tag]", ""},
		{"DeleteAllowed", admissionReview("u3", "DELETE", "team-a", false, latest), 200, true, "", ""},
		{"ExemptNamespace", admissionReview("u4", "CREATE", "kube-system", false, latest), 200, true, "", ""},
		{"UnknownKind", admissionReview("u5", "CREATE", "team-a", false, map[string]any{"kind": "ConfigMap", "metadata": map[string]any{"name": "c"}}), 200, true, "", ""},
		{"DryRunDecided", admissionReview("u6", "CREATE", "team-a", true, latest), 200, false, "[no_latest_tag]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			rec := do(t, s.webhook, "POST", "/admission/validate", strings.NewReader(tt.Body), "Content-Type", "application/json")
			var got result
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != tt.WantStatus {
				t.Fatalf("status %d, body %.300s; want %d", rec.Code, rec.Body, tt.WantStatus)
			}
			if tt.WantStatus != 200 {
				if got.Error.Code != tt.WantCode {
					t.Fatalf("error = %.300s, want code %s", rec.Body, tt.WantCode)
				}
				return
			}
			if got.Response.Allowed != tt.WantAllowed || !strings.Contains(got.Response.Status.Message, tt.WantMessage) {
				t.Fatalf("response = %+v", got.Response)
			}
			if !tt.WantAllowed && (got.Response.Status.Code != 403 || !strings.Contains(got.Response.Status.Message, "default@1")) {
				t.Fatalf("denial = %+v, want 403 naming the revision", got.Response)
			}
		})
	}
	if n := counterValue(t, s.Server, `paved_admission_unknown_kind_total{kind="ConfigMap"}`); n != 1 {
		t.Fatalf("unknown kinds counted = %v, want 1", n)
	}

	// Decisions are logged (dry runs marked, never kept as preview samples);
	// skipped reviews (DELETE, exempt, unknown kind) are not logged.
	waitFor(t, func() bool {
		page, err := s.mgr.Store.Decisions(context.Background(), policies.DecisionFilter{Source: "admission"})
		return err == nil && len(page.Items) == 3 && page.Items[0].User == "alice"
	})
	page, _ := s.mgr.Store.Decisions(context.Background(), policies.DecisionFilter{Source: "admission"})
	dry := 0
	for _, d := range page.Items {
		if d.DryRun {
			dry++
		}
	}
	samples, _ := s.mgr.Store.Samples(context.Background(), 10)
	if dry != 1 || len(samples) != 1 || !strings.Contains(string(samples[0]), `"uid":"u2"`) {
		t.Fatalf("dry runs logged %d (want 1); samples %d (want the UPDATE only)", dry, len(samples))
	}
}

func counterValue(t *testing.T, s *Server, series string) float64 {
	t.Helper()
	rec := do(t, s, "GET", "/metrics", nil)
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, series+" ") {
			var v float64
			fmt.Sscan(strings.TrimPrefix(line, series+" "), &v)
			return v
		}
	}
	return 0
}

// slowSet is a policy set whose one policy takes seconds to decide.
var slowSet = map[string]any{"modules": map[string]string{"slow.rego": "# METADATA\n# title: Slow\n# custom:\n#   targets: [admission]\npackage paved.policies.slow\n\n" +
	"violation contains \"never\" if {\n\tcount([x | some x in numbers.range(1, 50000000); x == 0]) > 0\n}\n"}}

// An evaluation past its deadline gets the configured failure behaviour.
func TestAdmissionDeadline(t *testing.T) {
	for _, policy := range []string{"Ignore", "Fail"} {
		t.Run(policy, func(t *testing.T) {
			s := newPolicyServer(t, database.SQLite, func(a *policies.Admitter) { a.Timeout, a.FailOpen = 5*time.Millisecond, policy == "Ignore" })
			call(t, s, "POST", "/api/policies/sets/default/versions", slowSet, 201)
			if _, err := s.mgr.Store.SetActive(context.Background(), "default", 2, "activate"); err != nil { // no tests to run
				t.Fatal(err)
			}
			if err := s.mgr.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			rec := do(t, s.webhook, "POST", "/admission/validate", strings.NewReader(admissionReview("u", "CREATE", "team-a", false, deployment("web", "a:1"))))
			body := rec.Body.String()
			if policy == "Ignore" && !(strings.Contains(body, `"allowed":true`) && strings.Contains(body, "did not finish within 5ms; allowed by failure policy Ignore")) {
				t.Fatalf("Ignore: %s", body)
			}
			if policy == "Fail" && !(strings.Contains(body, `"allowed":false`) && strings.Contains(body, "did not finish within 5ms; denied by failure policy Fail (decision ")) {
				t.Fatalf("Fail: %s", body)
			}
			waitFor(t, func() bool {
				page, _ := s.mgr.Store.Decisions(context.Background(), policies.DecisionFilter{})
				return len(page.Items) == 1 && strings.Contains(page.Items[0].Error, "did not finish")
			})
		})
	}
}

// A review too big to be decided in time is denied whatever the failure
// policy: size must not buy admission.
func TestAdmissionDeadlineOnBigObjectsFailsClosed(t *testing.T) {
	s := newPolicyServer(t, database.SQLite, func(a *policies.Admitter) {
		a.Timeout, a.FailOpen, a.FailClosedAbove = 5*time.Millisecond, true, 4096
	})
	call(t, s, "POST", "/api/policies/sets/default/versions", slowSet, 201)
	if _, err := s.mgr.Store.SetActive(context.Background(), "default", 2, "activate"); err != nil {
		t.Fatal(err)
	}
	if err := s.mgr.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	small := do(t, s.webhook, "POST", "/admission/validate", strings.NewReader(admissionReview("s", "CREATE", "team-a", false, deployment("web", "a:1"))))
	if !strings.Contains(small.Body.String(), `"allowed":true`) {
		t.Fatalf("small object under Ignore: %s", small.Body)
	}
	big := deployment("big", "a:1")
	big["padding"] = strings.Repeat("x", 8192)
	rec := do(t, s.webhook, "POST", "/admission/validate", strings.NewReader(admissionReview("b", "CREATE", "team-a", false, big)))
	if body := rec.Body.String(); !strings.Contains(body, `"allowed":false`) || !strings.Contains(body, "over the 4096 above which an undecided object is denied") {
		t.Fatalf("big object under Ignore: %s", body)
	}
}

// A preview replays logged reviews against a version and reports what it
// would newly deny or allow.
func TestPolicyPreview(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		s := newPolicyServer(t, dialect, nil)
		call(t, s, "POST", "/api/policies/sets/default/versions", warnSet(false), 201)
		call(t, s, "POST", "/api/policies/sets/default/versions/2/activate", nil, 200)
		withX := deployment("with-x", "a:1")
		withX["x"] = true
		for i, obj := range []map[string]any{withX, deployment("plain", "a:1")} {
			rec := do(t, s.webhook, "POST", "/admission/validate", strings.NewReader(admissionReview(fmt.Sprint(i), "CREATE", "team-a", false, obj)))
			if rec.Code != 200 {
				t.Fatal(rec.Body)
			}
		}
		waitFor(t, func() bool { samples, _ := s.mgr.Store.Samples(context.Background(), 10); return len(samples) == 2 })

		p := call(t, s, "POST", "/api/policies/sets/default/versions/1/preview", map[string]any{"samples": 50}, 200)
		denied := p["newlyDenied"].([]any)
		if p["against"] != "default@2" || p["loggedInputs"] != 2.0 || p["unchanged"] != 1.0 || len(denied) != 1 ||
			denied[0].(map[string]any)["name"] != "plain" || len(p["newlyAllowed"].([]any)) != 0 || p["cluster"] != "not configured" {
			t.Fatalf("preview of the library = %v", p)
		}
		first := denied[0].(map[string]any)["violations"].([]any)[0].(map[string]any)
		if first["enforcement"] != "deny" || first["policy"] == "" {
			t.Fatalf("violation = %v", first)
		}
		call(t, s, "POST", "/api/policies/sets/default/versions/1/preview", map[string]any{"samples": -1}, 400)
		call(t, s, "POST", "/api/policies/sets/default/versions/9/preview", nil, 404)

		// Rolling back to the library reports the same change: what the
		// activation newly denies.
		st := call(t, s, "POST", "/api/policies/sets/default/rollback", map[string]any{"version": 1}, 200)
		pv, _ := st["preview"].(map[string]any)
		if st["activeVersion"] != 1.0 || pv["against"] != "default@2" || len(pv["newlyDenied"].([]any)) != 1 {
			t.Fatalf("rollback answer = %v, want the new state and its preview", st)
		}
	})
}
