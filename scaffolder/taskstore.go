package scaffolder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
)

// Task states, Backstage's words.
const (
	TaskOpen       = "open"
	TaskProcessing = "processing"
	TaskCompleted  = "completed"
	TaskFailed     = "failed"
	TaskCancelled  = "cancelled"
)

// Task is a stored template run.
type Task struct {
	ID          string `json:"id"`
	TemplateRef string `json:"templateRef"`
	Spec        TaskSpec
	Status      string
	CreatedBy   string
	// Steps are each step's state so far, in template order.
	Steps           []TaskStep
	Output          map[string]any
	LastError       string
	CancelRequested bool
	// ClaimedBy names the worker running the task (while processing).
	ClaimedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastHeartbeatAt *time.Time
}

// TaskSpec is what a task runs: the template entity and the values.
// Secrets are never part of it.
type TaskSpec struct {
	Template map[string]any `json:"template"`
	Values   map[string]any `json:"values"`
	// User is what templates read as user.entity and user.ref.
	User map[string]any `json:"user,omitempty"`
	// UndoOnFailure, when set, overrides the template's choice of
	// whether a failed or cancelled task undoes its completed steps.
	UndoOnFailure *bool `json:"undoOnFailure,omitempty"`
}

// TaskStep is one step's state in a task.
type TaskStep struct {
	ID     string         `json:"id"`
	Status StepStatus     `json:"status"`
	Output map[string]any `json:"output,omitempty"`
	Error  string         `json:"error,omitempty"`
	// Undo says what became of a completed step when the task failed or
	// was cancelled: undone, undo-failed (Error says why) or not-undoable.
	Undo string `json:"undo,omitempty"`
	// UndoError is why the undo failed.
	UndoError string `json:"undoError,omitempty"`
}

// What the runner did to a completed step of a task that failed.
const (
	StepUndone      = "undone"
	StepUndoFailed  = "undo-failed"
	StepNotUndoable = "not-undoable"
)

// TaskEvent is an entry of a task's event log.
type TaskEvent struct {
	ID        int64          `json:"id"`
	TaskID    string         `json:"taskId"`
	Type      string         `json:"type"`
	Body      map[string]any `json:"body"`
	CreatedAt time.Time      `json:"createdAt"`
}

