package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// AuditRun summarises one audit of the cluster.
type AuditRun struct {
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Revision   string    `json:"revision"`
	Objects    int       `json:"objects"`
	Violating  int       `json:"violating"`
	Error      string    `json:"error,omitempty"`
}

// AuditResult is one live object and its violations.
type AuditResult struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Namespace  string      `json:"namespace"`
	Name       string      `json:"name"`
	Revision   string      `json:"revision"`
	Violations []Violation `json:"violations"`
	AuditedAt  time.Time   `json:"auditedAt"`
}

type auditRunRow struct {
	ID         int64     `gorm:"column:id;primaryKey"`
	StartedAt  time.Time `gorm:"column:started_at"`
	FinishedAt time.Time `gorm:"column:finished_at"`
	Revision   string    `gorm:"column:revision"`
	Objects    int       `gorm:"column:objects"`
	Violating  int       `gorm:"column:violating"`
	Error      string    `gorm:"column:error"`
}

func (auditRunRow) TableName() string { return "policy_audit_runs" }

type auditResultRow struct {
	APIVersion string    `gorm:"column:api_version"`
	Kind       string    `gorm:"column:kind"`
	Namespace  string    `gorm:"column:namespace"`
	Name       string    `gorm:"column:name"`
	Revision   string    `gorm:"column:revision"`
	Violations string    `gorm:"column:violations"`
	AuditedAt  time.Time `gorm:"column:audited_at"`
}

func (auditResultRow) TableName() string { return "policy_audit_results" }

// Auditor checks live objects against the active policies.
type Auditor struct {
	Store   *Store
	Engine  *Engine
	Objects ObjectLister
	Log     *slog.Logger
}

// Run audits every listed object and replaces the stored results. A
// listing failure is recorded as the run's error and keeps the previous
// results.
func (a *Auditor) Run(ctx context.Context) (AuditRun, error) {
	snap := a.Engine.Snapshot()
	run := AuditRun{StartedAt: a.Store.Now(), Revision: snap.Revision}
	objs, err := a.Objects.ListObjects(ctx)
	if err != nil {
		run.Error, run.FinishedAt = err.Error(), a.Store.Now()
		return run, a.Store.saveAudit(ctx, run, nil)
	}
	var results []AuditResult
	for _, obj := range objs {
		u := unstructured.Unstructured{Object: obj}
		vs, err := snap.Evaluate(ctx, Admission, ObjectInput(obj))
		if err != nil {
			vs = []Violation{{Policy: "paved", Message: "evaluation failed: " + err.Error(), Severity: "high", Enforcement: Deny}}
		}
		run.Objects++
		if len(vs) == 0 {
			continue
		}
		run.Violating++
		results = append(results, AuditResult{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(),
			Name: u.GetName(), Revision: snap.Revision, Violations: vs, AuditedAt: run.StartedAt})
	}
	run.FinishedAt = a.Store.Now()
	a.Log.Info("policy audit finished", "objects", run.Objects, "violating", run.Violating, "revision", run.Revision,
		"duration", run.FinishedAt.Sub(run.StartedAt).String())
	return run, a.Store.saveAudit(ctx, run, results)
}

// saveAudit records run and, when it succeeded, replaces the results.
func (s *Store) saveAudit(ctx context.Context, run AuditRun, results []AuditResult) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if run.Error == "" {
			if err := tx.Where("1 = 1").Delete(&auditResultRow{}).Error; err != nil {
				return fmt.Errorf("clear audit results: %w", err)
			}
			rows := make([]auditResultRow, len(results))
			for i, r := range results {
				vj, _ := json.Marshal(r.Violations)
				rows[i] = auditResultRow{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
					Revision: r.Revision, Violations: string(vj), AuditedAt: r.AuditedAt}
			}
			if err := tx.CreateInBatches(rows, 200).Error; err != nil {
				return fmt.Errorf("store audit results: %w", err)
			}
		}
		return tx.Create(&auditRunRow{StartedAt: run.StartedAt, FinishedAt: run.FinishedAt, Revision: run.Revision,
			Objects: run.Objects, Violating: run.Violating, Error: run.Error}).Error
	})
}

// AuditFilter selects audit results; zero fields match everything.
type AuditFilter struct {
	Namespace, Kind, Policy string
	Limit, Offset           int
}

// AuditReport is the last audit run and the results matching a filter.
type AuditReport struct {
	// Run is the last run; nil before the first.
	Run        *AuditRun     `json:"run"`
	Items      []AuditResult `json:"items"`
	TotalItems int64         `json:"totalItems"`
}

// Audit returns the last run and its results matching f.
func (s *Store) Audit(ctx context.Context, f AuditFilter) (AuditReport, error) {
	rep := AuditReport{Items: []AuditResult{}}
	var runs []auditRunRow
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(1).Find(&runs).Error; err != nil {
		return rep, fmt.Errorf("read audit runs: %w", err)
	}
	if len(runs) == 1 {
		r := runs[0]
		rep.Run = &AuditRun{StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt.UTC(), Revision: r.Revision, Objects: r.Objects, Violating: r.Violating, Error: r.Error}
	}
	q := s.db.WithContext(ctx).Model(&auditResultRow{})
	if f.Namespace != "" {
		q = q.Where("namespace = ?", f.Namespace)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.Policy != "" {
		if !isIdentifier(f.Policy) {
			return rep, invalidPolicyFilter()
		}
		q = q.Where("violations LIKE ?", `%"policy":"`+f.Policy+`"%`)
	}
	if err := q.Count(&rep.TotalItems).Error; err != nil {
		return rep, fmt.Errorf("count audit results: %w", err)
	}
	var rows []auditResultRow
	if err := q.Order("namespace, kind, name").Limit(f.Limit).Offset(f.Offset).Find(&rows).Error; err != nil {
		return rep, fmt.Errorf("read audit results: %w", err)
	}
	for _, r := range rows {
		res := AuditResult{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Revision: r.Revision, AuditedAt: r.AuditedAt.UTC()}
		_ = json.Unmarshal([]byte(r.Violations), &res.Violations)
		rep.Items = append(rep.Items, res)
	}
	return rep, nil
}

// AuditArgs is the periodic audit job.
type AuditArgs struct{}

// Kind names the job in the queue.
func (AuditArgs) Kind() string { return "policy_audit" }

// InsertOpts keeps one audit queued or running at a time.
func (AuditArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// AuditWorker runs audits from the job queue, so that only one replica
// audits at a time.
type AuditWorker struct {
	river.WorkerDefaults[AuditArgs]
	Auditor *Auditor
}

// Work runs one audit.
func (w *AuditWorker) Work(ctx context.Context, _ *river.Job[AuditArgs]) error {
	run, err := w.Auditor.Run(ctx)
	if err != nil {
		return err
	}
	if run.Error != "" {
		return fmt.Errorf("policy audit: %s", run.Error)
	}
	return nil
}
