package policies

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// DecisionLog records decisions in the background. Record never blocks:
// when the queue is full the decision is dropped and counted, because a
// decision log must never slow down or stop admission.
type DecisionLog struct {
	store     *Store
	log       *slog.Logger
	queue     chan Decision
	retention time.Duration

	dropped      atomic.Uint64
	writeFailed  atomic.Uint64
	written      atomic.Uint64
	flushEvery   time.Duration
	maxBatch     int
	sweepEvery   time.Duration
	lastWriteErr string
}

// NewDecisionLog returns a log with room for queueSize pending decisions
// that deletes decisions older than retention.
func NewDecisionLog(store *Store, log *slog.Logger, queueSize int, retention time.Duration) *DecisionLog {
	return &DecisionLog{store: store, log: log, queue: make(chan Decision, queueSize), retention: retention,
		flushEvery: 200 * time.Millisecond, maxBatch: 500, sweepEvery: 10 * time.Minute}
}

// Record queues d for writing, or drops it when the queue is full.
func (l *DecisionLog) Record(d Decision) {
	select {
	case l.queue <- d:
	default:
		l.dropped.Add(1)
	}
}

// Dropped counts decisions dropped because the queue was full.
func (l *DecisionLog) Dropped() uint64 { return l.dropped.Load() }

// WriteFailed counts decisions lost because the database refused them.
func (l *DecisionLog) WriteFailed() uint64 { return l.writeFailed.Load() }

// Written counts decisions stored.
func (l *DecisionLog) Written() uint64 { return l.written.Load() }

// Run writes queued decisions in batches until ctx is done, then writes
// what is still queued, and deletes expired decisions now and then.
func (l *DecisionLog) Run(ctx context.Context) {
	flush := time.NewTicker(l.flushEvery)
	defer flush.Stop()
	sweep := time.NewTicker(l.sweepEvery)
	defer sweep.Stop()
	l.sweep(ctx)
	batch := make([]Decision, 0, l.maxBatch)
	for {
		select {
		case d := <-l.queue:
			if batch = append(batch, d); len(batch) >= l.maxBatch {
				batch = l.write(ctx, batch)
			}
		case <-flush.C:
			batch = l.write(ctx, batch)
		case <-sweep.C:
			l.sweep(ctx)
		case <-ctx.Done():
			l.drain(batch)
			return
		}
	}
}

// drain writes the batch and whatever is queued, within a few seconds.
func (l *DecisionLog) drain(batch []Decision) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		select {
		case d := <-l.queue:
			if batch = append(batch, d); len(batch) >= l.maxBatch {
				batch = l.write(ctx, batch)
			}
		default:
			l.write(ctx, batch)
			return
		}
	}
}

func (l *DecisionLog) write(ctx context.Context, batch []Decision) []Decision {
	if len(batch) == 0 {
		return batch
	}
	if err := l.store.WriteDecisions(ctx, batch); err != nil {
		l.writeFailed.Add(uint64(len(batch)))
		if err.Error() != l.lastWriteErr {
			l.log.Warn("decision log: a batch could not be written and is lost", "decisions", len(batch), "err", err)
			l.lastWriteErr = err.Error()
		}
	} else {
		l.written.Add(uint64(len(batch)))
		l.lastWriteErr = ""
	}
	return batch[:0]
}

func (l *DecisionLog) sweep(ctx context.Context) {
	n, err := l.store.DeleteDecisionsBefore(ctx, time.Now().Add(-l.retention))
	switch {
	case err != nil && ctx.Err() == nil:
		l.log.Warn("decision log: deleting expired decisions failed", "err", err)
	case n > 0:
		l.log.Info("decision log: deleted expired decisions", "decisions", n, "retention", l.retention.String())
	}
}
