package contract

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

// ErrNoOperation is returned for a path at which the contract has no operation.
var ErrNoOperation = errors.New("no operation of the contract at this path")

// MethodNotAllowedError is returned for a method the contract does not define at a path it has.
type MethodNotAllowedError struct {
	Allow string // the methods it defines there, as an Allow header lists them
}

func (e *MethodNotAllowedError) Error() string { return "this path answers " + e.Allow + " only" }

// RequestError is a request that breaks the contract; Err is kin-openapi's account of it.
type RequestError struct{ Err error }

func (e *RequestError) Error() string { return "the request breaks the contract: " + e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// operation is the contract's operation a request is for, found once by FindOperation.
type operation struct {
	route  *routers.Route
	params map[string]string // percent-decoded
}

const operationKey = "contract.operation"

func operationOf(c echo.Context) *operation {
	op, _ := c.Get(operationKey).(*operation)
	return op
}

// FindOperation matches the request to the contract's operation, once, for what follows: else
// ErrNoOperation, or a MethodNotAllowedError.
func (c *Contract) FindOperation(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		req := ec.Request()
		route, params, err := c.router.FindRoute(req)
		if err != nil {
			if allow := c.allowed(req); errors.Is(err, routers.ErrMethodNotAllowed) && allow != "" {
				return &MethodNotAllowedError{Allow: allow}
			}
			return ErrNoOperation
		}
		// The router matches the encoded path (UseEncodedPath); the validators want the values.
		for name, value := range params {
			if decoded, err := url.PathUnescape(value); err == nil {
				params[name] = decoded
			}
		}
		ec.Set(operationKey, &operation{route: route, params: params})
		return next(ec)
	}
}

// allowed lists the methods the contract defines at the request's path, "" for none.
func (c *Contract) allowed(req *http.Request) string {
	var allow []string
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace} {
		r := req.Clone(req.Context())
		r.Method = method
		if _, _, err := c.router.FindRoute(r); err == nil {
			allow = append(allow, method)
		}
	}
	return strings.Join(allow, ", ")
}

// ValidateRequest checks every parameter of the request at once, then its security requirement
// (the form of the credentials, by authenticate); FindOperation runs first.
func (c *Contract) ValidateRequest(authenticate openapi3filter.AuthenticationFunc) echo.MiddlewareFunc {
	// KeepValidatedValue: of two keys differing only in case, the handler gets the checked one.
	options := &openapi3filter.Options{KeepValidatedValue: true, MultiError: true, AuthenticationFunc: authenticate}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			op := operationOf(ec)
			if op == nil {
				return errors.New("contract: ValidateRequest runs after FindOperation")
			}
			req := ec.Request()
			if err := openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
				Request: req, PathParams: op.params, Route: op.route, Options: options,
			}); err != nil {
				return &RequestError{Err: err}
			}
			return next(ec)
		}
	}
}