// TaskStore keeps tasks and their events in the database.
type TaskStore struct {
	db     *gorm.DB
	sealer *Sealer
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// NewTaskStore returns a store over db, whose schema must be migrated;
// sealer encrypts the secrets tasks are given (nil refuses secrets).
func NewTaskStore(db *database.DB, sealer *Sealer) *TaskStore {
	return &TaskStore{db: db.Gorm, sealer: sealer, Now: time.Now}
}

type taskRow struct {
	ID              string `gorm:"primaryKey"`
	TemplateRef     string
	Spec            string
	Status          string
	CreatedBy       string
	Steps           string
	Output          string
	LastError       string
	CancelRequested bool
	ClaimedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastHeartbeatAt *time.Time
}

func (taskRow) TableName() string { return "scaffolder_tasks" }

type taskEventRow struct {
	ID        int64 `gorm:"primaryKey"`
	TaskID    string
	EventType string
	Body      string
	CreatedAt time.Time
}

func (taskEventRow) TableName() string { return "scaffolder_task_events" }

// CreateTask stores a new open task for the template's steps, its
// secrets sealed.
func (s *TaskStore) CreateTask(ctx context.Context, tpl *Template, spec TaskSpec, createdBy string, secrets map[string]string) (*Task, error) {
	now := s.Now().UTC()
	t := &Task{ID: uuid.NewString(), TemplateRef: tpl.Ref, Spec: spec, Status: TaskOpen, CreatedBy: createdBy, Output: map[string]any{},
		CreatedAt: now, UpdatedAt: now}
	for _, st := range tpl.Steps {
		t.Steps = append(t.Steps, TaskStep{ID: st.ID, Status: StepOpen})
	}
	row, err := toRow(t)
	if err != nil {
		return nil, err
	}
	sealed, err := s.seal(t.ID, secrets)
	if err != nil {
		return nil, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		return tx.Model(&taskRow{}).Where("id = ?", t.ID).Update("sealed_secrets", sealed).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store task: %w", err)
	}
	return t, nil
}

func (s *TaskStore) seal(id string, secrets map[string]string) (string, error) {
	if len(secrets) == 0 {
		return "", nil
	}
	if s.sealer == nil {
		return "", paved.Errorf(paved.CodeUnavailable, "this server keeps no task secrets: it has no scaffolder secrets key")
	}
	return s.sealer.Seal(id, secrets)
}

// Secrets returns the secrets the task was given, while it may still run.
func (s *TaskStore) Secrets(ctx context.Context, id string) (map[string]string, error) {
	var sealed []string
	if err := s.db.WithContext(ctx).Model(&taskRow{}).Where("id = ?", id).Pluck("sealed_secrets", &sealed).Error; err != nil {
		return nil, err
	}
	if len(sealed) == 0 || sealed[0] == "" {
		return nil, nil
	}
	if s.sealer == nil {
		return nil, fmt.Errorf("task %s has secrets and this server has no scaffolder secrets key", id)
	}
	return s.sealer.Open(id, sealed[0])
}

// ErrClaimLost is returned to a worker whose task another worker took
// over (its heartbeat had gone stale): it must stop at once.
var ErrClaimLost = errors.New("another worker took over the task")

// Claim makes worker the task's runner if the task is open, already its
// own, or processing under a worker whose last heartbeat is before
// staleBefore (a worker that died). It returns the task and whether it
// was claimed; one compare-and-set statement, so of two workers racing
// for a task exactly one wins.
func (s *TaskStore) Claim(ctx context.Context, id, worker string, staleBefore time.Time) (*Task, bool, error) {
	now := s.Now().UTC()
	res := s.db.WithContext(ctx).Model(&taskRow{}).
		Where("id = ? AND (status = ? OR (status = ? AND (claimed_by = ? OR last_heartbeat_at IS NULL OR last_heartbeat_at < ?)))",
			id, TaskOpen, TaskProcessing, worker, staleBefore.UTC()).
		Updates(map[string]any{"status": TaskProcessing, "claimed_by": worker, "last_heartbeat_at": now, "updated_at": now})
	if res.Error != nil {
		return nil, false, res.Error
	}
	t, err := s.Task(ctx, id)
	return t, res.RowsAffected == 1, err
}

// Stale lists tasks that need a worker: processing ones whose heartbeat
// is before staleBefore, and open ones created before it (their job was
// lost), oldest first, at most limit.
func (s *TaskStore) Stale(ctx context.Context, staleBefore time.Time, limit int) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&taskRow{}).
		Where("(status = ? AND (last_heartbeat_at IS NULL OR last_heartbeat_at < ?)) OR (status = ? AND created_at < ?)",
			TaskProcessing, staleBefore.UTC(), TaskOpen, staleBefore.UTC()).
		Order("created_at").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// Task returns the task with id, or a CodeNotFound error.
func (s *TaskStore) Task(ctx context.Context, id string) (*Task, error) {
	return s.task(s.db.WithContext(ctx), id)
}

