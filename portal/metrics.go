package portal

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/scaffolder/provision"
)

// httpMetrics counts and times requests by route template (never the raw
// path, which would give every entity its own series) and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	labels := []string{"method", "route", "code"}
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paved", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests served, by method, route template and status code.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "paved", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "HTTP request latency, by method, route template and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, labels),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// newRegistry holds Paved's metrics plus the Go runtime and process ones. A
// registry per server (not the global one) lets tests run servers side by
// side.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// observe records metrics and one access-log line per request. It runs
// inside the error handler's reach, so the status it sees is the one sent.
func observe(m *httpMetrics, log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // write the error response now, so its status is known
			}
			status := c.Response().Status
			route := c.Path()
			if route == "" || isNotFound(err) {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			code := strconv.Itoa(status)
			m.requests.WithLabelValues(c.Request().Method, route, code).Inc()
			m.duration.WithLabelValues(c.Request().Method, route, code).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if route == "/healthz" || route == "/readyz" || route == "/metrics" {
				level = slog.LevelDebug // probes every few seconds would drown the log
			}
			log.Log(c.Request().Context(), level, "request",
				"method", c.Request().Method, "path", c.Request().URL.Path, "route", route,
				"status", status, "duration_ms", float64(elapsed.Microseconds())/1000,
				"bytes", c.Response().Size, "remote", c.RealIP())
			return nil
		}
	}
}

// isNotFound reports echo's answer for a path no route matches; echo then
// leaves c.Path() at the nearest prefix, which must not become a label.
func isNotFound(err error) bool {
	return errors.Is(err, echo.ErrNotFound)
}

// registerDecisionLogMetrics exposes the decision log's counters.
func registerDecisionLogMetrics(reg prometheus.Registerer, l *policies.DecisionLog) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "paved_policy_decisions_dropped_total",
			Help: "Policy decisions not logged because the decision log queue was full.",
		}, func() float64 { return float64(l.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "paved_policy_decisions_write_failed_total",
			Help: "Policy decisions not logged because the database refused the batch.",
		}, func() float64 { return float64(l.WriteFailed()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "paved_policy_decisions_logged_total",
			Help: "Policy decisions written to the decision log.",
		}, func() float64 { return float64(l.Written()) }),
	)
}

// registerReconcilerMetrics exposes the provisioning reconciler's state.
func registerReconcilerMetrics(reg prometheus.Registerer, r *provision.Reconciler) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "paved_provisioning_leader",
			Help: "1 while this replica holds the provisioning Lease and runs reconcile passes.",
		}, func() float64 {
			if r.Leading() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "paved_provisioning_reconcile_passes_total",
			Help: "Reconcile passes this replica ran.",
		}, func() float64 { return float64(r.Passes()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "paved_provisioning_drift_corrected_total",
			Help: "Drifted or deleted objects reconcile passes put back.",
		}, func() float64 { return float64(r.Corrected()) }),
	)
}
