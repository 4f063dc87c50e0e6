package policies

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/paved-dev/paved"
)

// Decision is one policy decision as the log keeps it.
type Decision struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Source    string    `json:"source"` // admission or api
	Target    Target    `json:"target"`
	Kind      string    `json:"kind,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	Name      string    `json:"name,omitempty"`
	Operation string    `json:"operation,omitempty"`
	User      string    `json:"user,omitempty"`
	Revision  string    `json:"revision"`
	Allowed   bool      `json:"allowed"`
	// DryRun marks an admission request that the API server will not
	// persist (kubectl --dry-run=server).
	DryRun     bool          `json:"dryRun"`
	Violations []Violation   `json:"violations"`
	Error      string        `json:"error,omitempty"`
	Duration   time.Duration `json:"durationNs"`

	// Sample is the admission review's request to keep for previews, keyed
	// by object; empty when the decision is not worth replaying.
	SampleKey   string          `json:"-"`
	SampleInput json.RawMessage `json:"-"`
}

// NewDecisionID returns a random decision id.
func NewDecisionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type decisionRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	At         time.Time `gorm:"column:at"`
	Source     string    `gorm:"column:source"`
	Target     string    `gorm:"column:target"`
	Kind       string    `gorm:"column:kind"`
	Namespace  string    `gorm:"column:namespace"`
	Name       string    `gorm:"column:name"`
	Operation  string    `gorm:"column:operation"`
	Username   string    `gorm:"column:username"`
	Revision   string    `gorm:"column:revision"`
	Allowed    bool      `gorm:"column:allowed"`
	DryRun     bool      `gorm:"column:dry_run"`
	Violations string    `gorm:"column:violations"`
	Error      string    `gorm:"column:error"`
	DurationUS int64     `gorm:"column:duration_us"`
}

func (decisionRow) TableName() string { return "policy_decisions" }

type sampleRow struct {
	ObjectKey string    `gorm:"column:object_key;primaryKey"`
	At        time.Time `gorm:"column:at"`
	Input     string    `gorm:"column:input"`
}

func (sampleRow) TableName() string { return "policy_review_samples" }

func toDecisionRow(d Decision) decisionRow {
	v := d.Violations
	if v == nil {
		v = []Violation{}
	}
	vj, _ := json.Marshal(v)
	return decisionRow{ID: d.ID, At: d.At.UTC(), Source: d.Source, Target: string(d.Target), Kind: d.Kind, Namespace: d.Namespace,
		Name: d.Name, Operation: d.Operation, Username: d.User, Revision: d.Revision, Allowed: d.Allowed, DryRun: d.DryRun,
		Violations: string(vj), Error: d.Error, DurationUS: d.Duration.Microseconds()}
}

func (r decisionRow) decision() Decision {
	d := Decision{ID: r.ID, At: r.At.UTC(), Source: r.Source, Target: Target(r.Target), Kind: r.Kind, Namespace: r.Namespace,
		Name: r.Name, Operation: r.Operation, User: r.Username, Revision: r.Revision, Allowed: r.Allowed, DryRun: r.DryRun,
		Error: r.Error, Duration: time.Duration(r.DurationUS) * time.Microsecond, Violations: []Violation{}}
	_ = json.Unmarshal([]byte(r.Violations), &d.Violations)
	return d
}

// WriteDecisions stores a batch of decisions and their preview samples
// (the newest review of each object replaces the one before).
func (s *Store) WriteDecisions(ctx context.Context, ds []Decision) error {
	rows := make([]decisionRow, len(ds))
	samples := map[string]sampleRow{}
	for i, d := range ds {
		rows[i] = toDecisionRow(d)
		if d.SampleKey != "" {
			samples[d.SampleKey] = sampleRow{ObjectKey: d.SampleKey, At: d.At.UTC(), Input: string(d.SampleInput)}
		}
	}
	sampleRows := make([]sampleRow, 0, len(samples))
	for _, r := range samples {
		sampleRows = append(sampleRows, r)
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rows, 200).Error; err != nil {
			return fmt.Errorf("write decisions: %w", err)
		}
		if len(sampleRows) == 0 {
			return nil
		}
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "object_key"}},
			DoUpdates: clause.AssignmentColumns([]string{"at", "input"}),
		}).CreateInBatches(sampleRows, 100).Error
		if err != nil {
			return fmt.Errorf("write review samples: %w", err)
		}
		return nil
	})
}

// DeleteDecisionsBefore removes decisions and samples older than t and
// returns how many decisions went.
func (s *Store) DeleteDecisionsBefore(ctx context.Context, t time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("at < ?", t.UTC()).Delete(&decisionRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete old decisions: %w", res.Error)
	}
	if err := s.db.WithContext(ctx).Where("at < ?", t.UTC()).Delete(&sampleRow{}).Error; err != nil {
		return 0, fmt.Errorf("delete old review samples: %w", err)
	}
	return res.RowsAffected, nil
}

// Samples returns up to limit of the newest admission requests kept for
// previews, newest first.
func (s *Store) Samples(ctx context.Context, limit int) ([]json.RawMessage, error) {
	var rows []sampleRow
	if err := s.db.WithContext(ctx).Order("at DESC, object_key").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read review samples: %w", err)
	}
	out := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		out[i] = json.RawMessage(r.Input)
	}
	return out, nil
}

// DecisionFilter selects decisions; zero fields match everything.
type DecisionFilter struct {
	Source, Target, Kind, Namespace, Name, Operation, User, Policy string
	Allowed                                                        *bool
	Since, Until                                                   time.Time
	Limit                                                          int
	Cursor                                                         string
}

// DecisionPage is one page of decisions, newest first.
type DecisionPage struct {
	Items      []Decision `json:"items"`
	NextCursor string     `json:"nextCursor,omitempty"`
}

// decisionCursor is the keyset position after the last item of a page.
type decisionCursor struct {
	At time.Time `json:"at"`
	ID string    `json:"id"`
}

// MaxDecisionPage bounds a page of decisions.
const MaxDecisionPage = 500

// Decisions returns the decisions matching f, newest first.
func (s *Store) Decisions(ctx context.Context, f DecisionFilter) (DecisionPage, error) {
	q := s.db.WithContext(ctx).Model(&decisionRow{})
	for col, v := range map[string]string{"source": f.Source, "target": f.Target, "kind": f.Kind, "namespace": f.Namespace,
		"name": f.Name, "operation": f.Operation, "username": f.User} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if f.Policy != "" {
		if !isIdentifier(f.Policy) {
			return DecisionPage{}, invalidPolicyFilter()
		}
		// Violations are stored as JSON with the policy name quoted. An
		// underscore in the name matches any character in LIKE, which can
		// only widen the match to names differing there.
		q = q.Where("violations LIKE ?", `%"policy":"`+f.Policy+`"%`)
	}
	if f.Allowed != nil {
		q = q.Where("allowed = ?", *f.Allowed)
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", f.Until.UTC())
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return DecisionPage{}, err
		}
		q = q.Where("(at < ? OR (at = ? AND id < ?))", c.At, c.At, c.ID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var rows []decisionRow
	if err := q.Order("at DESC, id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return DecisionPage{}, fmt.Errorf("query decisions: %w", err)
	}
	page := DecisionPage{Items: []Decision{}}
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			b, _ := json.Marshal(decisionCursor{At: last.At.UTC(), ID: last.ID})
			page.NextCursor = base64.RawURLEncoding.EncodeToString(b)
			break
		}
		page.Items = append(page.Items, r.decision())
	}
	return page, nil
}

func decodeCursor(s string) (decisionCursor, error) {
	var c decisionCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return c, paved.Invalid("invalid cursor", paved.Detail{Field: "cursor", Reason: "not a cursor returned by this API"})
	}
	return c, nil
}

func isIdentifier(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func invalidPolicyFilter() error {
	return paved.Invalid("invalid filter", paved.Detail{Field: "policy", Reason: "a policy name is letters, digits and underscores"})
}
