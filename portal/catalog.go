package portal

import (
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
)

// Catalog is what the catalog API needs.
type Catalog struct {
	Store    *catalog.Store
	Ingester *catalog.Ingester
	// Queue runs refreshes; nil refreshes inline (tests, CLI).
	Queue catalog.Enqueuer
}

// entitiesPage is the by-query response.
type entitiesPage struct {
	Items      []catalog.Raw `json:"items"`
	TotalItems int           `json:"totalItems"`
	PageInfo   pageInfo      `json:"pageInfo"`
}

type pageInfo struct {
	NextCursor string `json:"nextCursor,omitempty"`
	PrevCursor string `json:"prevCursor,omitempty"`
}

// queryRequest is a by-query request: Backstage's query parameters (GET)
// or the same as a JSON body (POST), for filters too long for a URL.
type queryRequest struct {
	Filter         []string `json:"filter"`
	Fields         []string `json:"fields"`
	OrderField     []string `json:"orderField"`
	Limit          *int     `json:"limit"`
	Cursor         string   `json:"cursor"`
	FullTextFilter struct {
		Term   string   `json:"term"`
		Fields []string `json:"fields"`
	} `json:"fullTextFilter"`
}

// queryEntities serves GET /entities/by-query.
func (s *Server) queryEntities(c echo.Context) error {
	p := c.QueryParams()
	r := queryRequest{Filter: p["filter"], Fields: p["fields"], OrderField: p["orderField"], Cursor: p.Get("cursor")}
	r.FullTextFilter.Term, r.FullTextFilter.Fields = p.Get("fullTextFilterTerm"), p["fullTextFilterFields"]
	if v := p.Get("limit"); v != "" {
		n, err := intParam("limit", v, 0, 0, math.MaxInt32)
		if err != nil {
			return err
		}
		r.Limit = &n
	}
	return s.respondPage(c, r)
}

// queryEntitiesPost serves POST /entities/by-query.
func (s *Server) queryEntitiesPost(c echo.Context) error {
	var r queryRequest
	if err := bindBackstageJSON(c, &r); err != nil {
		return err
	}
	return s.respondPage(c, r)
}

