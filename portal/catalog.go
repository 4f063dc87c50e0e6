package portal

import (
	"net/http"
	"strconv"
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

// queryEntities serves GET /entities/by-query.
func (s *Server) queryEntities(c echo.Context) error {
	q, fields, err := queryFromParams(c.QueryParams())
	if err != nil {
		return err
	}
	return s.respondPage(c, q, fields)
}

// queryEntitiesPost serves POST /entities/by-query with the same parameters
// in a JSON body, for filters too long for a URL.
func (s *Server) queryEntitiesPost(c echo.Context) error {
	var body struct {
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
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	params := map[string][]string{"filter": body.Filter, "fields": body.Fields, "orderField": body.OrderField,
		"fullTextFilterTerm": {body.FullTextFilter.Term}, "fullTextFilterFields": body.FullTextFilter.Fields}
	if body.Limit != nil {
		params["limit"] = []string{strconv.Itoa(*body.Limit)}
	}
	if body.Cursor != "" {
		params["cursor"] = []string{body.Cursor}
	}
	q, fields, err := queryFromParams(params)
	if err != nil {
		return err
	}
	return s.respondPage(c, q, fields)
}

func (s *Server) respondPage(c echo.Context, q catalog.Query, fields []string) error {
	page, err := s.catalog.Store.QueryEntities(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := entitiesPage{Items: project(page.Items, fields), TotalItems: page.TotalItems}
	if page.Next != nil {
		out.PageInfo.NextCursor = catalog.EncodeCursor(page.Next)
	}
	if page.Prev != nil {
		out.PageInfo.PrevCursor = catalog.EncodeCursor(page.Prev)
	}
	return c.JSON(http.StatusOK, out)
}

// queryFromParams reads Backstage's by-query parameters. A cursor carries
// the query of its page; only limit and fields may change alongside it.
func queryFromParams(p map[string][]string) (catalog.Query, []string, error) {
	fields := splitList(p["fields"])
	limit, err := intParam(p, "limit", catalog.DefaultLimit)
	if err != nil {
		return catalog.Query{}, nil, err
	}
	if cur := first(p["cursor"]); cur != "" {
		q, err := catalog.DecodeCursor(cur)
		if len(p["limit"]) > 0 {
			q.Limit = limit
		}
		return q, fields, err
	}
	f, err := catalog.ParseFilter(p["filter"])
	if err != nil {
		return catalog.Query{}, nil, err
	}
	order, err := orderFields(p["orderField"])
	if err != nil {
		return catalog.Query{}, nil, err
	}
	q := catalog.Query{Filter: f, Order: order, Limit: limit,
		FullText: first(p["fullTextFilterTerm"]), FullTextFields: splitList(p["fullTextFilterFields"])}
	return q, fields, nil
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

func intParam(p map[string][]string, name string, def int) (int, error) {
	v := first(p[name])
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, paved.Invalid("invalid "+name, paved.Detail{Field: name, Reason: v + " is not a non-negative integer"})
	}
	return n, nil
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
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
	limit, err := intParam(p, "limit", catalog.MaxLimit)
	if err != nil {
		return err
	}
	offset, err := intParam(p, "offset", 0)
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
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	items, err := s.catalog.Store.EntitiesByRefs(c.Request().Context(), body.EntityRefs)
	if err != nil {
		return err
	}
	fields := append(body.Fields, splitList(c.QueryParams()["fields"])...)
	return c.JSON(http.StatusOK, map[string]any{"items": project(items, fields)})
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
	return c.JSON(http.StatusOK, map[string]any{"facets": out})
}

// bindJSON decodes a JSON body, naming what is wrong with it.
func bindJSON(c echo.Context, v any) error {
	if err := (&echo.DefaultBinder{}).BindBody(c, v); err != nil {
		if he, ok := err.(*echo.HTTPError); ok && he.Code == http.StatusRequestEntityTooLarge {
			return err
		}
		return paved.Invalid("request body is not valid JSON", paved.Detail{Field: "body", Reason: err.Error()})
	}
	return nil
}