func (s *TaskStore) task(db *gorm.DB, id string) (*Task, error) {
	var row taskRow
	err := db.Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, paved.Errorf(paved.CodeNotFound, "task %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	return fromRow(&row)
}

// TaskFilter narrows ListTasks.
type TaskFilter struct {
	CreatedBy     string
	Status        []string
	Limit, Offset int
	// Newest lists the newest first (Backstage's order=desc:created_at).
	Newest bool
}

// ListTasks returns one page of tasks and how many match in all.
func (s *TaskStore) ListTasks(ctx context.Context, f TaskFilter) ([]*Task, int64, error) {
	q := s.db.WithContext(ctx).Model(&taskRow{})
	if f.CreatedBy != "" {
		q = q.Where("created_by = ?", f.CreatedBy)
	}
	if len(f.Status) > 0 {
		q = q.Where("status IN ?", f.Status)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, err
	}
	order := "created_at, id"
	if f.Newest {
		order = "created_at DESC, id DESC"
	}
	var rows []taskRow
	if err := q.Order(order).Limit(f.Limit).Offset(f.Offset).Find(&rows).Error; err != nil {
		return nil, 0, err
	}
	out := make([]*Task, 0, len(rows))
	for i := range rows {
		t, err := fromRow(&rows[i])
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, nil
}

// UpdateTask changes a task in one transaction: fn gets the stored task
// and changes it; its error leaves the task as it was.
func (s *TaskStore) UpdateTask(ctx context.Context, id string, fn func(*Task) error) (*Task, error) {
	return s.update(s.db.WithContext(ctx), id, "", fn)
}

// update reads the task, lets fn change it and writes it back; with a
// worker, only while the task is still that worker's (the write is
// conditional, so a worker that lost its claim between the read and the
// write changes nothing).
func (s *TaskStore) update(db *gorm.DB, id, worker string, fn func(*Task) error) (*Task, error) {
	var out *Task
	err := db.Transaction(func(tx *gorm.DB) error {
		t, err := s.task(tx, id)
		if err != nil {
			return err
		}
		if worker != "" && (t.ClaimedBy != worker || t.Status != TaskProcessing) {
			return ErrClaimLost
		}
		if err := fn(t); err != nil {
			return err
		}
		t.UpdatedAt = s.Now().UTC()
		row, err := toRow(t)
		if err != nil {
			return err
		}
		q := tx.Model(&taskRow{}).Where("id = ?", id)
		if worker != "" {
			q = q.Where("claimed_by = ? AND status = ?", worker, TaskProcessing)
		}
		res := q.Select("*").Omit("id", "created_at").Updates(row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrClaimLost
		}
		out = t
		return nil
	})
	return out, err
}

// Heartbeat records that worker, running the task, is alive; it returns
// ErrClaimLost when the task is no longer the worker's.
func (s *TaskStore) Heartbeat(ctx context.Context, id, worker string) error {
	now := s.Now().UTC()
	res := s.db.WithContext(ctx).Model(&taskRow{}).Where("id = ? AND claimed_by = ? AND status = ?", id, worker, TaskProcessing).
		Update("last_heartbeat_at", now)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrClaimLost
	}
	return nil
}

// UpdateClaimed is UpdateTask for the worker running the task: it
// returns ErrClaimLost, changing nothing, if the task is not worker's.
func (s *TaskStore) UpdateClaimed(ctx context.Context, id, worker string, fn func(*Task) error) (*Task, error) {
	return s.update(s.db.WithContext(ctx), id, worker, fn)
}

// Finish ends the worker's task in its final state (set by fn) and erases
// its secrets: a task that ended never runs again without a retry, and a
// retry is given its secrets anew.
func (s *TaskStore) Finish(ctx context.Context, id, worker string, fn func(*Task) error) (*Task, error) {
	var out *Task
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := s.update(tx, id, worker, func(t *Task) error {
			if err := fn(t); err != nil {
				return err
			}
			t.ClaimedBy = ""
			return nil
		})
		if err != nil {
			return err
		}
		out = t
		return tx.Model(&taskRow{}).Where("id = ?", id).Update("sealed_secrets", "").Error
	})
	return out, err
}

// AppendEvent adds an entry to the task's event log.
func (s *TaskStore) AppendEvent(ctx context.Context, taskID, typ string, body map[string]any) (TaskEvent, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return TaskEvent{}, err
	}
	row := &taskEventRow{TaskID: taskID, EventType: typ, Body: string(data), CreatedAt: s.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(row).Error; err != nil {
		return TaskEvent{}, fmt.Errorf("store task event: %w", err)
	}
	return TaskEvent{ID: row.ID, TaskID: taskID, Type: typ, Body: body, CreatedAt: row.CreatedAt}, nil
}

// maxEventsPage bounds one read of a task's events.
const maxEventsPage = 1000

