package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
)

// Environment statuses.
const (
	StatusProvisioning = "provisioning"
	StatusReady        = "ready"
	StatusFailed       = "failed"
	// StatusDeprovisioning marks an environment being removed: reconciles
	// leave it alone, and a failed removal can be retried.
	StatusDeprovisioning = "deprovisioning"
	// StatusSkipped is an environment of a request that was not attempted
	// because an earlier one failed; it is never stored.
	StatusSkipped = "skipped"
)

// Drift reasons.
const (
	DriftChanged = "changed"
	DriftDeleted = "deleted"
)

// Environment is a provisioned environment as stored: what was asked for,
// and the last known state of its objects.
type Environment struct {
	Target
	Status           string         `json:"status"`
	Objects          []ObjectStatus `json:"objects"`
	LastError        string         `json:"lastError,omitempty"`
	LastAppliedAt    *time.Time     `json:"lastAppliedAt,omitempty"`
	LastReconciledAt *time.Time     `json:"lastReconciledAt,omitempty"`
	CreatedAt        time.Time      `json:"createdAt"`
	UpdatedAt        time.Time      `json:"updatedAt"`
}

// DriftEvent is one object the reconciler found changed and put back.
type DriftEvent struct {
	ID          int64     `json:"id"`
	Service     string    `json:"service"`
	Environment string    `json:"environment"`
	Object      ObjectRef `json:"object"`
	// Reason is DriftChanged or DriftDeleted.
	Reason string       `json:"reason"`
	Fields []FieldDrift `json:"fields"`
	// ChangedBy are the field managers other than Paved that wrote the
	// object (kubectl-edit, a controller...).
	ChangedBy   []string  `json:"changedBy"`
	CorrectedBy string    `json:"correctedBy"`
	CorrectedAt time.Time `json:"correctedAt"`
}

