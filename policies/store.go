package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
)

// Store keeps policy sets, their versions and activations, the decision
// log and audit results in the database. Evaluation never reads it.
type Store struct {
	db      *gorm.DB
	dialect database.Dialect
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// NewStore returns a store over db, whose schema must be migrated.
func NewStore(db *database.DB) *Store {
	return &Store{db: db.Gorm, dialect: db.Dialect, Now: func() time.Time { return time.Now().UTC() }}
}

// SetState is a policy set and which of its versions is active.
type SetState struct {
	Name string `json:"name"`
	// ActiveVersion is 0 while no version has been activated.
	ActiveVersion int `json:"activeVersion"`
	LatestVersion int `json:"latestVersion"`
	// Generation grows with every activation of the set.
	Generation  int64      `json:"generation"`
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
}

// VersionInfo describes a stored version without its source.
type VersionInfo struct {
	Set       string    `json:"set"`
	Version   int       `json:"version"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"createdAt"`
	Active    bool      `json:"active"`
}

// Version is a stored, immutable version of a set.
type Version struct {
	VersionInfo
	Source Source `json:"source"`
}

// Activation is one entry of a set's activation history.
type Activation struct {
	Set             string    `json:"set"`
	Version         int       `json:"version"`
	PreviousVersion int       `json:"previousVersion,omitempty"`
	Action          string    `json:"action"`
	At              time.Time `json:"at"`
}

type setRow struct {
	Name          string     `gorm:"column:name;primaryKey"`
	ActiveVersion *int       `gorm:"column:active_version"`
	Generation    int64      `gorm:"column:generation"`
	ActivatedAt   *time.Time `gorm:"column:activated_at"`
	CreatedAt     time.Time  `gorm:"column:created_at"`
	LatestVersion int        `gorm:"column:latest_version;->"`
}

func (setRow) TableName() string { return "policy_sets" }

func (r setRow) state() SetState {
	s := SetState{Name: r.Name, LatestVersion: r.LatestVersion, Generation: r.Generation, ActivatedAt: r.ActivatedAt, CreatedAt: r.CreatedAt}
	if r.ActiveVersion != nil {
		s.ActiveVersion = *r.ActiveVersion
	}
	return s
}

type versionRow struct {
	SetName   string    `gorm:"column:set_name;primaryKey"`
	Version   int       `gorm:"column:version;primaryKey"`
	Modules   string    `gorm:"column:modules"`
	Data      string    `gorm:"column:data"`
	Message   string    `gorm:"column:message"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (versionRow) TableName() string { return "policy_versions" }

type activationRow struct {
	ID              int64     `gorm:"column:id;primaryKey"`
	SetName         string    `gorm:"column:set_name"`
	Version         int       `gorm:"column:version"`
	PreviousVersion *int      `gorm:"column:previous_version"`
	Action          string    `gorm:"column:action"`
	At              time.Time `gorm:"column:at"`
}

func (activationRow) TableName() string { return "policy_activations" }

const setColumns = "name, active_version, generation, activated_at, created_at, " +
	"(SELECT COALESCE(MAX(version), 0) FROM policy_versions v WHERE v.set_name = policy_sets.name) AS latest_version"

// Sets returns every policy set, by name.
func (s *Store) Sets(ctx context.Context) ([]SetState, error) {
	var rows []setRow
	if err := s.db.WithContext(ctx).Select(setColumns).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list policy sets: %w", err)
	}
	out := make([]SetState, len(rows))
	for i, r := range rows {
		out[i] = r.state()
	}
	return out, nil
}

// Set returns one policy set, or a not_found error.
func (s *Store) Set(ctx context.Context, name string) (SetState, error) {
	var rows []setRow
	if err := s.db.WithContext(ctx).Select(setColumns).Where("name = ?", name).Find(&rows).Error; err != nil {
		return SetState{}, fmt.Errorf("read policy set %s: %w", name, err)
	}
	if len(rows) == 0 {
		return SetState{}, paved.Errorf(paved.CodeNotFound, "no policy set named %q", name)
	}
	return rows[0].state(), nil
}

// CreateVersion stores src as the next version of set, creating the set if
// it is new, and returns the version number. It does not check src: callers
// compile it first.
func (s *Store) CreateVersion(ctx context.Context, set string, src Source, message string) (int, error) {
	modules, err := json.Marshal(src.Modules)
	if err != nil {
		return 0, fmt.Errorf("encode modules: %w", err)
	}
	data, err := json.Marshal(src.Data)
	if err != nil {
		return 0, fmt.Errorf("encode data: %w", err)
	}
	var version int
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.Now()
		// Inserting the set row first (or bumping it) takes its row lock on
		// PostgreSQL, so concurrent creations number their versions in turn.
		res := tx.Exec("UPDATE policy_sets SET generation = generation WHERE name = ?", set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			if err := tx.Create(&setRow{Name: set, CreatedAt: now}).Error; err != nil {
				return err
			}
		}
		if err := tx.Raw("SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions WHERE set_name = ?", set).Scan(&version).Error; err != nil {
			return err
		}
		return tx.Create(&versionRow{SetName: set, Version: version, Modules: string(modules), Data: string(data), Message: message, CreatedAt: now}).Error
	})
	if err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) || database.IsUniqueViolation(err) {
			return 0, paved.Errorf(paved.CodeConflict, "policy set %q changed while this version was stored; retry", set)
		}
		return 0, fmt.Errorf("store version of policy set %s: %w", set, err)
	}
	return version, nil
}

// Versions lists a set's versions, newest first.
func (s *Store) Versions(ctx context.Context, set string) ([]VersionInfo, error) {
	state, err := s.Set(ctx, set)
	if err != nil {
		return nil, err
	}
	var rows []versionRow
	if err := s.db.WithContext(ctx).Select("set_name, version, message, created_at").
		Where("set_name = ?", set).Order("version DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list versions of policy set %s: %w", set, err)
	}
	out := make([]VersionInfo, len(rows))
	for i, r := range rows {
		out[i] = VersionInfo{Set: r.SetName, Version: r.Version, Message: r.Message, CreatedAt: r.CreatedAt, Active: r.Version == state.ActiveVersion}
	}
	return out, nil
}

// Version returns one stored version with its source, or not_found.
func (s *Store) Version(ctx context.Context, set string, version int) (Version, error) {
	state, err := s.Set(ctx, set)
	if err != nil {
		return Version{}, err
	}
	var rows []versionRow
	if err := s.db.WithContext(ctx).Where("set_name = ? AND version = ?", set, version).Find(&rows).Error; err != nil {
		return Version{}, fmt.Errorf("read version %d of policy set %s: %w", version, set, err)
	}
	if len(rows) == 0 {
		return Version{}, paved.Errorf(paved.CodeNotFound, "policy set %q has no version %d (latest is %d)", set, version, state.LatestVersion)
	}
	r := rows[0]
	v := Version{VersionInfo: VersionInfo{Set: r.SetName, Version: r.Version, Message: r.Message, CreatedAt: r.CreatedAt, Active: r.Version == state.ActiveVersion}}
	if err := json.Unmarshal([]byte(r.Modules), &v.Source.Modules); err != nil {
		return Version{}, fmt.Errorf("decode modules of %s@%d: %w", set, version, err)
	}
	if err := json.Unmarshal([]byte(r.Data), &v.Source.Data); err != nil {
		return Version{}, fmt.Errorf("decode data of %s@%d: %w", set, version, err)
	}
	return v, nil
}

// SetActive records version as the active version of set, with action
// ("activate" or "rollback") in its history, and returns the new state.
// The version must exist.
func (s *Store) SetActive(ctx context.Context, set string, version int, action string) (SetState, error) {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.Now()
		var prev []setRow
		if err := tx.Select("name, active_version").Where("name = ?", set).Find(&prev).Error; err != nil {
			return err
		}
		if len(prev) == 0 {
			return paved.Errorf(paved.CodeNotFound, "no policy set named %q", set)
		}
		res := tx.Exec("UPDATE policy_sets SET active_version = ?, generation = generation + 1, activated_at = ? WHERE name = ?", version, now, set)
		if res.Error != nil {
			return res.Error
		}
		return tx.Create(&activationRow{SetName: set, Version: version, PreviousVersion: prev[0].ActiveVersion, Action: action, At: now}).Error
	})
	if err != nil {
		if paved.ErrorCode(err) == paved.CodeNotFound {
			return SetState{}, err
		}
		return SetState{}, fmt.Errorf("activate %s@%d: %w", set, version, err)
	}
	return s.Set(ctx, set)
}

// Activations returns a set's activation history, newest first.
func (s *Store) Activations(ctx context.Context, set string, limit int) ([]Activation, error) {
	var rows []activationRow
	if err := s.db.WithContext(ctx).Where("set_name = ?", set).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read activations of policy set %s: %w", set, err)
	}
	out := make([]Activation, len(rows))
	for i, r := range rows {
		out[i] = Activation{Set: r.SetName, Version: r.Version, Action: r.Action, At: r.At}
		if r.PreviousVersion != nil {
			out[i].PreviousVersion = *r.PreviousVersion
		}
	}
	return out, nil
}

// ActiveRef names the active version of a set and its generation.
type ActiveRef struct {
	Set        string
	Version    int
	Generation int64
}

// ActiveRefs returns the active version of every set that has one: the
// cheap query every replica polls.
func (s *Store) ActiveRefs(ctx context.Context) ([]ActiveRef, error) {
	var rows []setRow
	if err := s.db.WithContext(ctx).Select("name, active_version, generation").
		Where("active_version IS NOT NULL").Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read active policy versions: %w", err)
	}
	out := make([]ActiveRef, len(rows))
	for i, r := range rows {
		out[i] = ActiveRef{Set: r.Name, Version: *r.ActiveVersion, Generation: r.Generation}
	}
	return out, nil
}
