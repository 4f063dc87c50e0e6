package scaffolder_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
)

func TestTaskStore(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		store := scaffolder.NewTaskStore(testsupport.OpenDB(t, dialect), nil)
		clock := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		store.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
		tpl := parse(t, stepsTemplate)
		spec := scaffolder.TaskSpec{Values: map[string]any{"name": "svc", "port": float64(8080)}}
		a, err := store.CreateTask(ctx, tpl, spec, "user:default/ada", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateTask(ctx, tpl, spec, "user:default/bob", nil); err != nil {
			t.Fatal(err)
		}
		got, err := store.Task(ctx, a.ID)
		if err != nil || got.Status != scaffolder.TaskOpen || len(got.Steps) != 4 || got.Steps[0].Status != scaffolder.StepOpen || got.Spec.Values["name"] != "svc" {
			t.Fatalf("Task = %+v, %v", got, err)
		}
		if _, err := store.Task(ctx, "nope"); paved.ErrorCode(err) != paved.CodeNotFound {
			t.Fatalf("missing task: %v", err)
		}

		if _, claimed, err := store.Claim(ctx, a.ID, "w1", clock); err != nil || !claimed {
			t.Fatalf("Claim = %v, %v", claimed, err)
		}
		_, err = store.UpdateClaimed(ctx, a.ID, "w1", func(t *scaffolder.Task) error {
			t.Steps[0] = scaffolder.TaskStep{ID: t.Steps[0].ID, Status: scaffolder.StepCompleted, Output: map[string]any{"name": "svc"}}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Heartbeat(ctx, a.ID, "w1"); err != nil {
			t.Fatal(err)
		}
		if err := store.Heartbeat(ctx, a.ID, "w2"); !errors.Is(err, scaffolder.ErrClaimLost) {
			t.Fatalf("another worker's heartbeat: %v, want ErrClaimLost", err)
		}
		got, _ = store.Task(ctx, a.ID)
		if got.Status != scaffolder.TaskProcessing || got.Steps[0].Output["name"] != "svc" || got.LastHeartbeatAt == nil {
			t.Fatalf("after update: %+v", got)
		}

		mine, total, err := store.ListTasks(ctx, scaffolder.TaskFilter{CreatedBy: "user:default/ada", Limit: 10})
		if err != nil || total != 1 || len(mine) != 1 || mine[0].ID != a.ID {
			t.Fatalf("ada's tasks = %v (%d), %v", mine, total, err)
		}
		open, total, err := store.ListTasks(ctx, scaffolder.TaskFilter{Status: []string{scaffolder.TaskOpen}, Limit: 10})
		if err != nil || total != 1 || open[0].CreatedBy != "user:default/bob" {
			t.Fatalf("open tasks = %v (%d), %v", open, total, err)
		}
		newest, _, err := store.ListTasks(ctx, scaffolder.TaskFilter{Limit: 1, Newest: true})
		if err != nil || newest[0].CreatedBy != "user:default/bob" {
			t.Fatalf("newest = %v, %v", newest, err)
		}

		first, err := store.AppendEvent(ctx, a.ID, "log", map[string]any{"message": "Beginning step first", "stepId": "first"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.AppendEvent(ctx, a.ID, "completion", map[string]any{"message": "done"}); err != nil {
			t.Fatal(err)
		}
		all, err := store.Events(ctx, a.ID, 0)
		if err != nil || len(all) != 2 || all[0].Body["stepId"] != "first" {
			t.Fatalf("events = %+v, %v", all, err)
		}
		rest, err := store.Events(ctx, a.ID, first.ID)
		if err != nil || len(rest) != 1 || rest[0].Type != "completion" {
			t.Fatalf("events after %d = %+v, %v", first.ID, rest, err)
		}
	})
}