func (s *Server) respondPage(c echo.Context, r queryRequest) error {
	q, err := r.query()
	if err != nil {
		return err
	}
	page, err := s.catalog.Store.QueryEntities(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := entitiesPage{Items: project(page.Items, splitList(r.Fields)), TotalItems: page.TotalItems}
	if page.Next != nil {
		out.PageInfo.NextCursor = catalog.EncodeCursor(page.Next)
	}
	if page.Prev != nil {
		out.PageInfo.PrevCursor = catalog.EncodeCursor(page.Prev)
	}
	return c.JSON(http.StatusOK, out)
}

// query reads the request as a catalog query. A cursor carries the query
// of its page; only limit and fields may change alongside it, and, as on
// Backstage, a cursor without a limit continues without one.
func (r queryRequest) query() (catalog.Query, error) {
	limit := 0 // none: everything, up to catalog.MaxLimit
	if r.Limit != nil {
		if *r.Limit < 0 {
			return catalog.Query{}, paved.Invalid("invalid limit", paved.Detail{Field: "limit", Reason: fmt.Sprintf("%d is not a number from 0 to %d", *r.Limit, math.MaxInt32)})
		}
		limit = *r.Limit
	}
	if r.Cursor != "" {
		q, err := catalog.DecodeCursor(r.Cursor)
		q.Limit = limit
		return q, err
	}
	f, err := catalog.ParseFilter(r.Filter)
	if err != nil {
		return catalog.Query{}, err
	}
	order, err := orderFields(r.OrderField)
	if err != nil {
		return catalog.Query{}, err
	}
	return catalog.Query{Filter: f, Order: order, Limit: limit,
		FullText: r.FullTextFilter.Term, FullTextFields: splitList(r.FullTextFilter.Fields)}, nil
}

func orderFields(params []string) ([]catalog.OrderField, error) {
	var out []catalog.OrderField
	for _, p := range params {
		key, dir, _ := strings.Cut(p, ",")
		if strings.TrimSpace(key) == "" || (dir != "" && dir != "asc" && dir != "desc") {
			return nil, paved.Invalid("invalid orderField", paved.Detail{Field: "orderField", Reason: p + ` is not "key", "key,asc" or "key,desc"`})
		}
		out = append(out, catalog.OrderField{Key: strings.TrimSpace(key), Desc: dir == "desc"})
	}
	return out, nil
}

// splitList accepts both repeated parameters and comma-separated lists.
func splitList(ss []string) []string {
	var out []string
	for _, s := range ss {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func project(items []catalog.Raw, fields []string) []catalog.Raw {
	out := make([]catalog.Raw, len(items))
	for i, it := range items {
		out[i] = catalog.Project(it, fields)
	}
	return out
}

// listEntities serves the older GET /entities: a bare array, with offset,
// limit and order=asc:key, which getEntities in catalog-client uses.
func (s *Server) listEntities(c echo.Context) error {
	p := c.QueryParams()
	f, err := catalog.ParseFilter(p["filter"])
	if err != nil {
		return err
	}
	limit, err := intParam("limit", p.Get("limit"), catalog.MaxLimit, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	offset, err := intParam("offset", p.Get("offset"), 0, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	var order []catalog.OrderField
	for _, o := range splitList(p["order"]) {
		dir, key, ok := strings.Cut(o, ":")
		if !ok || (dir != "asc" && dir != "desc") {
			return paved.Invalid("invalid order", paved.Detail{Field: "order", Reason: o + ` is not "asc:key" or "desc:key"`})
		}
		order = append(order, catalog.OrderField{Key: key, Desc: dir == "desc"})
	}
	page, err := s.catalog.Store.QueryEntities(c.Request().Context(), catalog.Query{Filter: f, Order: order, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, project(page.Items, splitList(p["fields"])))
}

// entityByName serves GET /entities/by-name/:kind/:namespace/:name.
func (s *Server) entityByName(c echo.Context) error {
	ref := catalog.Ref{Kind: c.Param("kind"), Namespace: c.Param("namespace"), Name: c.Param("name")}
	e, err := s.catalog.Store.EntityByRef(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

// entityByUID serves GET /entities/by-uid/:uid.
func (s *Server) entityByUID(c echo.Context) error {
	e, err := s.catalog.Store.EntityByUID(c.Request().Context(), c.Param("uid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

// deleteEntityByUID serves DELETE /entities/by-uid/:uid.
func (s *Server) deleteEntityByUID(c echo.Context) error {
	if err := s.catalog.Store.DeleteEntity(c.Request().Context(), c.Param("uid")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// entitiesByRefs serves POST /entities/by-refs: items in the order asked,
// null for refs that name nothing.
func (s *Server) entitiesByRefs(c echo.Context) error {
	var body struct {
		EntityRefs []string `json:"entityRefs"`
		Fields     []string `json:"fields"`
	}
	if err := bindBackstageJSON(c, &body); err != nil {
		return err
	}
	list, err := s.catalog.Store.EntitiesByRefs(c.Request().Context(), body.EntityRefs)
	if err != nil {
		return err
	}
	fields := append(body.Fields, splitList(c.QueryParams()["fields"])...)
	// Unknown refs stay null: itemsOf would turn only a nil list into [].
	return c.JSON(http.StatusOK, items[catalog.Raw]{Items: project(list, fields)})
}

// entityFacets serves GET /entity-facets.
func (s *Server) entityFacets(c echo.Context) error {
	p := c.QueryParams()
	facets := splitList(p["facet"])
	if len(facets) == 0 {
		return paved.Invalid("missing facet", paved.Detail{Field: "facet", Reason: "name at least one key, e.g. facet=spec.type"})
	}
	f, err := catalog.ParseFilter(p["filter"])
	if err != nil {
		return err
	}
	out, err := s.catalog.Store.Facets(c.Request().Context(), facets, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, facetsAnswer{Facets: out})
}

// facetsAnswer is the answer of GET /entity-facets.
type facetsAnswer struct {
	Facets map[string][]catalog.Facet `json:"facets"`
}
