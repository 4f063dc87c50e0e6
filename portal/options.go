package portal

import (
	"time"

	"github.com/paved-dev/paved"
)

// Options are the HTTP server's settings.
type Options struct {
	// ShutdownTimeout is how long a stopping server waits for in-flight
	// requests (shutdown-timeout).
	ShutdownTimeout time.Duration
	// CatalogWebhookSecret authenticates POST /api/catalog/webhooks/git;
	// empty turns the webhook off (catalog-webhook-secret).
	CatalogWebhookSecret string
}

// Validate checks the options. Details name the settings
// (shutdown-timeout), as flags and the config file spell them.
func (o Options) Validate() error {
	var d paved.Details
	d.PositiveDuration("shutdown-timeout", o.ShutdownTimeout)
	return d.Err("invalid server settings")
}
