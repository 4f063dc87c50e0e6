package portal

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/logging"
)

// statusByCode is the one place error codes become HTTP statuses.
var statusByCode = map[paved.Code]int{
	paved.CodeInvalid:          http.StatusBadRequest,
	paved.CodeUnprocessable:    http.StatusUnprocessableEntity,
	paved.CodeNotFound:         http.StatusNotFound,
	paved.CodeConflict:         http.StatusConflict,
	paved.CodeUnauthorized:     http.StatusUnauthorized,
	paved.CodeForbidden:        http.StatusForbidden,
	paved.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	paved.CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	paved.CodeUnavailable:      http.StatusServiceUnavailable,
	paved.CodeInternal:         http.StatusInternalServerError,
}

// codeByStatus classifies echo's own errors (unknown route, wrong method,
// body too large) in the same vocabulary.
var codeByStatus = map[int]paved.Code{
	http.StatusBadRequest:            paved.CodeInvalid,
	http.StatusNotFound:              paved.CodeNotFound,
	http.StatusMethodNotAllowed:      paved.CodeInvalid,
	http.StatusConflict:              paved.CodeConflict,
	http.StatusUnauthorized:          paved.CodeUnauthorized,
	http.StatusForbidden:             paved.CodeForbidden,
	http.StatusRequestEntityTooLarge: paved.CodeTooLarge,
	http.StatusUnsupportedMediaType:  paved.CodeUnsupportedMedia,
	http.StatusUnprocessableEntity:   paved.CodeUnprocessable,
	http.StatusServiceUnavailable:    paved.CodeUnavailable,
}

// errorPayload is the "error" object of every API error body. Beside it,
// the body holds the fields of the error's paved.Error Payload, if any.
type errorPayload struct {
	Code      paved.Code     `json:"code"`
	Message   string         `json:"message"`
	Details   []paved.Detail `json:"details,omitempty"`
	RequestID string         `json:"requestId,omitempty"`
}

// errorHandler is echo's HTTPErrorHandler: it turns any error a handler
// returns into the JSON error shape, and logs the ones that are Paved's fault.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, body := errorResponse(err, c.Request(), log)
		if status >= http.StatusInternalServerError {
			log.ErrorContext(c.Request().Context(), "request failed",
				"method", c.Request().Method, "route", c.Path(), "status", status, "err", err)
		}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = c.JSON(status, body)
		}
		if err != nil {
			log.WarnContext(c.Request().Context(), "write error response", "err", err)
		}
	}
}

// errorResponse is the one rendering of an error: its status and its JSON
// body, {"error": {...}} plus the fields of its payload.
func errorResponse(err error, r *http.Request, log *slog.Logger) (int, map[string]any) {
	status, e, payload := classify(err, r)
	e.RequestID = logging.RequestID(r.Context())
	body := map[string]any{}
	if payload != nil {
		fields, perr := payloadFields(payload)
		if perr != nil {
			log.ErrorContext(r.Context(), "error payload is not a JSON object", "err", perr)
		}
		for k, v := range fields {
			body[k] = v
		}
	}
	body["error"] = e
	return status, body
}

// statusClientClosed is nginx's 499: the client went away before the
// answer. It is not the server's fault, so it is neither logged as an
// error nor counted as a 5xx.
const statusClientClosed = 499

// classify maps err to its status, its "error" object and its payload.
func classify(err error, r *http.Request) (int, errorPayload, any) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return statusClientClosed, errorPayload{Code: paved.CodeInvalid, Message: "the client closed the request"}, nil
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code, ok := codeByStatus[he.Code]
		if !ok {
			code = paved.CodeInternal
		}
		return he.Code, errorPayload{Code: code, Message: echoErrorMessage(he, r)}, nil
	}
	code := paved.ErrorCode(err)
	out := errorPayload{Code: code, Message: paved.ErrorMessage(err)}
	var pe *paved.Error
	if !errors.As(err, &pe) {
		return statusByCode[code], out, nil
	}
	if code != paved.CodeInternal {
		out.Details = pe.Details
	}
	return statusByCode[code], out, pe.Payload
}

// payloadFields are the fields of payload's JSON object.
func payloadFields(payload any) (map[string]json.RawMessage, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	err = json.Unmarshal(data, &fields)
	return fields, err
}

// echoErrorMessage words echo's own errors for people: which route or method
// was wrong, rather than a bare status text.
func echoErrorMessage(he *echo.HTTPError, r *http.Request) string {
	switch {
	case errors.Is(he, echo.ErrNotFound):
		return "no such route: " + r.Method + " " + r.URL.Path
	case errors.Is(he, echo.ErrMethodNotAllowed):
		return "method " + r.Method + " is not allowed on " + r.URL.Path
	case he.Code >= http.StatusInternalServerError:
		return http.StatusText(he.Code)
	}
	if m, ok := he.Message.(string); ok {
		return m
	}
	return http.StatusText(he.Code)
}
