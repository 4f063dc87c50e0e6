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
}
