package portal

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/policies"
)

// Policies is what the policy API and the admission webhook need.
type Policies struct {
	Manager   *policies.Manager
	Decisions *policies.DecisionLog
	Admitter  *policies.Admitter
	// EvalTimeout bounds an evaluation asked for through the API.
	EvalTimeout time.Duration
}

// defaultPreviewSamples is how many logged reviews a preview replays when
// the request does not say.
const defaultPreviewSamples = 200

func (s *Server) policyManager() (*policies.Manager, error) {
	if s.policies.Manager == nil {
		return nil, paved.Errorf(paved.CodeUnavailable, "the policy engine is not running in this server")
	}
	return s.policies.Manager, nil
}

// policySets is the answer of GET /sets: the sets and the revision this
// replica decides with.
type policySets struct {
	Items    []policies.SetState `json:"items"`
	Revision string              `json:"revision"`
}

func (s *Server) listPolicySets(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	sets, err := m.Store.Sets(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, policySets{Items: sets, Revision: m.Engine.Snapshot().Revision})
}

func (s *Server) getPolicySet(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	d, err := m.Describe(c.Request().Context(), c.Param("set"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) listPolicyVersions(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	vs, err := m.Store.Versions(c.Request().Context(), c.Param("set"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, itemsOf(vs))
}

// versionBody is a new version or a set to validate.
type versionBody struct {
	Modules map[string]string `json:"modules"`
	Data    map[string]any    `json:"data"`
	Message string            `json:"message"`
}

func (b versionBody) source() (policies.Source, error) {
	if len(b.Modules) == 0 {
		return policies.Source{}, paved.Invalid("no modules", paved.Detail{Field: "modules", Reason: `want an object of "<path>.rego": "<source>"`})
	}
	return policies.Source{Modules: b.Modules, Data: b.Data}, nil
}

// createdVersion is the answer of POST /sets/{set}/versions.
type createdVersion struct {
	Set     string `json:"set"`
	Version int    `json:"version"`
}

func (s *Server) createPolicyVersion(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	var body versionBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	src, err := body.source()
	if err != nil {
		return err
	}
	v, err := m.CreateVersion(c.Request().Context(), c.Param("set"), src, body.Message)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdVersion{Set: c.Param("set"), Version: v})
}

func (s *Server) getPolicyVersion(c echo.Context) error {
	m, n, err := s.versionRoute(c)
	if err != nil {
		return err
	}
	v, err := m.Store.Version(c.Request().Context(), c.Param("set"), n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) validatePolicies(c echo.Context) error {
	var body versionBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	src, err := body.source()
	if err != nil {
		return err
	}
	errs := policies.Validate(c.Request().Context(), src)
	if errs == nil {
		errs = policies.CompileErrors{}
	}
	return c.JSON(http.StatusOK, validation{Valid: len(errs) == 0, Errors: errs})
}

// validation is the answer of POST /validate.
type validation struct {
	Valid  bool                   `json:"valid"`
	Errors policies.CompileErrors `json:"errors"`
}

func (s *Server) testPolicyVersion(c echo.Context) error {
	m, n, err := s.versionRoute(c)
	if err != nil {
		return err
	}
	results, err := m.TestVersion(c.Request().Context(), c.Param("set"), n)
	if err != nil {
		return err
	}
	if results == nil {
		results = []policies.TestResult{}
	}
	return c.JSON(http.StatusOK, testRun{Passed: len(policies.Failed(results)) == 0, Summary: policies.Summary(results), Results: results})
}

// testRun is the answer of POST /sets/{set}/versions/{n}/test.
type testRun struct {
	Passed  bool                  `json:"passed"`
	Summary string                `json:"summary"`
	Results []policies.TestResult `json:"results"`
}

func (s *Server) previewPolicyVersion(c echo.Context) error {
	m, n, err := s.versionRoute(c)
	if err != nil {
		return err
	}
	var body struct {
		Samples *int `json:"samples"`
	}
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &body); err != nil {
			return err
		}
	}
	samples := defaultPreviewSamples
	if body.Samples != nil {
		if *body.Samples < 0 || *body.Samples > 10000 {
			return paved.Invalid("invalid preview", paved.Detail{Field: "samples", Reason: "want 0 to 10000 logged reviews"})
		}
		samples = *body.Samples
	}
	p, err := m.Preview(c.Request().Context(), c.Param("set"), n, samples, m.Live)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) activatePolicyVersion(c echo.Context) error {
	m, n, err := s.versionRoute(c)
	if err != nil {
		return err
	}
	return s.activate(c, m, n, "activate")
}

// activate activates version n; the answer is the set's new state and
// the preview of what the activation changed.
func (s *Server) activate(c echo.Context, m *policies.Manager, n int, action string) error {
	a, err := m.Activate(c.Request().Context(), c.Param("set"), n, action)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) rollbackPolicySet(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	var body struct {
		Version int `json:"version"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if body.Version < 1 {
		return paved.Invalid("invalid rollback", paved.Detail{Field: "version", Reason: "want the version number to return to (1 or more)"})
	}
	return s.activate(c, m, body.Version, "rollback")
}

func (s *Server) diffPolicyVersions(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	from, err := versionParam("from", c.QueryParam("from"))
	if err != nil {
		return err
	}
	to, err := versionParam("to", c.QueryParam("to"))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := m.Store.Version(ctx, c.Param("set"), from)
	if err != nil {
		return err
	}
	b, err := m.Store.Version(ctx, c.Param("set"), to)
	if err != nil {
		return err
	}
	d, err := policies.Diff(a, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) listPolicyActivations(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	if _, err := m.Store.Set(c.Request().Context(), c.Param("set")); err != nil {
		return err
	}
	as, err := m.Store.Activations(c.Request().Context(), c.Param("set"), 100)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, itemsOf(as))
}

// evaluateResponse is the answer of POST /api/policies/evaluate.
type evaluateResponse struct {
	policies.Outcome
	DecisionID string `json:"decisionId"`
}

func (s *Server) evaluatePolicies(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	var body struct {
		Target policies.Target `json:"target"`
		Input  any             `json:"input"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if body.Target != policies.Admission && body.Target != policies.Service {
		return paved.Invalid("invalid evaluation", paved.Detail{Field: "target", Reason: `want "admission" or "service"`})
	}
	if _, ok := body.Input.(map[string]any); !ok {
		return paved.Invalid("invalid evaluation", paved.Detail{Field: "input", Reason: "want a JSON object"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.policies.EvalTimeout)
	defer cancel()
	o, id, err := m.Decide(ctx, body.Target, body.Input, s.policies.Decisions)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, evaluateResponse{Outcome: o, DecisionID: id})
}

func (s *Server) listPolicyDecisions(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	q := c.QueryParams()
	f := policies.DecisionFilter{Source: q.Get("source"), Target: q.Get("target"), Kind: q.Get("kind"), Namespace: q.Get("namespace"),
		Name: q.Get("name"), Operation: q.Get("operation"), User: q.Get("user"), Policy: q.Get("policy"), Cursor: q.Get("cursor")}
	if v := q.Get("allowed"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return paved.Invalid("invalid filter", paved.Detail{Field: "allowed", Reason: "want true or false"})
		}
		f.Allowed = &b
	}
	for field, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(field); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return paved.Invalid("invalid filter", paved.Detail{Field: field, Reason: "want an RFC 3339 time such as 2026-11-22T10:00:00Z"})
			}
			*dst = t
		}
	}
	if f.Limit, err = intParam("limit", q.Get("limit"), 50, 1, policies.MaxDecisionPage); err != nil {
		return err
	}
	page, err := m.Store.Decisions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) policyAudit(c echo.Context) error {
	m, err := s.policyManager()
	if err != nil {
		return err
	}
	q := c.QueryParams()
	f := policies.AuditFilter{Namespace: q.Get("namespace"), Kind: q.Get("kind"), Policy: q.Get("policy")}
	if f.Limit, err = intParam("limit", q.Get("limit"), 100, 1, 1000); err != nil {
		return err
	}
	if f.Offset, err = intParam("offset", q.Get("offset"), 0, 0, math.MaxInt32); err != nil {
		return err
	}
	rep, err := m.Store.Audit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := auditAnswer{AuditReport: rep}
	if m.Live == nil {
		out.Cluster = "not configured: set --kubeconfig (or run in a pod) to audit live objects"
	}
	return c.JSON(http.StatusOK, out)
}

// auditAnswer is the answer of GET /audit: the last run's results and,
// without a cluster, why there are none.
type auditAnswer struct {
	policies.AuditReport
	Cluster string `json:"cluster,omitempty"`
}

// versionRoute reads the manager and the {version} of a version route.
func (s *Server) versionRoute(c echo.Context) (*policies.Manager, int, error) {
	m, err := s.policyManager()
	if err != nil {
		return nil, 0, err
	}
	n, err := versionParam("version", c.Param("version"))
	return m, n, err
}

// versionParam reads a version number (1 or more); it is required.
func versionParam(name, value string) (int, error) {
	if value == "" {
		return 0, paved.Invalid("invalid "+name, paved.Detail{Field: name, Reason: "want a version number (1 or more)"})
	}
	return intParam(name, value, 0, 1, math.MaxInt32)
}
