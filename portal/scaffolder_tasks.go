package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	sse "github.com/tmaxmax/go-sse"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/scaffolder"
)

// TaskQueue enqueues task runs; jobs.Queue satisfies it.
type TaskQueue interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// taskRequest is Backstage's POST /v2/tasks body, with Paved's
// undoOnFailure.
type taskRequest struct {
	TemplateRef   string            `json:"templateRef"`
	Values        map[string]any    `json:"values"`
	Secrets       map[string]string `json:"secrets"`
	UndoOnFailure *bool             `json:"undoOnFailure"`
}

type taskCreated struct {
	ID string `json:"id"`
}

// tasksPart is the scaffolder with its task store, or "not running".
func (s *Server) tasksPart() (Scaffolder, error) {
	sc, err := s.scaffolderParts()
	if err == nil && (sc.Tasks == nil || sc.Queue == nil) {
		err = paved.Errorf(paved.CodeUnavailable, "scaffolder tasks are not running in this server")
	}
	return sc, err
}

// createTask answers Backstage's POST /v2/tasks: the template is read
// from the catalog and kept with the task (a template changed later does
// not change a running task), the values are checked against every form
// page, every step's action must exist, and the task is queued: 201 {id}.
func (s *Server) createTask(c echo.Context) error {
	sc, err := s.tasksPart()
	if err != nil {
		return err
	}
	var req taskRequest
	if err := bindBackstageJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	tpl, err := s.templateByRef(ctx, req.TemplateRef)
	if err != nil {
		return err
	}
	req.Values = tpl.WithDefaults(req.Values)
	if err := tpl.CheckValues(req.Values); err != nil {
		return withBackstageErrors(err)
	}
	if err := knownActions(sc.Actions, tpl); err != nil {
		return err
	}
	// Until sign-in exists (identity is its own issue), tasks are
	// created by nobody in particular.
	spec := scaffolder.TaskSpec{Template: tpl.Entity, Values: req.Values, UndoOnFailure: req.UndoOnFailure}
	task, err := sc.Tasks.CreateTask(ctx, tpl, spec, "", req.Secrets)
	if err != nil {
		return err
	}
	s.enqueueTask(ctx, sc, task.ID)
	return c.JSON(http.StatusCreated, taskCreated{ID: task.ID})
}

// enqueueTask queues a run. A task whose job could not be queued is not
// lost: the recovery job finds open tasks without a run.
func (s *Server) enqueueTask(ctx context.Context, sc Scaffolder, id string) {
	if _, err := sc.Queue.Insert(ctx, scaffolder.TaskArgs{TaskID: id}, nil); err != nil {
		s.log.WarnContext(ctx, "scaffolder task not queued; the recovery job will run it", "task", id, "err", err)
	}
}

// valueError is an entry of Backstage's 400 {errors} for values that fail
// the parameters' schema (the jsonschema library's ValidationError shape,
// the fields its clients read).
type valueError struct {
	Property string   `json:"property"`
	Path     []string `json:"path"`
	Message  string   `json:"message"`
	Stack    string   `json:"stack"`
}

// withBackstageErrors adds Backstage's errors list beside Paved's
// details (a JSON pointer and a reason per field).
func withBackstageErrors(err error) error {
	var pe *paved.Error
	if !errors.As(err, &pe) {
		return err
	}
	list := make([]valueError, 0, len(pe.Details))
	for _, d := range pe.Details {
		path := []string{}
		if p := strings.Trim(d.Field, "/"); p != "" {
			path = strings.Split(p, "/")
		}
		prop := strings.Join(append([]string{"instance"}, path...), ".")
		list = append(list, valueError{Property: prop, Path: path, Message: d.Reason, Stack: prop + " " + d.Reason})
	}
	return paved.WithPayload(err, map[string]any{"errors": list})
}

// templateByRef reads a Template entity from the catalog.
func (s *Server) templateByRef(ctx context.Context, ref string) (*scaffolder.Template, error) {
	if s.catalog.Store == nil {
		return nil, paved.Errorf(paved.CodeUnavailable, "the catalog is not running in this server")
	}
	if ref == "" {
		return nil, paved.Invalid("invalid task", paved.Detail{Field: "templateRef", Reason: "is required"})
	}
	r, err := catalog.ParseRef(ref, "template", "default")
	if err != nil {
		return nil, paved.Invalid("invalid task", paved.Detail{Field: "templateRef", Reason: err.Error()})
	}
	if !strings.EqualFold(r.Kind, "template") {
		return nil, paved.Invalid("invalid task", paved.Detail{Field: "templateRef", Reason: fmt.Sprintf("%q is a %s, not a template", ref, r.Kind)})
	}
	entity, err := s.catalog.Store.EntityByRef(ctx, r)
	if err != nil {
		return nil, err
	}
	return scaffolder.ParseTemplate(entity)
}

