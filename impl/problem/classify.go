package problem

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/ratelimit"
	"github.com/cyrexa/customer-api/impl/store"
)

// RetryAfterSeconds is what a 503 asks clients to wait.
const RetryAfterSeconds = "5"

// FromError classifies any error the service meets: the one place where errors become answers.
// Refusals come before validation errors: kin-openapi wraps the bearer check's *auth.Failure.
func FromError(err error) *Error {
	var (
		p        *Error
		tooMany  *ratelimit.TooMany
		refused  *auth.Failure
		repeated *auth.RepeatedHeader
		method   *contract.MethodNotAllowedError
		request  *contract.RequestError
		he       *echo.HTTPError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &tooMany): // before refused: auth wraps the tenant's limit with its subject
		detail := "Rate limit exceeded; retry after " + strconv.Itoa(tooMany.RetryAfter) + " seconds."
		if tooMany.RetryAfter == 1 {
			detail = "Rate limit exceeded; retry after 1 second."
		}
		return &Error{Kind: TooManyRequests, Detail: detail, Header: http.Header{"Retry-After": {strconv.Itoa(tooMany.RetryAfter)}}, Cause: err}
	case errors.As(err, &refused) && refused.Reason == auth.ReasonMissingScope:
		return &Error{Kind: Forbidden, Detail: "The access token lacks the " + refused.Scope + " scope.",
			Header: http.Header{"WWW-Authenticate": {bearerChallenge("insufficient_scope", refused.Scope)}}, Cause: err}
	case errors.Is(err, auth.ErrForbidden):
		return &Error{Kind: Forbidden, Detail: "The access token does not grant access to this tenant.", Cause: err}
	case errors.As(err, &refused):
		return unauthenticated(err)
	case errors.As(err, &repeated):
		params := make([]gen.InvalidParam, len(repeated.Names))
		for i, name := range repeated.Names {
			params[i] = gen.InvalidParam{In: gen.InvalidParamInHeader, Name: name, Reason: "must be sent once"}
		}
		return &Error{Kind: InvalidRequest, Detail: "A credential header was sent more than once.", InvalidParams: params, Cause: err}
	case errors.Is(err, store.ErrNotFound): // the one thing a request names: its organization
		return &Error{Kind: NotFound, Detail: "No organization with this id exists for the tenant.", Cause: err}
	case errors.Is(err, contract.ErrNoOperation), errors.As(err, &he) && he.Code == http.StatusNotFound:
		return &Error{Kind: NotFound, Detail: "No resource exists at this path.", Cause: err}
	case errors.As(err, &method):
		return &Error{Kind: MethodNotAllowed, Detail: "This resource answers " + method.Allow + " only.",
			Header: http.Header{"Allow": {method.Allow}}, Cause: err}
	case errors.As(err, &request): // before isValidationError: the wrapper is no MultiError
		return fromValidation(request.Err)
	case errors.Is(err, listing.ErrNoReadSlot):
		return &Error{Kind: Unavailable, Detail: "The service is busy with other large reads; retry later.",
			Header: http.Header{"Retry-After": {RetryAfterSeconds}}, Cause: err}
	case errors.Is(err, listing.ErrSpoolFull):
		return &Error{Kind: Unavailable, Detail: "The service is busy with other large answers; retry later.",
			Header: http.Header{"Retry-After": {RetryAfterSeconds}}, Cause: err}
	case isValidationError(err): // inside an *echo.HTTPError too: it unwraps to its Internal
		return fromValidation(err)
	// Echo's own errors (wrong method) and the generated wrapper's 400s: no middleware the
	// service installs raises another status.
	case errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed:
		return &Error{Kind: MethodNotAllowed, Detail: "This resource does not answer this method.", Cause: err}
	case errors.As(err, &he) && he.Code >= 400 && he.Code < 500:
		return &Error{Kind: InvalidRequest, Detail: "The request cannot be served as sent.", Cause: err}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: Unavailable, Detail: "The customer store is unreachable; retry later.",
			Header: http.Header{"Retry-After": {RetryAfterSeconds}}, Cause: err}
	}
	return &Error{Kind: Internal, Detail: "The service failed to answer; the failure has been logged.", Cause: err}
}

// unauthenticated is the one answer to every failed credential check: it tells an attacker
// nothing of which check failed.
func unauthenticated(cause error) *Error {
	return &Error{Kind: Unauthorized, Detail: "A valid bearer access token and API token are required.",
		Header: http.Header{"WWW-Authenticate": {bearerChallenge("invalid_token", "")}}, Cause: cause}
}

// bearerChallenge is the WWW-Authenticate value of a refused bearer token (RFC 6750, 3).
func bearerChallenge(code, scope string) string {
	challenge := `Bearer realm="customer-api", error="` + code + `"`
	if scope != "" {
		challenge += `, scope="` + scope + `"`
	}
	return challenge
}

func isValidationError(err error) bool {
	var me openapi3.MultiError
	var re *openapi3filter.RequestError
	var se *openapi3filter.SecurityRequirementsError
	return errors.As(err, &me) || errors.As(err, &re) || errors.As(err, &se)
}

// fromValidation turns kin-openapi's request errors into a 400 naming every offending
// parameter, or a 401 for a failed security requirement. Reasons never quote the value sent.
func fromValidation(err error) *Error {
	var params []gen.InvalidParam
	var names []string
	for _, e := range flatten(err) {
		var se *openapi3filter.SecurityRequirementsError
		if errors.As(e, &se) {
			return unauthenticated(err)
		}
		// Parameters only: no operation of the contract takes a request body.
		var re *openapi3filter.RequestError
		if errors.As(e, &re) && re.Parameter != nil {
			p := gen.InvalidParam{In: gen.InvalidParamIn(re.Parameter.In), Name: re.Parameter.Name, Reason: reason(re.Err)}
			params = append(params, p)
			names = append(names, fmt.Sprintf("%s %s %s", p.In, p.Name, p.Reason))
		}
	}
	detail := "The request does not match the API contract."
	if len(names) > 0 {
		detail = "The request does not match the API contract: " + strings.Join(names, "; ") + "."
	}
	return &Error{Kind: InvalidRequest, Detail: detail, InvalidParams: params, Cause: err}
}

// flatten lists the errors of a nested MultiError, not of its chain: a RequestError wraps the
// schema errors that belong to it.
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
	case errors.Is(err, openapi3filter.ErrInvalidRequired):
		return "is required but missing"
	case errors.Is(err, openapi3filter.ErrInvalidEmptyValue):
		return "must not be empty"
	case !errors.As(err, &se):
		return "is invalid"
	case se.Schema == nil:
	case se.SchemaField == "minLength":
		return fmt.Sprintf("must be at least %d characters long", se.Schema.MinLength)
	case se.SchemaField == "maxLength" && se.Schema.MaxLength != nil:
		return fmt.Sprintf("must be at most %d characters long", *se.Schema.MaxLength)
	case se.SchemaField == "pattern":
		return fmt.Sprintf("must match the pattern %s", se.Schema.Pattern)
	case se.SchemaField == "type":
		return "must be a " + strings.Join(se.Schema.Type.Slice(), " or ")
	}
	return cmp.Or(se.Reason, "does not match the schema")
}
