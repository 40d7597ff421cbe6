// Package problem turns every error the service meets into RFC 9457 problem details: one Kind per
// kind of failure, each with a stable type URI, and one classifier (FromError) that knows the
// errors of Echo, kin-openapi and the store. Nothing else in the service builds an error body.
package problem

import (
	"fmt"
	"net/http"

	"github.com/cyrexa/customer-api/gen"
)

// ContentType is the media type of every error body.
const ContentType = "application/problem+json"

// TypeBase prefixes every problem type URI.
const TypeBase = "https://customer-api.cyrexa.dev/problems/"

// Kind is one kind of problem: its type URI suffix, its title and its HTTP status.
type Kind struct {
	Slug   string
	Title  string
	Status int
}

// TypeURI is the stable URI that identifies the kind.
func (k Kind) TypeURI() string { return TypeBase + k.Slug }

// The kinds of problem the service reports.
var (
	InvalidRequest   = Kind{"invalid-request", "Invalid request", http.StatusBadRequest}
	Unauthorized     = Kind{"unauthorized", "Unauthorized", http.StatusUnauthorized}
	Forbidden        = Kind{"forbidden", "Forbidden", http.StatusForbidden}
	NotFound         = Kind{"not-found", "Not found", http.StatusNotFound}
	MethodNotAllowed = Kind{"method-not-allowed", "Method not allowed", http.StatusMethodNotAllowed}
	NotAcceptable    = Kind{"not-acceptable", "Not acceptable", http.StatusNotAcceptable}
	TooLarge         = Kind{"request-too-large", "Request too large", http.StatusRequestEntityTooLarge}
	TooManyRequests  = Kind{"too-many-requests", "Too many requests", http.StatusTooManyRequests}
	Internal         = Kind{"internal", "Internal server error", http.StatusInternalServerError}
	Unavailable      = Kind{"unavailable", "Service unavailable", http.StatusServiceUnavailable}
)

// Error is an error that knows how it is shown to a client. Detail and InvalidParams are sent;
// Cause is only logged.
type Error struct {
	Kind          Kind
	Detail        string
	InvalidParams []gen.InvalidParam
	// Header holds response headers the problem needs (WWW-Authenticate, Retry-After, Allow).
	Header http.Header
	Cause  error
}

// New returns a problem of the given kind.
func New(kind Kind, detail string) *Error {
	return &Error{Kind: kind, Detail: detail}
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind.Title, e.Detail, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Kind.Title, e.Detail)
}

func (e *Error) Unwrap() error { return e.Cause }

// Body renders the problem for the request at instance with the given request id.
func (e *Error) Body(instance, requestID string) gen.Problem {
	p := gen.Problem{
		Type:     e.Kind.TypeURI(),
		Title:    e.Kind.Title,
		Status:   e.Kind.Status,
		Detail:   &e.Detail,
		Instance: &instance,
	}
	if requestID != "" {
		p.RequestId = &requestID
	}
	if len(e.InvalidParams) > 0 {
		p.InvalidParams = &e.InvalidParams
	}
	return p
}
