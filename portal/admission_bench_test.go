package portal

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/policies"
)

// BenchmarkAdmissionReview answers the ~4.8 KB Deployment review of
// testdata with the full default library, through the webhook handler
// (reading, evaluation, response; no network), decision log included.
func BenchmarkAdmissionReview(b *testing.B) {
	body, err := os.ReadFile("testdata/review-deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := testsupport.OpenDB(b, database.SQLite)
	store := policies.NewStore(db)
	mgr := &policies.Manager{Store: store, Engine: policies.NewEngine(), Log: testsupport.DiscardLogger()}
	if err := mgr.Bootstrap(ctx); err != nil {
		b.Fatal(err)
	}
	log := policies.NewDecisionLog(store, testsupport.DiscardLogger(), 100000, time.Hour)
	go log.Run(ctx)
	adm := &policies.Admitter{Engine: mgr.Engine, Decisions: log, Timeout: time.Second, Log: testsupport.DiscardLogger()}
	s := NewServer(testOptions, testsupport.DiscardLogger(), db, Services{Policies: Policies{Manager: mgr, Decisions: log, Admitter: adm}})
	h := &admissionHandler{admitter: adm, metrics: s.admission, log: testsupport.DiscardLogger()}

	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/admission/validate", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"allowed":true`)) {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
