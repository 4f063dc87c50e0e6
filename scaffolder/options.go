package scaffolder

import (
	"time"

	"github.com/paved-dev/paved"
)

// Options are the task runner's settings.
type Options struct {
	// Heartbeat is how often a running task records that its worker is
	// alive (scaffolder-heartbeat-interval).
	Heartbeat time.Duration
	// StaleAfter is how old a heartbeat must be for another worker to take
	// the task over (scaffolder-task-stale-after).
	StaleAfter time.Duration
	// MaxTaskDuration bounds one run of a task (scaffolder-task-timeout).
	MaxTaskDuration time.Duration
	// SecretsKeyFile holds the key that seals task secrets at rest
	// (scaffolder-secrets-key-file); empty: <data-dir>/scaffolder-secrets.key.
	SecretsKeyFile string
	// Concurrency is how many tasks one process runs at once
	// (scaffolder-concurrency).
	Concurrency int
}

// Validate checks the options. Details name the settings as flags and
// the config file spell them.
func (o Options) Validate() error {
	var d paved.Details
	d.PositiveDuration("scaffolder-heartbeat-interval", o.Heartbeat)
	d.PositiveDuration("scaffolder-task-stale-after", o.StaleAfter)
	d.PositiveDuration("scaffolder-task-timeout", o.MaxTaskDuration)
	if o.Heartbeat > 0 && o.StaleAfter < 2*o.Heartbeat {
		d.Add("scaffolder-task-stale-after", "%s is less than two heartbeats (%s): a live worker's task would be taken over", o.StaleAfter, 2*o.Heartbeat)
	}
	if o.Concurrency < 1 {
		d.Add("scaffolder-concurrency", "%d is not a positive number", o.Concurrency)
	}
	return d.Err("invalid scaffolder settings")
}
