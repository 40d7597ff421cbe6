package problem

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/store"
)

// RetryAfterSeconds is what a 503 asks clients to wait.
const RetryAfterSeconds = "5"

// bearerChallenge is the WWW-Authenticate value of a refused bearer token (RFC 6750, 3): the
// error code, and the scope needed for insufficient_scope. A 401 says nothing more: nothing
// that tells an attacker which check failed.
func bearerChallenge(code, scope string) string {
	challenge := `Bearer realm="customer-api", error="` + code + `"`
	if scope != "" {
		challenge += `, scope="` + scope + `"`
	}
	return challenge
}

// FromError classifies any error the service meets. It is the one place where errors of Echo,
// kin-openapi and the store become problem details.
func FromError(err error) *Error {
	var p *Error
	if errors.As(err, &p) {
		return p
	}
	if p := fromDomain(err); p != nil {
		return p
	}
	if isValidationError(err) {
		return fromValidation(err)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if he.Internal != nil && isValidationError(he.Internal) {
			return fromValidation(he.Internal)
		}
		return fromStatus(he.Code, err)
	}
	switch {
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &Error{
			Kind:   Unavailable,
			Detail: "The customer store is unreachable; retry later.",
			Header: http.Header{"Retry-After": {RetryAfterSeconds}},
			Cause:  err,
		}
	}
	return &Error{Kind: Internal, Detail: "The service failed to answer; the failure has been logged.", Cause: err}
}

// fromDomain maps the read path's domain errors (contract, listing), nil for others.
func fromDomain(err error) *Error {
	var method *contract.MethodNotAllowedError
	var request *contract.RequestError
	var busy *listing.BusyError
	switch {
	case errors.Is(err, contract.ErrNoOperation):
		return &Error{Kind: NotFound, Detail: "No resource exists at this path.", Cause: err}
	case errors.As(err, &method):
		return &Error{Kind: MethodNotAllowed, Detail: "This resource answers " + method.Allow + " only.",
			Header: http.Header{"Allow": {method.Allow}}, Cause: err}
	case errors.As(err, &request):
		return fromValidation(request.Err)
	case errors.As(err, &busy):
		detail := "The service is busy with other large reads; retry later."
		if errors.Is(busy.Err, listing.ErrSpoolFull) {
			detail = "The service is busy with other large answers; retry later."
		}
		return &Error{Kind: Unavailable, Detail: detail, Cause: err,
			Header: http.Header{"Retry-After": {strconv.Itoa(int(busy.RetryAfter / time.Second))}}}
	}
	return nil
}

// fromStatus covers the errors Echo raises itself (no route, wrong method, body limit) and
// HTTP errors other middleware returns.
func fromStatus(status int, cause error) *Error {
	switch status {
	case http.StatusNotFound:
		return &Error{Kind: NotFound, Detail: "No resource exists at this path.", Cause: cause}
	case http.StatusMethodNotAllowed:
		return &Error{Kind: MethodNotAllowed, Detail: "This resource does not answer this method.", Cause: cause}
	case http.StatusRequestEntityTooLarge:
		return &Error{Kind: TooLarge, Detail: "The request is too large.", Cause: cause}
	case http.StatusUnauthorized:
		return Unauthenticated(cause)
	case http.StatusForbidden:
		return &Error{Kind: Forbidden, Detail: "The credentials do not allow this request.", Cause: cause}
	case http.StatusTooManyRequests:
		return &Error{Kind: TooManyRequests, Detail: "Too many requests; retry later.", Cause: cause}
	case http.StatusServiceUnavailable:
		return &Error{Kind: Unavailable, Detail: "The service cannot answer right now; retry later.",
			Header: http.Header{"Retry-After": {RetryAfterSeconds}}, Cause: cause}
	}
	if status >= 400 && status < 500 {
		return &Error{Kind: InvalidRequest, Detail: "The request cannot be served as sent.", Cause: cause}
	}
	return &Error{Kind: Internal, Detail: "The service failed to answer; the failure has been logged.", Cause: cause}
}

