package scaffolder_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/actions/debug"
	"github.com/paved-dev/paved/scaffolder/render"
)

// recorder returns its input and counts runs; dryRun says whether it
// supports dry runs.
type recorder struct {
	id     string
	dryRun bool
	runs   *int
}

func (r recorder) ID() string           { return r.id }
func (r recorder) Description() string  { return "test" }
func (r recorder) SupportsDryRun() bool { return r.dryRun }
func (r recorder) Run(_ context.Context, call *scaffolder.Call) (map[string]any, error) {
	*r.runs++
	if call.Input["fail"] == true {
		return nil, errors.New("refused")
	}
	return call.Input, nil
}

const stepsTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: steps}
spec:
  owner: team-a
  type: service
  steps:
    - id: first
      action: test:safe
      input: {name: '${{ parameters.name }}', port: '${{ parameters.port }}'}
    - id: never
      action: test:safe
      if: '${{ parameters.port > 9000 }}'
      input: {x: 1}
    - id: envs
      action: test:safe
      each: '${{ parameters.envs }}'
      if: '${{ each.value != "skip" }}'
      input: {env: '${{ each.value }}', from: '${{ steps.first.output.name }}'}
    - id: publish
      action: test:effects
      input: {repo: '${{ parameters.name }}'}
  output:
    links:
      - {title: Repo, url: 'https://git/${{ steps.first.output.name }}'}
      - {title: Never, url: x, if: '${{ parameters.port > 9000 }}'}
    port: '${{ steps.first.output.port }}'
`

func TestExecution(t *testing.T) {
	tpl := parse(t, stepsTemplate)
	safeRuns, effectRuns := 0, 0
	actions, err := scaffolder.NewRegistry(recorder{"test:safe", true, &safeRuns}, recorder{"test:effects", false, &effectRuns})
	if err != nil {
		t.Fatal(err)
	}
	exec := func(dryRun bool) ([]scaffolder.StepResult, map[string]any, error) {
		x := &scaffolder.Execution{Template: tpl, Values: map[string]any{"name": "svc", "port": int64(8080), "envs": []any{"dev", "skip", "prod"}},
			DryRun: dryRun, Log: slog.New(slog.DiscardHandler), Render: &render.Engine{}, Actions: actions}
		return x.Run(context.Background())
	}
	steps, output, err := exec(false)
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]scaffolder.StepStatus{}
	for _, s := range steps {
		statuses[s.ID] = s.Status
	}
	if want := map[string]scaffolder.StepStatus{"first": "completed", "never": "skipped", "envs": "completed", "publish": "completed"}; !reflect.DeepEqual(statuses, want) {
		t.Fatalf("statuses = %v, want %v", statuses, want)
	}
	if got := steps[0].Output["port"]; got != int64(8080) {
		t.Errorf("a lone expression keeps its type: port = %#v", got)
	}
	if got := steps[2].Output["env"]; !reflect.DeepEqual(got, []any{"dev", "prod"}) {
		t.Errorf("each collects outputs per iteration, skipping by if: %v", got)
	}
	if got := steps[2].Output["from"]; !reflect.DeepEqual(got, []any{"svc", "svc"}) {
		t.Errorf("a later step reads an earlier one's output: %v", got)
	}
	wantOut := map[string]any{"links": []any{map[string]any{"title": "Repo", "url": "https://git/svc"}}, "port": int64(8080)}
	if !reflect.DeepEqual(output, wantOut) {
		t.Errorf("output = %v, want %v", output, wantOut)
	}

	// A dry run skips the action that cannot simulate its effects.
	effectRuns = 0
	steps, _, err = exec(true)
	if err != nil || steps[3].Status != scaffolder.StepSkipped || effectRuns != 0 {
		t.Fatalf("dry run: %v %v, %d runs of the effectful action", steps[3], err, effectRuns)
	}
}

func TestExecutionStopsAtAFailedStep(t *testing.T) {
	tpl := parse(t, `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: failing}
spec:
  steps:
    - {id: a, action: test:safe, input: {fail: true}}
    - {id: b, action: test:safe}
`)
	runs := 0
	actions, _ := scaffolder.NewRegistry(recorder{"test:safe", true, &runs})
	x := &scaffolder.Execution{Template: tpl, Log: slog.New(slog.DiscardHandler), Render: &render.Engine{}, Actions: actions}
	steps, _, err := x.Run(context.Background())
	if err == nil || len(steps) != 1 || steps[0].Status != scaffolder.StepFailed || runs != 1 {
		t.Fatalf("steps = %+v, err %v, %d runs; want the first failed and the second not run", steps, err, runs)
	}
}

// A resumed task does not run the steps an earlier run completed; later
// steps read their stored outputs, and each new result is reported as it
// comes.
func TestExecutionResumes(t *testing.T) {
	tpl := parse(t, stepsTemplate)
	runs := 0
	actions, _ := scaffolder.NewRegistry(recorder{"test:safe", true, &runs}, recorder{"test:effects", true, &runs})
	var reported []string
	x := &scaffolder.Execution{Template: tpl, Values: map[string]any{"name": "svc", "port": int64(8080), "envs": []any{"dev"}},
		Log: slog.New(slog.DiscardHandler), Render: &render.Engine{}, Actions: actions,
		Completed: map[string]map[string]any{"first": {"name": "from-before", "port": int64(8080)}},
		OnStep: func(_ context.Context, r scaffolder.StepResult) error {
			reported = append(reported, r.ID+":"+string(r.Status))
			return nil
		}}
	steps, _, err := x.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reported, []string{"never:skipped", "envs:completed", "publish:completed"}) {
		t.Fatalf("reported %v; want every step but the completed one", reported)
	}
	if runs != 2 {
		t.Fatalf("%d action runs, want 2 (envs once, publish once)", runs)
	}
	if got := steps[2].Output["from"]; !reflect.DeepEqual(got, []any{"from-before"}) {
		t.Fatalf("a later step read %v, want the stored output of the completed step", got)
	}
}

// A step that logs a secret shows *** instead, as on Backstage.
func TestExecutionRedactsSecrets(t *testing.T) {
	tpl := parse(t, `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: secretive}
spec:
  steps:
    - {id: log, action: debug:log, input: {message: 'token is ${{ secrets.token }}'}}
`)
	actions, _ := scaffolder.NewRegistry(debug.Log{})
	var buf bytes.Buffer
	x := &scaffolder.Execution{Template: tpl, Secrets: map[string]string{"token": "s3cr3t-value"},
		Log: slog.New(slog.NewJSONHandler(&buf, nil)), Render: &render.Engine{}, Actions: actions}
	if _, _, err := x.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "s3cr3t-value") || !strings.Contains(buf.String(), "token is ***") {
		t.Fatalf("log = %s", buf.String())
	}
}
