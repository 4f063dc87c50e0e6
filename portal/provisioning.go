package portal

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
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

// provisioningState is the answer of GET /api/provisioning: whether
// provisioning is on and how it is set up, so pages and tools can explain
// a 503 before hitting it.
type provisioningState struct {
	Enabled           bool                `json:"enabled"`
	Reason            string              `json:"reason,omitempty"`
	Clusters          []string            `json:"clusters,omitempty"`
	Environments      []provision.Profile `json:"environments,omitempty"`
	NamespacePattern  string              `json:"namespacePattern,omitempty"`
	Mesh              string              `json:"mesh,omitempty"`
	ReconcileInterval string              `json:"reconcileInterval,omitempty"`
	Pipelines         []string            `json:"pipelines,omitempty"`
	Reconciler        *reconcilerState    `json:"reconciler,omitempty"`
}

type reconcilerState struct {
	Identity  string `json:"identity"`
	Leading   bool   `json:"leading"`
	Passes    int64  `json:"passes"`
	Corrected int64  `json:"corrected"`
}

func (s *Server) provisioningStatus(c echo.Context) error {
	p := s.provisioning.Provisioner
	if p == nil || !p.Enabled() {
		return c.JSON(http.StatusOK, provisioningState{Reason: provision.ErrOff.Message})
	}
	st := p.Settings()
	out := provisioningState{
		Enabled:           true,
		Clusters:          p.ClusterNames(),
		Environments:      st.Environments,
		NamespacePattern:  st.NamespacePattern,
		Mesh:              st.Mesh,
		ReconcileInterval: st.ReconcileInterval.String(),
		Pipelines:         []string{provision.ArgoCD, provision.Tekton, provision.Flux},
	}
	if r := s.provisioning.Reconciler; r != nil {
		out.Reconciler = &reconcilerState{Identity: r.Identity, Leading: r.Leading(), Passes: r.Passes(), Corrected: r.Corrected()}
	}
	return c.JSON(http.StatusOK, out)
}

// provisionEnvironments answers 201 with every environment; a request the
// cluster refused part-way is an error whose payload lists every
// environment's objects with their states.
func (s *Server) provisionEnvironments(c echo.Context) error {
	p, err := s.provisioner()
	if err != nil {
		return err
	}
	var req provision.Request
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	envs, err := p.Provision(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, itemsOf(envs))
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
	return c.JSON(http.StatusOK, itemsOf(envs))
}

// environmentAnswer is the answer of GET /environments/{service}/{env}.
type environmentAnswer struct {
	Environment provision.Environment  `json:"environment"`
	Drift       []provision.DriftEvent `json:"drift"`
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
	if drift == nil {
		drift = []provision.DriftEvent{}
	}
	return c.JSON(http.StatusOK, environmentAnswer{Environment: e, Drift: drift})
}

// reconcileEnvironment answers what was corrected; a refusal part-way is
// an error whose payload is the same answer.
func (s *Server) reconcileEnvironment(c echo.Context) error {
	p, err := s.provisioner()
	if err != nil {
		return err
	}
	out, err := p.Reconcile(c.Request().Context(), c.Param("service"), c.Param("env"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) deprovisionEnvironment(c echo.Context) error {
	p, err := s.provisioner()
	if err != nil {
		return err
	}
	var body struct {
		Confirm string `json:"confirm"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	out, err := p.Deprovision(c.Request().Context(), c.Param("service"), c.Param("env"), body.Confirm)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
