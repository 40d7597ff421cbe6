// Package reqid gives every request an id that the response, the log lines and the problem
// details share. A client's X-Request-Id is kept when it is well-formed; otherwise one is made.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"

	"github.com/labstack/echo/v4"
)

// Header is the request and response header that carries the id.
const Header = "X-Request-Id"

var wellFormed = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

type contextKey struct{}

// Middleware assigns the id, stores it in the request context and sets the response header.
func Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(Header)
		if !wellFormed.MatchString(id) {
			id = New()
		}
		req := c.Request()
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), contextKey{}, id)))
		c.Response().Header().Set(Header, id)
		return next(c)
	}
}

// New returns a fresh random id: 32 hex digits.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// FromContext returns the request's id, or "" outside a request.
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(contextKey{}).(string)
	return id
}
