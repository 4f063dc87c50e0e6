package policies_test

import (
	"context"
	"os"
	"testing"

	"github.com/paved-dev/paved/policies"
)

// BenchmarkEvaluateDeployment evaluates the full default library against
// the realistic Deployment review the admission benchmark sends: parsing
// the review and evaluating, without HTTP.
func BenchmarkEvaluateDeployment(b *testing.B) {
	body, err := os.ReadFile("../portal/testdata/review-deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	c, err := policies.Compile(ctx, library(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := policies.ParseReview(body)
		if err != nil {
			b.Fatal(err)
		}
		vs, err := c.Evaluate(ctx, policies.Admission, r.Input)
		if err != nil || len(vs) != 0 {
			b.Fatalf("%v %v", vs, err)
		}
	}
}
