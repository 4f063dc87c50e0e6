package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/logging"
	"github.com/paved-dev/paved/scaffolder/provision"
)

// Provisioning is what the provisioning API needs.
type Provisioning struct {
	Provisioner *provision.Provisioner
	// Reconciler runs the scheduled passes; nil without a cluster.
	Reconciler *provision.Reconciler
}

func (s *Server) provisioner() (*provision.Provisioner, error) {
	p := s.provisioning.Provisioner
	if p == nil || !p.Enabled() {
		return nil, provision.ErrOff
	}
	return p, nil
}

// provisioningStatus says whether provisioning is on and how it is set up,
// so pages and tools can explain a 503 before hitting it.
func (s *Server) provisioningStatus(c echo.Context) error {
	p := s.provisioning.Provisioner
	if p == nil || !p.Enabled() {
		return c.JSON(http.StatusOK, map[string]any{"enabled": false, "reason": provision.ErrOff.Message})
	}
	st := p.Settings()
	out := map[string]any{
		"enabled":           true,
		"clusters":          p.ClusterNames(),
		"environments":      st.Environments,
		"namespacePattern":  st.NamespacePattern,
		"mesh":              st.Mesh,
		"reconcileInterval": st.ReconcileInterval.String(),
		"pipelines":         []string{provision.ArgoCD, provision.Tekton, provision.Flux},
	}
	if r := s.provisioning.Reconciler; r != nil {
		out["reconciler"] = map[string]any{"identity": r.Identity, "leading": r.Leading(), "passes": r.Passes(), "corrected": r.Corrected()}
	}
	return c.JSON(http.StatusOK, out)
}

// applyErrorBody is the 422 answer to a request the cluster refused
// part-way: the error and every environment's objects with their states.
type applyErrorBody struct {
	errorBody
	Items []provision.Environment `json:"items"`
}

func (s *Server) provisionEnvironments(c echo.Context) error {
	p, err := s.provisioner()
	if err != nil {
		return err
	}
	var req provision.Request
	if err := bindStrictJSON(c, &req); err != nil {
		return err
	}
	envs, err := p.Provision(c.Request().Context(), req)
	var ae *provision.ApplyError
	if errors.As(err, &ae) {
		status, body := errorResponse(err, c.Request())
		body.Error.RequestID = logging.RequestID(c.Request().Context())
		return c.JSON(status, applyErrorBody{errorBody: body, Items: ae.Environments})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"items": envs})
}

func (s *Server) listEnvironments(c echo.Context) error {
	p, err := s.provisioner()
	if err != nil {
		return err
	}
	q := c.QueryParams()
	for k := range q {
		if k != "service" && k != "team" && k != "cluster" {
			return paved.Invalid("unknown query parameter", paved.Detail{Field: k, Reason: "accepted: service, team, cluster"})
		}
	}
	envs, err := p.List(c.Request().Context(), provision.Filter{Service: q.Get("service"), Team: q.Get("team"), Cluster: q.Get("cluster")})
	if err != nil {
		return err
	}
	if envs == nil {
		envs = []provision.Environment{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": envs})
}

func (s *Server) getEnvironment(c echo.Context) error {
	p, err := s.provisioner()
	if err != nil {
		return err
	}
	e, drift, err := p.Get(c.Request().Context(), c.Param("service"), c.Param("env"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"environment": e, "drift": nonNilDrift(drift)})
}

func (s *Server) reconcileEnvironment(c echo.Context) error {
	p, err := s.provisioner()
	if err != nil {
		return err
	}
	e, corrected, err := p.Reconcile(c.Request().Context(), c.Param("service"), c.Param("env"))
	if err != nil && e.Service == "" {
		return err
	}
	if err != nil {
		// A refusal is part of the outcome: answer the error with the
		// objects' states and what was corrected before it.
		status, body := errorResponse(err, c.Request())
		body.Error.RequestID = logging.RequestID(c.Request().Context())
		return c.JSON(status, reconcileErrorBody{errorBody: body, Environment: e, Corrected: nonNilDrift(corrected)})
	}
	return c.JSON(http.StatusOK, map[string]any{"environment": e, "corrected": nonNilDrift(corrected)})
}

type reconcileErrorBody struct {
	errorBody
	Environment provision.Environment  `json:"environment"`
	Corrected   []provision.DriftEvent `json:"corrected"`
}

func (s *Server) deprovisionEnvironment(c echo.Context) error {
	p, err := s.provisioner()
	if err != nil {
		return err
	}
	var body struct {
		Confirm string `json:"confirm"`
	}
	if err := bindStrictJSON(c, &body); err != nil {
		return err
	}
	out, err := p.Deprovision(c.Request().Context(), c.Param("service"), c.Param("env"), body.Confirm)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// bindStrictJSON decodes a JSON body, refusing unknown fields so a typo is
// an error rather than a silently ignored setting.
func bindStrictJSON(c echo.Context, v any) error {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return paved.Errorf(paved.CodeTooLarge, "request body is larger than %s", maxBodyBytes)
		}
		return paved.Invalid("cannot read the request body", paved.Detail{Field: "body", Reason: err.Error()})
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return paved.Invalid("request body is empty", paved.Detail{Field: "body", Reason: "want a JSON object"})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return paved.Invalid("request body is not valid", paved.Detail{Field: "body", Reason: strings.TrimPrefix(err.Error(), "json: ")})
	}
	return nil
}

func nonNilDrift(d []provision.DriftEvent) []provision.DriftEvent {
	if d == nil {
		return []provision.DriftEvent{}
	}
	return d
}