// Store keeps provisioned environments and drift events.
type Store struct {
	db *gorm.DB
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// NewStore returns a store over db, whose schema must be migrated.
func NewStore(db *database.DB) *Store {
	return &Store{db: db.Gorm, Now: func() time.Time { return time.Now().UTC() }}
}

type environmentRow struct {
	Service          string     `gorm:"column:service;primaryKey"`
	Environment      string     `gorm:"column:environment;primaryKey"`
	Team             string     `gorm:"column:team"`
	Cluster          string     `gorm:"column:cluster"`
	Namespace        string     `gorm:"column:namespace"`
	Pipeline         string     `gorm:"column:pipeline"`
	RepoURL          string     `gorm:"column:repo_url"`
	Viewers          string     `gorm:"column:viewers"`
	Status           string     `gorm:"column:status"`
	Objects          string     `gorm:"column:objects"`
	LastError        string     `gorm:"column:last_error"`
	LastAppliedAt    *time.Time `gorm:"column:last_applied_at"`
	LastReconciledAt *time.Time `gorm:"column:last_reconciled_at"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	UpdatedAt        time.Time  `gorm:"column:updated_at"`
}

func (environmentRow) TableName() string { return "provisioned_environments" }

type driftRow struct {
	ID          int64     `gorm:"column:id;primaryKey"`
	Service     string    `gorm:"column:service"`
	Environment string    `gorm:"column:environment"`
	APIVersion  string    `gorm:"column:api_version"`
	Kind        string    `gorm:"column:kind"`
	Namespace   string    `gorm:"column:namespace"`
	Name        string    `gorm:"column:name"`
	Reason      string    `gorm:"column:reason"`
	Fields      string    `gorm:"column:fields"`
	ChangedBy   string    `gorm:"column:changed_by"`
	CorrectedBy string    `gorm:"column:corrected_by"`
	CorrectedAt time.Time `gorm:"column:corrected_at"`
}

func (driftRow) TableName() string { return "provisioning_drift" }

func toRow(e Environment) (environmentRow, error) {
	viewers, err := json.Marshal(nonNil(e.Viewers))
	if err != nil {
		return environmentRow{}, err
	}
	objects, err := json.Marshal(nonNil(e.Objects))
	if err != nil {
		return environmentRow{}, err
	}
	return environmentRow{Service: e.Service, Environment: e.Environment, Team: e.Team, Cluster: e.Cluster,
		Namespace: e.Namespace, Pipeline: e.Pipeline, RepoURL: e.RepoURL, Viewers: string(viewers), Status: e.Status,
		Objects: string(objects), LastError: e.LastError, LastAppliedAt: e.LastAppliedAt, LastReconciledAt: e.LastReconciledAt,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}, nil
}

func (r environmentRow) environment() (Environment, error) {
	e := Environment{Target: Target{Team: r.Team, Service: r.Service, Environment: r.Environment, Cluster: r.Cluster,
		Namespace: r.Namespace, Pipeline: r.Pipeline, RepoURL: r.RepoURL},
		Status: r.Status, LastError: r.LastError, LastAppliedAt: r.LastAppliedAt, LastReconciledAt: r.LastReconciledAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal([]byte(r.Viewers), &e.Viewers); err != nil {
		return e, fmt.Errorf("decode viewers of %s/%s: %w", r.Service, r.Environment, err)
	}
	if err := json.Unmarshal([]byte(r.Objects), &e.Objects); err != nil {
		return e, fmt.Errorf("decode objects of %s/%s: %w", r.Service, r.Environment, err)
	}
	return e, nil
}

// Save inserts or replaces an environment. A namespace already recorded
// for another service or environment is a conflict.
func (s *Store) Save(ctx context.Context, e Environment) error {
	now := s.Now()
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	e.UpdatedAt = now
	row, err := toRow(e)
	if err != nil {
		return err
	}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "service"}, {Name: "environment"}},
		DoUpdates: clause.AssignmentColumns([]string{"team", "cluster", "namespace", "pipeline", "repo_url", "viewers", "status", "objects", "last_error", "last_applied_at", "last_reconciled_at", "updated_at"}),
	}).Create(&row).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) || database.IsUniqueViolation(err) {
		return paved.Errorf(paved.CodeConflict, "namespace %s on cluster %s is already provisioned for another service or environment", e.Namespace, e.Cluster)
	}
	if err != nil {
		return fmt.Errorf("save environment %s/%s: %w", e.Service, e.Environment, err)
	}
	return nil
}

// Get returns one environment, or not_found.
func (s *Store) Get(ctx context.Context, service, env string) (Environment, error) {
	var rows []environmentRow
	if err := s.db.WithContext(ctx).Where("service = ? AND environment = ?", service, env).Find(&rows).Error; err != nil {
		return Environment{}, fmt.Errorf("read environment %s/%s: %w", service, env, err)
	}
	if len(rows) == 0 {
		return Environment{}, paved.Errorf(paved.CodeNotFound, "environment %s/%s is not provisioned", service, env)
	}
	return rows[0].environment()
}

// Filter narrows List; empty fields match everything.
type Filter struct {
	Service string
	Team    string
	Cluster string
}

// List returns environments by service and environment name.
func (s *Store) List(ctx context.Context, f Filter) ([]Environment, error) {
	q := s.db.WithContext(ctx).Order("service, environment")
	for col, v := range map[string]string{"service": f.Service, "team": f.Team, "cluster": f.Cluster} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	var rows []environmentRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	out := make([]Environment, len(rows))
	for i, r := range rows {
		e, err := r.environment()
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// Delete forgets an environment and its drift events.
func (s *Store) Delete(ctx context.Context, service, env string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Explicit, so the events go on SQLite connections without
		// foreign keys too.
		if err := tx.Where("service = ? AND environment = ?", service, env).Delete(&driftRow{}).Error; err != nil {
			return err
		}
		return tx.Where("service = ? AND environment = ?", service, env).Delete(&environmentRow{}).Error
	})
}

// AddDrift records corrected drift.
func (s *Store) AddDrift(ctx context.Context, events []DriftEvent) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]driftRow, len(events))
	for i, e := range events {
		fields, err := json.Marshal(nonNil(e.Fields))
		if err != nil {
			return err
		}
		by, err := json.Marshal(nonNil(e.ChangedBy))
		if err != nil {
			return err
		}
		rows[i] = driftRow{Service: e.Service, Environment: e.Environment, APIVersion: e.Object.APIVersion, Kind: e.Object.Kind,
			Namespace: e.Object.Namespace, Name: e.Object.Name, Reason: e.Reason, Fields: string(fields), ChangedBy: string(by),
			CorrectedBy: e.CorrectedBy, CorrectedAt: e.CorrectedAt}
	}
	if err := s.db.WithContext(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("record drift: %w", err)
	}
	return nil
}

// Drift returns an environment's newest drift events first.
func (s *Store) Drift(ctx context.Context, service, env string, limit int) ([]DriftEvent, error) {
	var rows []driftRow
	if err := s.db.WithContext(ctx).Where("service = ? AND environment = ?", service, env).
		Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read drift of %s/%s: %w", service, env, err)
	}
	out := make([]DriftEvent, len(rows))
	for i, r := range rows {
		e := DriftEvent{ID: r.ID, Service: r.Service, Environment: r.Environment, Reason: r.Reason, CorrectedBy: r.CorrectedBy, CorrectedAt: r.CorrectedAt,
			Object: ObjectRef{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}}
		if err := json.Unmarshal([]byte(r.Fields), &e.Fields); err != nil {
			return nil, fmt.Errorf("decode drift %d: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(r.ChangedBy), &e.ChangedBy); err != nil {
			return nil, fmt.Errorf("decode drift %d: %w", r.ID, err)
		}
		out[i] = e
	}
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// UpdateState records the outcome of a reconcile. An environment deleted
// meanwhile stays deleted.
func (s *Store) UpdateState(ctx context.Context, e Environment) error {
	objects, err := json.Marshal(nonNil(e.Objects))
	if err != nil {
		return err
	}
	err = s.db.WithContext(ctx).Model(&environmentRow{}).Where("service = ? AND environment = ?", e.Service, e.Environment).
		Updates(map[string]any{"status": e.Status, "objects": string(objects), "last_error": e.LastError,
			"last_reconciled_at": e.LastReconciledAt, "updated_at": s.Now()}).Error
	if err != nil {
		return fmt.Errorf("record state of %s/%s: %w", e.Service, e.Environment, err)
	}
	return nil
}
