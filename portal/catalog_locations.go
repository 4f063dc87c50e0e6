package portal

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
)

// locationJSON is a location as Backstage's API shows it.
type locationJSON struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Target string `json:"target"`
}

func toLocationJSON(l *catalog.Location) locationJSON {
	return locationJSON{ID: l.ID, Type: l.Type, Target: l.PublicTarget()}
}

// listLocations serves GET /locations: [{"data": location}], Backstage's shape.
func (s *Server) listLocations(c echo.Context) error {
	locs, err := s.catalog.Store.Locations(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]locationItem, len(locs))
	for i, l := range locs {
		out[i] = locationItem{Data: toLocationJSON(l)}
	}
	return c.JSON(http.StatusOK, out)
}

// locationItem is one element of GET /locations.
type locationItem struct {
	Data locationJSON `json:"data"`
}

// createdLocation is the answer of POST /locations: the location and the
// entities it holds (none yet, unless a dry run read them). Exists is set
// by dry runs only.
type createdLocation struct {
	Location locationJSON  `json:"location"`
	Entities []catalog.Raw `json:"entities"`
	Exists   *bool         `json:"exists,omitempty"`
}

// getLocation serves GET /locations/:id.
func (s *Server) getLocation(c echo.Context) error {
	loc, err := s.catalog.Store.Location(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toLocationJSON(loc))
}

// deleteLocation serves DELETE /locations/:id; its entities become orphans.
func (s *Server) deleteLocation(c echo.Context) error {
	if err := s.catalog.Store.DeleteLocation(c.Request().Context(), c.Param("id"), s.catalog.Ingester.Apply); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// createLocation serves POST /locations. With ?dryRun=true it reads the
// location and returns the entities it would create, storing nothing;
// otherwise it registers the location and queues its first refresh.
func (s *Server) createLocation(c echo.Context) error {
	var body struct {
		Type   string `json:"type"`
		Target string `json:"target"`
	}
	if err := bindBackstageJSON(c, &body); err != nil {
		return err
	}
	if body.Type == "" {
		body.Type = catalog.LocationURL
	}
	if err := catalog.ValidateLocation(body.Type, body.Target); err != nil {
		return err
	}
	if err := s.catalog.Ingester.CheckTarget(body.Target); err != nil {
		return err
	}
	ctx := c.Request().Context()
	existing, err := s.catalog.Store.LocationByTarget(ctx, body.Type, body.Target)
	exists := err == nil
	if err != nil && paved.ErrorCode(err) != paved.CodeNotFound {
		return err
	}
	if c.QueryParam("dryRun") == "true" {
		return s.dryRunLocation(c, body.Type, body.Target, existing)
	}
	if exists {
		return paved.Errorf(paved.CodeConflict, "location %s:%s already exists (id %s)", body.Type, existing.PublicTarget(), existing.ID)
	}
	loc, err := s.catalog.Store.CreateLocation(ctx, body.Type, body.Target)
	if err != nil {
		return err
	}
	if err := s.refreshLocation(c, loc, true); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdLocation{Location: toLocationJSON(loc), Entities: []catalog.Raw{}})
}

func (s *Server) dryRunLocation(c echo.Context, typ, target string, existing *catalog.Location) error {
	em, problems, err := s.catalog.Ingester.DryRun(c.Request().Context(), typ, target)
	if err != nil {
		return readError(err)
	}
	if len(problems) > 0 {
		details := make([]paved.Detail, len(problems))
		for i, p := range problems {
			details[i] = paved.Detail{Field: "target", Reason: p}
		}
		return &paved.Error{Code: paved.CodeUnprocessable, Message: "the location holds invalid entities", Details: details}
	}
	loc := toLocationJSON(&catalog.Location{Type: typ, Target: target})
	if existing != nil {
		loc = toLocationJSON(existing)
	}
	entities := em.Entities
	if entities == nil {
		entities = []catalog.Raw{}
	}
	exists := existing != nil
	return c.JSON(http.StatusCreated, createdLocation{Location: loc, Entities: entities, Exists: &exists})
}

// readError classifies why a location could not be read.
func readError(err error) error {
	var syn *catalog.SyntaxError
	if errors.As(err, &syn) {
		return paved.Invalid("invalid YAML", paved.Detail{Field: "document " + strconv.Itoa(syn.Document), Line: syn.Line, Reason: err.Error()})
	}
	if paved.ErrorCode(err) == paved.CodeForbidden {
		return paved.Errorf(paved.CodeForbidden, "cannot read the location: %w", err)
	}
	return paved.Errorf(paved.CodeUnprocessable, "cannot read the location: %v", err)
}

