package portal

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/policies"
)

// maxAdmissionBody is the largest AdmissionReview accepted: the API server
// caps objects at about 1.5 MiB, and a review carries the object twice on
// updates.
const maxAdmissionBody = 3 << 20

// admissionMetrics count the webhook's decisions.
type admissionMetrics struct {
	decisions   *prometheus.CounterVec
	duration    prometheus.Histogram
	unknownKind *prometheus.CounterVec
}

func newAdmissionMetrics(reg prometheus.Registerer) *admissionMetrics {
	m := &admissionMetrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_admission_reviews_total", Help: "Admission reviews answered, by result (allowed, denied, skipped, invalid).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "paved_admission_review_duration_seconds", Help: "Time to answer an admission review, reading included.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}),
		unknownKind: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paved_admission_unknown_kind_total", Help: "Admission reviews of kinds the policies do not know, allowed unevaluated.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.decisions, m.duration, m.unknownKind)
	return m
}

// admissionHandler serves POST /admission/validate.
type admissionHandler struct {
	admitter *policies.Admitter
	metrics  *admissionMetrics
	log      *slog.Logger
}

func (h *admissionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { h.metrics.duration.Observe(time.Since(start).Seconds()) }()
	if r.URL.Path != "/admission/validate" {
		h.writeError(w, r, paved.Errorf(paved.CodeNotFound, "no such route: %s %s (the webhook serves POST /admission/validate)", r.Method, r.URL.Path))
		return
	}
	if r.Method != http.MethodPost {
		h.writeError(w, r, paved.Errorf(paved.CodeInvalid, "method %s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdmissionBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		h.metrics.decisions.WithLabelValues("invalid").Inc()
		h.writeError(w, r, paved.Errorf(paved.CodeTooLarge, "the AdmissionReview is larger than %d bytes", maxAdmissionBody))
		return
	}
	if err != nil {
		h.writeError(w, r, paved.Invalid("cannot read the request body", paved.Detail{Reason: err.Error()}))
		return
	}
	review, err := policies.ParseReview(body)
	if err != nil {
		h.metrics.decisions.WithLabelValues("invalid").Inc()
		h.writeError(w, r, err)
		return
	}
	resp := h.admitter.Admit(r.Context(), review)
	h.metrics.decisions.WithLabelValues(admissionResult(resp)).Inc()
	if resp.Skipped == policies.SkipUnknownKind {
		h.metrics.unknownKind.WithLabelValues(review.Kind).Inc()
	}
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Response: &admissionv1.AdmissionResponse{UID: types.UID(resp.UID), Allowed: resp.Allowed, Warnings: resp.Warnings},
	}
	if !resp.Allowed {
		out.Response.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden,
			Reason: metav1.StatusReasonForbidden, Message: resp.Message}
	}
	if resp.DecisionID != "" {
		out.Response.AuditAnnotations = map[string]string{"decision-id": resp.DecisionID}
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		h.log.Warn("admission: write response", "err", err)
	}
}

func admissionResult(r policies.AdmissionResponse) string {
	switch {
	case r.Skipped != "":
		return "skipped"
	case r.Allowed:
		return "allowed"
	}
	return "denied"
}

// writeError writes err in the API's JSON error shape.
func (h *admissionHandler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorResponse(err, r, h.log)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// ServeWebhook serves the admission webhook over TLS on ln until ctx is
// done, then drains for up to the shutdown timeout.
func (s *Server) ServeWebhook(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	if s.policies.Admitter == nil {
		return errors.New("webhook listener started without an admitter")
	}
	srv := &http.Server{
		Handler:           &admissionHandler{admitter: s.policies.Admitter, metrics: s.admission, log: s.log},
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // the API server's requests carry a few headers
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, tlsConfig)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve webhook: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("webhook requests cut off: %w", err)
	}
	return nil
}
