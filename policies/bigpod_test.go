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
	return podReviewOf(tb, n, func(i int) map[string]any {
		return map[string]any{"name": fmt.Sprintf("c%d", i), "image": "nginx:latest"}
	})
}

// distinctPodReview is a review of a Pod of n containers that each have an
// image and cpu limit of their own: every one a finding of its own.
func distinctPodReview(tb testing.TB, n int) []byte {
	return podReviewOf(tb, n, func(i int) map[string]any {
		return map[string]any{"name": fmt.Sprintf("c%d", i), "image": fmt.Sprintf("img%d:latest", i),
			"resources": map[string]any{"limits": map[string]any{"cpu": fmt.Sprint(100 + i)}}}
	})
}

func podReviewOf(tb testing.TB, n int, container func(i int) map[string]any) []byte {
	tb.Helper()
	containers := make([]any, n)
	for i := range containers {
		containers[i] = container(i)
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
// several policies deny, alike or each with values of its own. It reports
// µs per container.
func BenchmarkEvaluateBigPod(b *testing.B) {
	ctx := context.Background()
	c, err := policies.Compile(ctx, library(b))
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		shape string
		n     int
		pod   func(testing.TB, int) []byte
	}{{"alike", 100, bigPodReview}, {"alike", 1000, bigPodReview}, {"alike", 5000, bigPodReview}, {"alike", 20000, bigPodReview},
		{"distinct", 1000, distinctPodReview}, {"distinct", 5000, distinctPodReview}}
	for _, tc := range cases {
		n := tc.n
		b.Run(fmt.Sprintf("%s/containers=%d", tc.shape, n), func(b *testing.B) {
			body := tc.pod(b, n)
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
