package catalog

import (
	"time"

	"github.com/paved-dev/paved"
)

// Options are the catalog's settings.
type Options struct {
	// RefreshInterval is the time between scheduled refreshes of a
	// location (catalog-refresh-interval), jittered by up to a fifth.
	RefreshInterval time.Duration
	// DeleteOrphans deletes entities their location no longer provides
	// (catalog-delete-orphans).
	DeleteOrphans bool
}

// Validate checks the options. Details name the settings
// (catalog-refresh-interval), as flags and the config file spell them.
func (o Options) Validate() error {
	var d paved.Details
	d.PositiveDuration("catalog-refresh-interval", o.RefreshInterval)
	return d.Err("invalid catalog settings")
}
