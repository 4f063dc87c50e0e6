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
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastHeartbeatAt *time.Time
}

// TaskSpec is what a task runs: the template entity and the values.
// Secrets are never part of it.
type TaskSpec struct {
	Template map[string]any `json:"template"`
	Values   map[string]any `json:"values"`
}

// TaskStep is one step's state in a task.
type TaskStep struct {
	ID     string         `json:"id"`
	Status StepStatus     `json:"status"`
	Output map[string]any `json:"output,omitempty"`
	Error  string         `json:"error,omitempty"`
}

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
	db *gorm.DB
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// NewTaskStore returns a store over db, whose schema must be migrated.
func NewTaskStore(db *database.DB) *TaskStore { return &TaskStore{db: db.Gorm, Now: time.Now} }

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

// CreateTask stores a new open task for the template's steps.
func (s *TaskStore) CreateTask(ctx context.Context, tpl *Template, spec TaskSpec, createdBy string) (*Task, error) {
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
	if err := s.db.WithContext(ctx).Create(row).Error; err != nil {
		return nil, fmt.Errorf("store task: %w", err)
	}
	return t, nil
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
	var out *Task
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := s.task(tx, id)
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
		t.UpdatedAt = s.Now().UTC()
		row, err := toRow(t)
		if err != nil {
			return err
		}
		out = t
		return tx.Save(row).Error
	})
	return out, err
}

// Heartbeat records that the worker running the task is alive.
func (s *TaskStore) Heartbeat(ctx context.Context, id string) error {
	now := s.Now().UTC()
	return s.db.WithContext(ctx).Model(&taskRow{}).Where("id = ?", id).Update("last_heartbeat_at", now).Error
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
		Output: string(output), LastError: t.LastError, CancelRequested: t.CancelRequested, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		LastHeartbeatAt: t.LastHeartbeatAt}, nil
}

func fromRow(r *taskRow) (*Task, error) {
	t := &Task{ID: r.ID, TemplateRef: r.TemplateRef, Status: r.Status, CreatedBy: r.CreatedBy, LastError: r.LastError,
		CancelRequested: r.CancelRequested, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, LastHeartbeatAt: r.LastHeartbeatAt}
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
