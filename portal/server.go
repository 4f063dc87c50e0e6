// Package portal is Paved's HTTP face: the echo server, every route and
// its handler, middleware, error rendering, metrics and health. It
// translates HTTP to calls on the domain packages it is handed; it builds
// none of them (cmd/paved does).
package portal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/paved-dev/paved/internal/database"
)

// maxBodyBytes bounds every request body; larger bodies get a too_large
// error before a handler reads them.
const maxBodyBytes = "10M"

// httpLimits bound what one connection may hold: a client that sends its
// headers or body slowly, or reads slowly, is cut off instead of keeping
// a connection (and its goroutine) forever.
type httpLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

// apiLimits are the main listener's: the body limit is 10 MiB, so a minute
// to read it is generous; no route streams yet (server-sent events, when
// they come, must clear the write deadline per response).
var apiLimits = httpLimits{readHeader: 10 * time.Second, read: time.Minute, write: 2 * time.Minute, idle: 2 * time.Minute, maxHeaderBytes: 64 << 10}

// Server serves the web UI and REST API.
type Server struct {
	echo         *echo.Echo
	opts         Options
	limits       httpLimits
	log          *slog.Logger
	db           *database.DB
	registry     *prometheus.Registry
	catalog      Catalog
	policies     Policies
	provisioning Provisioning
	scaffolder   Scaffolder
	// admission counts the webhook's decisions.
	admission *admissionMetrics
}

// Services are the domain parts the server exposes; a zero part answers
// its routes with "not running in this server".
type Services struct {
	Catalog      Catalog
	Policies     Policies
	Provisioning Provisioning
	Scaffolder   Scaffolder
}

// NewServer builds the HTTP server from its dependencies. It does not listen.
func NewServer(opts Options, log *slog.Logger, db *database.DB, svc Services) *Server {
	cat, pol := svc.Catalog, svc.Policies
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Log the peer's address, not X-Forwarded-For, which any client can
	// forge; trusting a proxy's header needs a trusted-proxies setting.
	e.IPExtractor = echo.ExtractIPDirect()
	s := &Server{echo: e, opts: opts, limits: apiLimits, log: log, db: db, registry: newRegistry(), catalog: cat, policies: pol, provisioning: svc.Provisioning, scaffolder: svc.Scaffolder}
	s.admission = newAdmissionMetrics(s.registry)
	if pol.Decisions != nil {
		registerDecisionLogMetrics(s.registry, pol.Decisions)
	}
	if r := svc.Provisioning.Reconciler; r != nil {
		registerReconcilerMetrics(s.registry, r)
	}
	e.HTTPErrorHandler = errorHandler(log)
	e.Use(withRequestID, observe(newHTTPMetrics(s.registry), log), recoverPanics(log), middleware.BodyLimit(maxBodyBytes))
	s.routes()
	return s
}

// ServeHTTP lets tests drive the server without a listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Serve serves on ln until ctx is done, then stops taking connections and
// waits up to the configured shutdown timeout for in-flight requests. It
// returns an error if requests had to be cut off.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: s.limits.readHeader,
		ReadTimeout:       s.limits.read,
		WriteTimeout:      s.limits.write,
		IdleTimeout:       s.limits.idle,
		MaxHeaderBytes:    s.limits.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining in-flight requests", "timeout", s.opts.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("requests still running after %s were cut off: %w", s.opts.ShutdownTimeout, err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// recoverPanics turns a handler's panic into an internal error response and
// logs it once, with its stack, through the request's logger.
func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			log.ErrorContext(c.Request().Context(), "panic in handler", "err", err, "stack", string(stack))
			return err
		},
	})
}