// knownActions refuses a template naming an action this server lacks
// before a task is created (Backstage fails the task when it gets there).
func knownActions(actions *scaffolder.Registry, tpl *scaffolder.Template) error {
	var d paved.Details
	for i, st := range tpl.Steps {
		if _, err := actions.Action(st.Action); err != nil {
			d.Add(fmt.Sprintf("spec.steps[%d].action", i), "%s", err.Error())
		}
	}
	return d.Err("template " + tpl.Ref + " uses actions this server does not have")
}

// taskJSON is Backstage's SerializedTask, without secrets, with Paved's
// step states (and what undo did) and error.
type taskJSON struct {
	ID              string                `json:"id"`
	Spec            map[string]any        `json:"spec"`
	Status          string                `json:"status"`
	CreatedAt       time.Time             `json:"createdAt"`
	LastHeartbeatAt *time.Time            `json:"lastHeartbeatAt,omitempty"`
	CreatedBy       string                `json:"createdBy,omitempty"`
	Steps           []scaffolder.TaskStep `json:"steps"`
	Output          map[string]any        `json:"output,omitempty"`
	Error           string                `json:"error,omitempty"`
	CancelRequested bool                  `json:"cancelRequested,omitempty"`
}

func taskView(t *scaffolder.Task) taskJSON {
	spec := map[string]any{"apiVersion": t.Spec.Template["apiVersion"], "parameters": t.Spec.Values,
		"templateInfo": map[string]any{"entityRef": t.TemplateRef, "entity": map[string]any{"metadata": t.Spec.Template["metadata"]}}}
	if ts, ok := t.Spec.Template["spec"].(map[string]any); ok {
		copyPresent(spec, ts, "steps", "output")
	}
	if t.Spec.User != nil {
		spec["user"] = t.Spec.User
	}
	return taskJSON{ID: t.ID, Spec: spec, Status: t.Status, CreatedAt: t.CreatedAt, LastHeartbeatAt: t.LastHeartbeatAt, CreatedBy: t.CreatedBy,
		Steps: t.Steps, Output: t.Output, Error: t.LastError, CancelRequested: t.CancelRequested}
}

type taskList struct {
	Tasks      []taskJSON `json:"tasks"`
	TotalTasks int64      `json:"totalTasks"`
}

var taskStates = []string{scaffolder.TaskOpen, scaffolder.TaskProcessing, scaffolder.TaskCompleted, scaffolder.TaskFailed, scaffolder.TaskCancelled}

// listTasks answers Backstage's GET /v2/tasks?createdBy=&status=&limit=
// &offset=&order=: {tasks, totalTasks}.
func (s *Server) listTasks(c echo.Context) error {
	sc, err := s.tasksPart()
	if err != nil {
		return err
	}
	q := c.QueryParams()
	f := scaffolder.TaskFilter{CreatedBy: q.Get("createdBy"), Status: q["status"]}
	for _, st := range f.Status {
		if !slices.Contains(taskStates, st) {
			return paved.Invalid("invalid task query", paved.Detail{Field: "status", Reason: fmt.Sprintf("%q is not one of %s", st, strings.Join(taskStates, ", "))})
		}
	}
	if f.Limit, err = intParam("limit", q.Get("limit"), 100, 1, 1000); err != nil {
		return err
	}
	if f.Offset, err = intParam("offset", q.Get("offset"), 0, 0, 1<<30); err != nil {
		return err
	}
	switch order := q.Get("order"); order {
	case "", "desc:created_at", "desc:createdAt":
		f.Newest = true
	case "asc:created_at", "asc:createdAt":
	default:
		return paved.Invalid("invalid task query", paved.Detail{Field: "order", Reason: fmt.Sprintf("%q: want asc:created_at or desc:created_at", order)})
	}
	tasks, total, err := sc.Tasks.ListTasks(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := taskList{Tasks: make([]taskJSON, 0, len(tasks)), TotalTasks: total}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, taskView(t))
	}
	return c.JSON(http.StatusOK, out)
}