// Events returns the task's events after the one with id after (0: from
// the start), oldest first, at most maxEventsPage.
func (s *TaskStore) Events(ctx context.Context, taskID string, after int64) ([]TaskEvent, error) {
	var rows []taskEventRow
	err := s.db.WithContext(ctx).Where("task_id = ? AND id > ?", taskID, after).Order("id").Limit(maxEventsPage).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]TaskEvent, 0, len(rows))
	for _, r := range rows {
		var body map[string]any
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", r.ID, err)
		}
		out = append(out, TaskEvent{ID: r.ID, TaskID: r.TaskID, Type: r.EventType, Body: body, CreatedAt: r.CreatedAt})
	}
	return out, nil
}

func toRow(t *Task) (*taskRow, error) {
	spec, err := json.Marshal(t.Spec)
	if err != nil {
		return nil, err
	}
	steps, err := json.Marshal(t.Steps)
	if err != nil {
		return nil, err
	}
	output, err := json.Marshal(t.Output)
	if err != nil {
		return nil, err
	}
	return &taskRow{ID: t.ID, TemplateRef: t.TemplateRef, Spec: string(spec), Status: t.Status, CreatedBy: t.CreatedBy, Steps: string(steps),
		Output: string(output), LastError: t.LastError, CancelRequested: t.CancelRequested, ClaimedBy: t.ClaimedBy, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, LastHeartbeatAt: t.LastHeartbeatAt}, nil
}

func fromRow(r *taskRow) (*Task, error) {
	t := &Task{ID: r.ID, TemplateRef: r.TemplateRef, Status: r.Status, CreatedBy: r.CreatedBy, LastError: r.LastError,
		CancelRequested: r.CancelRequested, ClaimedBy: r.ClaimedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, LastHeartbeatAt: r.LastHeartbeatAt}
	if err := json.Unmarshal([]byte(r.Spec), &t.Spec); err != nil {
		return nil, fmt.Errorf("decode task %s spec: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Steps), &t.Steps); err != nil {
		return nil, fmt.Errorf("decode task %s steps: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Output), &t.Output); err != nil {
		return nil, fmt.Errorf("decode task %s output: %w", r.ID, err)
	}
	return t, nil
}

// RequestCancel cancels an open task at once and asks the worker of a
// processing one to stop after its current step. A task that ended is
// returned as it is.
func (s *TaskStore) RequestCancel(ctx context.Context, id string) (*Task, error) {
	db := s.db.WithContext(ctx)
	now := s.Now().UTC()
	res := db.Model(&taskRow{}).Where("id = ? AND status = ?", id, TaskOpen).
		Updates(map[string]any{"status": TaskCancelled, "sealed_secrets": "", "updated_at": now})
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 1 {
		if _, err := s.AppendEvent(ctx, id, "cancelled", map[string]any{"message": "Run completed with status: cancelled"}); err != nil {
			return nil, err
		}
	} else if err := db.Model(&taskRow{}).Where("id = ? AND status = ?", id, TaskProcessing).
		Updates(map[string]any{"cancel_requested": true, "updated_at": now}).Error; err != nil {
		return nil, err
	}
	return s.Task(ctx, id)
}

// Retry opens a failed or cancelled task again: the steps that failed,
// were skipped or whose effects were undone run again; completed steps
// that were not undone keep their outputs. secrets replace the ones the
// task was given (which were erased when it ended).
func (s *TaskStore) Retry(ctx context.Context, id string, secrets map[string]string) (*Task, error) {
	sealed, err := s.seal(id, secrets)
	if err != nil {
		return nil, err
	}
	var out *Task
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := s.update(tx, id, "", func(t *Task) error {
			if t.Status != TaskFailed && t.Status != TaskCancelled {
				return paved.Errorf(paved.CodeConflict, "task %s is %s; only a failed or cancelled task can be retried", id, t.Status)
			}
			t.Status, t.LastError, t.CancelRequested, t.ClaimedBy, t.Output = TaskOpen, "", false, "", map[string]any{}
			for i, st := range t.Steps {
				if st.Status != StepCompleted || st.Undo == StepUndone || st.Undo == StepUndoFailed {
					t.Steps[i] = TaskStep{ID: st.ID, Status: StepOpen}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		out = t
		return tx.Model(&taskRow{}).Where("id = ?", id).Update("sealed_secrets", sealed).Error
	})
	return out, err
}
