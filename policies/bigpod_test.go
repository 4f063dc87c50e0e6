package policies_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/paved-dev/paved/policies"
)

// bigPodReview is a CREATE review of a Pod with n nginx:latest containers.
func bigPodReview(tb testing.TB, n int) []byte {
	tb.Helper()
	containers := make([]any, n)
	for i := range containers {
		containers[i] = map[string]any{"name": fmt.Sprintf("c%d", i), "image": "nginx:latest"}
	}
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "big", "namespace": "team-a", "labels": map[string]any{"app": "big"}},
		"spec": map[string]any{"containers": containers}}
	review := map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": "u", "kind": map[string]any{"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE", "namespace": "team-a", "name": "big", "object": pod}}
	b, err := json.Marshal(review)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkEvaluateBigPod measures how evaluation grows with an object:
// the default library against Pods of n :latest containers, each of which
// several policies deny. It reports µs per container.
func BenchmarkEvaluateBigPod(b *testing.B) {
	ctx := context.Background()
	c, err := policies.Compile(ctx, library(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{100, 1000, 5000, 20000} {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) {
			body := bigPodReview(b, n)
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				r, err := policies.ParseReview(body)
				if err != nil {
					b.Fatal(err)
				}
				vs, err := c.Evaluate(ctx, policies.Admission, r.Input)
				if err != nil || policies.Verdict(vs, "").Allowed {
					b.Fatalf("%d containers: allowed or failed: %v", n, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/container")
		})
	}
}
