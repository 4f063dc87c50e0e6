package portal

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved/internal/logging"
)

// requestIDHeader carries the id in and out. A caller's id is kept when it is
// short and plain, so traces can span tools; anything else is replaced, so
// logs cannot be forged through it.
const requestIDHeader = echo.HeaderXRequestID

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// withRequestID gives every request an id, in its context (where the
// logger finds it) and in the response header.
func withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(requestIDHeader)
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		req := c.Request()
		c.SetRequest(req.WithContext(logging.WithRequestID(req.Context(), id)))
		c.Response().Header().Set(requestIDHeader, id)
		return next(c)
	}
}