// getTask answers GET /v2/tasks/:taskId.
func (s *Server) getTask(c echo.Context) error {
	sc, err := s.tasksPart()
	if err != nil {
		return err
	}
	t, err := sc.Tasks.Task(c.Request().Context(), c.Param("taskId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, taskView(t))
}

type taskStatus struct {
	Status string `json:"status"`
}

// cancelTask answers POST /v2/tasks/:taskId/cancel: an open task is
// cancelled at once, a processing one after its current step.
func (s *Server) cancelTask(c echo.Context) error {
	sc, err := s.tasksPart()
	if err != nil {
		return err
	}
	t, err := sc.Tasks.RequestCancel(c.Request().Context(), c.Param("taskId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, taskStatus{Status: t.Status})
}

type retryRequest struct {
	Secrets map[string]string `json:"secrets"`
}

// retryTask answers POST /v2/tasks/:taskId/retry: a failed or cancelled
// task runs again from the step that did not complete, with new secrets.
func (s *Server) retryTask(c echo.Context) error {
	sc, err := s.tasksPart()
	if err != nil {
		return err
	}
	var req retryRequest
	if c.Request().ContentLength != 0 {
		if err := bindBackstageJSON(c, &req); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	t, err := sc.Tasks.Retry(ctx, c.Param("taskId"), req.Secrets)
	if err != nil {
		return err
	}
	s.enqueueTask(ctx, sc, t.ID)
	return c.JSON(http.StatusCreated, taskCreated{ID: t.ID})
}

// taskEvents answers GET /v2/tasks/:taskId/events?after=: the events
// after the given id, oldest first.
func (s *Server) taskEvents(c echo.Context) error {
	sc, id, after, err := s.eventsRequest(c)
	if err != nil {
		return err
	}
	events, err := sc.Tasks.Events(c.Request().Context(), id, after)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, events)
}

// eventsRequest reads a request for a task's events: the task (which
// must exist) and ?after=.
func (s *Server) eventsRequest(c echo.Context) (Scaffolder, string, int64, error) {
	sc, err := s.tasksPart()
	if err != nil {
		return sc, "", 0, err
	}
	id := c.Param("taskId")
	if _, err := sc.Tasks.Task(c.Request().Context(), id); err != nil {
		return sc, "", 0, err
	}
	after, err := afterParam(c.QueryParam("after"))
	return sc, id, after, err
}

func afterParam(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, paved.Invalid("invalid event query", paved.Detail{Field: "after", Reason: fmt.Sprintf("%q is not an event id", v)})
	}
	return n, nil
}

// eventPoll is how often the event stream looks for new events.
const eventPoll = 250 * time.Millisecond

// taskEventStream answers GET /v2/tasks/:taskId/eventstream: server-sent
// events, `event: <type>` and `data: <the event as JSON>` as Backstage
// sends them, plus `id:` so a client that reconnects with Last-Event-ID
// (or ?after=) misses nothing. The stream ends after the task's last
// event (completion, or cancelled for a task cancelled before it ran).
func (s *Server) taskEventStream(c echo.Context) error {
	sc, id, after, err := s.eventsRequest(c)
	if err != nil {
		return err
	}
	sess, err := sse.Upgrade(c.Response(), c.Request())
	if err != nil {
		return err
	}
	if last := sess.LastEventID.String(); last != "" {
		if n, err := strconv.ParseInt(last, 10, 64); err == nil && n > after {
			after = n
		}
	}
	// A stream lasts as long as its task: no write deadline.
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Time{})
	// The status goes through echo's response, so echo knows it is sent.
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	c.Response().WriteHeader(http.StatusOK)
	return streamEvents(c.Request().Context(), sess, sc.Tasks, id, after)
}

func streamEvents(ctx context.Context, sess *sse.Session, tasks *scaffolder.TaskStore, id string, after int64) error {
	tick := time.NewTicker(eventPoll)
	defer tick.Stop()
	for {
		events, err := tasks.Events(ctx, id, after)
		if err != nil {
			return nil // the response has begun: end the stream
		}
		for _, ev := range events {
			data, _ := json.Marshal(ev)
			msg := &sse.Message{Type: sse.Type(ev.Type), ID: sse.ID(strconv.FormatInt(ev.ID, 10))}
			msg.AppendData(string(data))
			if err := sess.Send(msg); err != nil {
				return nil
			}
			after = ev.ID
			if ev.Type == "completion" || ev.Type == "cancelled" {
				_ = sess.Flush()
				return nil
			}
		}
		if err := sess.Flush(); err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
