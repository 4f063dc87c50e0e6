package policies_test

import (
	"os"
	"testing"

	"github.com/paved-dev/paved/policies"
)

// AdmissionReviews come from anyone who reaches the webhook's port: the
// decoder must never panic.
func FuzzParseReview(f *testing.F) {
	review, err := os.ReadFile("../portal/testdata/review-deployment.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(review), `{}`, `{"request": null}`, `{"request": {"kind": "Pod"}}`, `[1]`,
		`{"request": {"uid": 1, "kind": {"kind": []}, "object": "x", "oldObject": {}, "dryRun": "yes"}}`, `{"request": {"object": {"metadata": 5}}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := policies.ParseReview(body)
		if err == nil && r == nil {
			t.Fatal("ParseReview returned neither a review nor an error")
		}
	})
}
