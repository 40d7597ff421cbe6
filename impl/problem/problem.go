// Package problem turns every error into RFC 9457 problem details: one Kind per kind of failure,
// with a stable type URI, and one classifier (FromError) over the errors of the service's
// packages, Echo, kin-openapi and the store. Nothing else builds an error body.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/gen"
)

// ContentType is the media type of every error body.
const ContentType = "application/problem+json"

// RequestIDHeader carries the request id that a problem's instance and requestId repeat.
const RequestIDHeader = "X-Request-Id"

// Kind is one kind of problem: its type URI suffix, its title and its HTTP status.
type Kind struct {
	Slug   string
	Title  string
	Status int
}

// TypeURI is the stable URI that identifies the kind.
func (k Kind) TypeURI() string { return "https://customer-api.cyrexa.dev/problems/" + k.Slug }

// The kinds of problem the service reports.
var (
	InvalidRequest   = Kind{"invalid-request", "Invalid request", http.StatusBadRequest}
	Unauthorized     = Kind{"unauthorized", "Unauthorized", http.StatusUnauthorized}
	Forbidden        = Kind{"forbidden", "Forbidden", http.StatusForbidden}
	NotFound         = Kind{"not-found", "Not found", http.StatusNotFound}
	MethodNotAllowed = Kind{"method-not-allowed", "Method not allowed", http.StatusMethodNotAllowed}
	NotAcceptable    = Kind{"not-acceptable", "Not acceptable", http.StatusNotAcceptable}
	TooManyRequests  = Kind{"too-many-requests", "Too many requests", http.StatusTooManyRequests}
	Internal         = Kind{"internal", "Internal server error", http.StatusInternalServerError}
	Unavailable      = Kind{"unavailable", "Service unavailable", http.StatusServiceUnavailable}
)

// Error is an error that knows how it is shown: Detail and InvalidParams are sent, Header
// (WWW-Authenticate, Retry-After, Allow) set; Cause is only logged.
type Error struct {
	Kind          Kind
	Detail        string
	InvalidParams []gen.InvalidParam
	Header        http.Header
	Cause         error
}

// New returns a problem of the given kind.
func New(kind Kind, detail string) *Error { return &Error{Kind: kind, Detail: detail} }

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind.Title, e.Detail, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Kind.Title, e.Detail)
}

func (e *Error) Unwrap() error { return e.Cause }

// Handler is the service's echo.HTTPErrorHandler: every error leaves as problem details, and a
// failure of the service is logged (with the request's context), never detailed to the client.
func Handler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		req := c.Request()
		p := FromError(err)
		// A client that went away fails its request with context.Canceled: no failure of ours.
		clientGone := errors.Is(err, context.Canceled) && req.Context().Err() != nil
		if p.Kind.Status >= http.StatusInternalServerError && !clientGone {
			log.ErrorContext(req.Context(), "request failed",
				"method", req.Method, "route", c.Path(), "status", p.Kind.Status, "error", err.Error())
		}
		if !c.Response().Committed {
			Write(c.Response(), req, p)
		}
	}
}

// Write renders p as the response, under the request id the response's header carries.
func Write(w http.ResponseWriter, req *http.Request, p *Error) {
	h := w.Header()
	maps.Copy(h, p.Header)
	h.Set("Content-Type", ContentType)
	w.WriteHeader(p.Kind.Status)
	if req.Method == http.MethodHead {
		return
	}
	id := h.Get(RequestIDHeader)
	instance := "urn:customer-api:request:" + id
	body := gen.Problem{Type: p.Kind.TypeURI(), Title: p.Kind.Title, Status: p.Kind.Status, Detail: &p.Detail, Instance: &instance}
	if id != "" {
		body.RequestId = &id
	}
	if len(p.InvalidParams) > 0 {
		body.InvalidParams = &p.InvalidParams
	}
	_ = json.NewEncoder(w).Encode(body)
}
