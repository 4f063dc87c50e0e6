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
	// Reading says what locations and placeholders may read (the config
	// file's catalog.reading).
	Reading ReadingRules
	// Rules say which kinds may come from which locations (catalog.rules);
	// none allows the built-in kinds from everywhere.
	Rules []KindRule
	// Integrations are per-host credentials (the config file's
	// integrations:).
	Integrations Integrations
}

// Validate checks the options. Details name the settings
// (catalog-refresh-interval), as flags and the config file spell them.
func (o Options) Validate() error {
	var d paved.Details
	d.PositiveDuration("catalog-refresh-interval", o.RefreshInterval)
	o.Reading.validate(&d)
	validateKindRules(o.Rules, &d)
	o.Integrations.validate(&d)
	return d.Err("invalid catalog settings")
}