// Unauthenticated is the one answer to every failed credential check.
func Unauthenticated(cause error) *Error {
	return &Error{
		Kind:   Unauthorized,
		Detail: "A valid bearer access token and API token are required.",
		Header: http.Header{"WWW-Authenticate": {bearerChallenge("invalid_token", "")}},
		Cause:  cause,
	}
}

// InsufficientScope is the answer to a verified access token that lacks the scope needed.
func InsufficientScope(scope string) *Error {
	return &Error{
		Kind:   Forbidden,
		Detail: "The access token lacks the " + scope + " scope.",
		Header: http.Header{"WWW-Authenticate": {bearerChallenge("insufficient_scope", scope)}},
	}
}

func isValidationError(err error) bool {
	var me openapi3.MultiError
	var re *openapi3filter.RequestError
	var se *openapi3filter.SecurityRequirementsError
	return errors.As(err, &me) || errors.As(err, &re) || errors.As(err, &se)
}

// fromValidation turns kin-openapi's request validation errors into a 400 that names every
// offending parameter, or a 401 when a security requirement failed. Reasons are written here
// rather than taken from kin-openapi's messages, which may quote the value sent.
func fromValidation(err error) *Error {
	var params []gen.InvalidParam
	for _, e := range flatten(err) {
		var se *openapi3filter.SecurityRequirementsError
		if errors.As(e, &se) {
			return Unauthenticated(err)
		}
		var re *openapi3filter.RequestError
		if !errors.As(e, &re) {
			continue
		}
		switch {
		case re.Parameter != nil:
			params = append(params, gen.InvalidParam{
				In:     gen.InvalidParamIn(re.Parameter.In),
				Name:   re.Parameter.Name,
				Reason: reason(re.Err),
			})
		case re.RequestBody != nil:
			params = append(params, gen.InvalidParam{In: gen.InvalidParamInBody, Name: "", Reason: reason(re.Err)})
		}
	}
	detail := "The request does not match the API contract."
	if len(params) > 0 {
		names := make([]string, len(params))
		for i, p := range params {
			names[i] = fmt.Sprintf("%s %s %s", p.In, p.Name, p.Reason)
		}
		detail = "The request does not match the API contract: " + strings.Join(names, "; ") + "."
	}
	return &Error{Kind: InvalidRequest, Detail: detail, InvalidParams: params, Cause: err}
}

// flatten lists the errors of a (nested) MultiError. It looks at the error itself, not its
// chain: a RequestError wraps a MultiError of schema errors that belong to it.
func flatten(err error) []error {
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Internal != nil {
		err = he.Internal
	}
	me, ok := err.(openapi3.MultiError)
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range me {
		out = append(out, flatten(e)...)
	}
	return out
}

// reason says in words why a value was refused, without quoting it.
func reason(err error) string {
	var se *openapi3.SchemaError
	switch {
	case err == nil:
		return "is invalid"
	case errors.Is(err, openapi3filter.ErrInvalidRequired):
		return "is required but missing"
	case errors.Is(err, openapi3filter.ErrInvalidEmptyValue):
		return "must not be empty"
	case errors.As(err, &se):
		return schemaReason(se)
	}
	return "is invalid"
}

func schemaReason(se *openapi3.SchemaError) string {
	s := se.Schema
	switch {
	case s == nil:
	case se.SchemaField == "minLength":
		return fmt.Sprintf("must be at least %d characters long", s.MinLength)
	case se.SchemaField == "maxLength" && s.MaxLength != nil:
		return fmt.Sprintf("must be at most %d characters long", *s.MaxLength)
	case se.SchemaField == "pattern":
		return fmt.Sprintf("must match the pattern %s", s.Pattern)
	case se.SchemaField == "type":
		return "must be a " + strings.Join(s.Type.Slice(), " or ")
	}
	if se.Reason != "" {
		return se.Reason
	}
	return "does not match the schema"
}
