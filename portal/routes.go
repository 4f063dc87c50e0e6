package portal

import (
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes registers every route of the server. Keep them all here, in one
// table, so the API surface can be read in one place.
func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))

	// The catalog, with Backstage's catalog API paths and shapes.
	cat := e.Group("/api/catalog")
	cat.GET("/entities", s.listEntities)
	cat.GET("/entities/by-query", s.queryEntities)
	cat.POST("/entities/by-query", s.queryEntitiesPost)
	cat.POST("/entities/by-refs", s.entitiesByRefs)
	cat.GET("/entities/by-name/:kind/:namespace/:name", s.entityByName)
	cat.GET("/entities/by-uid/:uid", s.entityByUID)
	cat.DELETE("/entities/by-uid/:uid", s.deleteEntityByUID)
	cat.GET("/entity-facets", s.entityFacets)
	cat.GET("/locations", s.listLocations)
	cat.POST("/locations", s.createLocation)
	cat.GET("/locations/:id", s.getLocation)
	cat.DELETE("/locations/:id", s.deleteLocation)
	cat.POST("/refresh", s.refresh)
	cat.POST("/validate-entity", s.validateEntity)
	cat.POST("/webhooks/git", s.gitWebhook)

	// Policy-as-code. The admission webhook is served on its own TLS
	// listener (ServeWebhook), not here.
	pol := e.Group("/api/policies")
	pol.GET("/sets", s.listPolicySets)
	pol.GET("/sets/:set", s.getPolicySet)
	pol.GET("/sets/:set/versions", s.listPolicyVersions)
	pol.POST("/sets/:set/versions", s.createPolicyVersion)
	pol.GET("/sets/:set/versions/:version", s.getPolicyVersion)
	pol.POST("/sets/:set/versions/:version/test", s.testPolicyVersion)
	pol.POST("/sets/:set/versions/:version/preview", s.previewPolicyVersion)
	pol.POST("/sets/:set/versions/:version/activate", s.activatePolicyVersion)
	pol.POST("/sets/:set/rollback", s.rollbackPolicySet)
	pol.GET("/sets/:set/diff", s.diffPolicyVersions)
	pol.GET("/sets/:set/activations", s.listPolicyActivations)
	pol.POST("/validate", s.validatePolicies)
	pol.POST("/evaluate", s.evaluatePolicies)
	pol.GET("/decisions", s.listPolicyDecisions)
	pol.GET("/audit", s.policyAudit)

	// Provisioning: namespaces and pipelines per service and environment.
	prov := e.Group("/api/provisioning")
	prov.GET("", s.provisioningStatus)
	prov.POST("/environments", s.provisionEnvironments)
	prov.GET("/environments", s.listEnvironments)
	prov.GET("/environments/:service/:env", s.getEnvironment)
	prov.POST("/environments/:service/:env/reconcile", s.reconcileEnvironment)
	prov.DELETE("/environments/:service/:env", s.deprovisionEnvironment)

	// The scaffolder, with Backstage's scaffolder API paths and shapes.
	sc := e.Group("/api/scaffolder/v2")
	sc.GET("/templates/:namespace/:kind/:name/parameter-schema", s.parameterSchema)
	sc.GET("/actions", s.listActions)
	sc.POST("/dry-run", s.dryRun)
	sc.POST("/tasks", s.createTask)
	sc.GET("/tasks", s.listTasks)
	sc.GET("/tasks/:taskId", s.getTask)
	sc.POST("/tasks/:taskId/cancel", s.cancelTask)
	sc.POST("/tasks/:taskId/retry", s.retryTask)
	sc.GET("/tasks/:taskId/events", s.taskEvents)
	sc.GET("/tasks/:taskId/eventstream", s.taskEventStream)
}