// refreshLocation queues a refresh, or runs it now when there is no queue.
// The location row is what makes a refresh happen (the scheduler refreshes
// due locations), so a failed enqueue only delays it and is not an error.
func (s *Server) refreshLocation(c echo.Context, loc *catalog.Location, force bool) error {
	if s.catalog.Queue != nil {
		if _, err := s.catalog.Queue.Insert(c.Request().Context(), catalog.RefreshArgs{LocationID: loc.ID, Force: force}, nil); err != nil {
			s.log.WarnContext(c.Request().Context(), "enqueue refresh; the scheduler will retry", "location", loc.ID, "err", err)
		}
		return nil
	}
	_, err := s.catalog.Ingester.Refresh(c.Request().Context(), loc, force)
	if err != nil {
		s.log.WarnContext(c.Request().Context(), "location refresh failed", "location", loc.PublicTarget(), "err", err)
	}
	return nil
}

// refresh serves POST /refresh {"entityRef": "..."}: refresh the location
// that provides the entity.
func (s *Server) refresh(c echo.Context) error {
	var body struct {
		EntityRef string `json:"entityRef"`
	}
	if err := bindBackstageJSON(c, &body); err != nil {
		return err
	}
	ref, err := catalog.ParseRef(body.EntityRef, "", "")
	if err != nil {
		return paved.Invalid("invalid entityRef", paved.Detail{Field: "entityRef", Reason: err.Error()})
	}
	e, err := s.catalog.Store.EntityByRef(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	ann, _ := e.Metadata()["annotations"].(map[string]any)
	managed, _ := ann[catalog.AnnotationOriginLocation].(string) // the registered location; managed-by-location is its file
	typ, target, ok := strings.Cut(managed, ":")
	if !ok {
		return paved.Errorf(paved.CodeConflict, "%s has no location to refresh from", ref)
	}
	loc, err := s.catalog.Store.LocationByTarget(c.Request().Context(), typ, target)
	if err != nil {
		return err
	}
	if err := s.refreshLocation(c, loc, true); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// validateEntity serves POST /validate-entity. It takes Backstage's JSON
// body {"entity": {...}, "location": "..."}, or YAML (Content-Type
// application/yaml) with any number of documents. Invalid YAML is a 400
// naming the document and line; an invalid entity a 422 listing every field
// error (JSON pointer, line when known, reason), also as Backstage's
// "errors" list.
func (s *Server) validateEntity(c echo.Context) error {
	docs, err := validationInput(c)
	if err != nil {
		return err
	}
	var details []paved.Detail
	for _, d := range docs {
		for _, fe := range catalog.Validate(d.Value) {
			field := fe.Pointer
			if len(docs) > 1 {
				field = "document " + strconv.Itoa(d.Index) + " " + field
			}
			details = append(details, paved.Detail{Field: field, Line: d.Position(fe.Pointer).Line, Reason: fe.Reason})
		}
	}
	if len(details) == 0 {
		return c.JSON(http.StatusOK, struct{}{})
	}
	errs := make([]backstageError, len(details))
	for i, d := range details {
		errs[i] = backstageError{Name: "InputError", Message: d.String()}
	}
	// 400, as Backstage answers: its catalog-client's validateEntity reads
	// the errors only from a 400 and throws on anything else.
	return &paved.Error{Code: paved.CodeInvalid, Message: "the entity is invalid", Details: details, Payload: backstageErrors{errs}}
}

// backstageErrors is Backstage's error list, which its clients read from
// the body of a failed validate-entity.
type backstageErrors struct {
	Errors []backstageError `json:"errors"`
}

// backstageError is a serialized error as Backstage's backend sends it.
type backstageError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

func validationInput(c echo.Context) ([]catalog.Document, error) {
	data, err := io.ReadAll(io.LimitReader(c.Request().Body, catalog.MaxDocumentBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > catalog.MaxDocumentBytes {
		return nil, paved.Errorf(paved.CodeTooLarge, "the document is larger than %d bytes", catalog.MaxDocumentBytes)
	}
	docs, err := catalog.ParseDocuments(data) // JSON is YAML too
	if err != nil {
		return nil, readError(err)
	}
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if strings.HasPrefix(ct, echo.MIMEApplicationJSON) && len(docs) == 1 {
		if m, ok := docs[0].Value.(map[string]any); ok {
			if entity, ok := m["entity"]; ok {
				// Backstage's body: positions now refer to the wrapper; strip them.
				return []catalog.Document{{Value: entity}}, nil
			}
		}
	}
	return docs, nil
}
