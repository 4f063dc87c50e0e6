package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
)

// items is a list answer: {"items": [...]}, never null.
type items[T any] struct {
	Items []T `json:"items"`
}

func itemsOf[T any](list []T) items[T] {
	if list == nil {
		list = []T{}
	}
	return items[T]{Items: list}
}

// bindJSON decodes the JSON body of one of Paved's own routes into v.
// Unknown fields are errors, so a typo is a 400 naming the field rather
// than a silently ignored setting.
func bindJSON(c echo.Context, v any) error { return decodeBody(c, v, true) }

// bindBackstageJSON decodes the body of a route of Backstage's API, whose
// clients send fields Paved does not read (Backstage ignores them too).
func bindBackstageJSON(c echo.Context, v any) error { return decodeBody(c, v, false) }

// decodeBody reads the whole body (bounded by the body-limit middleware)
// and decodes one JSON value from it. A body declared as anything but JSON
// is refused unread; one without a Content-Type is read as JSON.
func decodeBody(c echo.Context, v any, strict bool) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" && !isJSON(ct) {
		return paved.Errorf(paved.CodeUnsupportedMedia, "this route reads JSON: send the body as Content-Type: application/json")
	}
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
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return paved.Invalid("request body is not valid", paved.Detail{Field: "body", Reason: strings.TrimPrefix(err.Error(), "json: ")})
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return paved.Invalid("request body is not valid", paved.Detail{Field: "body", Reason: "more than one JSON value"})
	}
	return nil
}

// isJSON reports whether a Content-Type is application/json or a JSON
// type such as application/merge-patch+json.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == echo.MIMEApplicationJSON || strings.HasSuffix(mt, "+json"))
}

// intParam reads the integer parameter name from value: def when empty,
// otherwise a number from min to max.
func intParam(name, value string, def, min, max int) (int, error) {
	if value == "" {
		return def, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < min || n > max {
		return 0, paved.Invalid("invalid "+name, paved.Detail{Field: name, Reason: fmt.Sprintf("%q is not a number from %d to %d", value, min, max)})
	}
	return n, nil
}
