package portal

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// readyTimeout bounds the database checks behind /readyz, so a hung
// database makes the probe fail rather than hang.
const readyTimeout = 2 * time.Second

// healthz answers while the process is alive; it touches nothing else, so a
// slow database never gets a healthy replica restarted.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, readiness{Status: "ok"})
}

// readiness is the answer of /readyz (and, without checks, of /healthz).
type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// readyz answers 200 when the database is reachable and its schema is the
// one this binary expects, 503 otherwise with the failing check named.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	r := readiness{Status: "ready", Checks: map[string]string{"database": "ok", "migrations": "ok"}}
	// Probes are unauthenticated: name the failing check, log the cause.
	if err := s.db.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: database unreachable", "err", err)
		r.Checks["database"], r.Checks["migrations"] = "unreachable", "unknown"
	} else if st, err := s.db.Status(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: schema status", "err", err)
		r.Checks["migrations"] = "unknown"
	} else if !st.UpToDate() {
		r.Checks["migrations"] = "pending"
	}
	status := http.StatusOK
	for _, v := range r.Checks {
		if v != "ok" {
			r.Status, status = "not ready", http.StatusServiceUnavailable
		}
	}
	return c.JSON(status, r)
}
