package contract

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/problem"
)

// Operation is the contract's operation a request is for. FindOperation finds it once per
// request; the request validator and the response validator both use it.
type Operation struct {
	Route *routers.Route
	// PathParams are the path parameters, percent-decoded.
	PathParams map[string]string
}

// ID is the operation's operationId.
func (o *Operation) ID() string { return o.Route.Operation.OperationID }

// operationKey is where FindOperation leaves the operation in the Echo context.
const operationKey = "contract.operation"

// OperationOf returns the operation FindOperation found for the request, or nil.
func OperationOf(c echo.Context) *Operation {
	op, _ := c.Get(operationKey).(*Operation)
	return op
}

// FindOperation matches the request to the contract's operation, once, and shares it with what
// follows. A path the contract does not have is a 404; a method it does not define for the
// path is a 405 with the Allow list the contract implies.
func (c *Contract) FindOperation(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		req := ec.Request()
		route, params, err := c.router.FindRoute(req)
		if err != nil {
			if allowed := c.paths.allowed(req.URL.Path); errors.Is(err, routers.ErrMethodNotAllowed) && allowed != "" {
				return &problem.Error{
					Kind:   problem.MethodNotAllowed,
					Detail: "This resource answers " + allowed + " only.",
					Header: http.Header{"Allow": {allowed}},
				}
			}
			return problem.New(problem.NotFound, "No resource exists at this path.")
		}
		// The router matches the encoded path (UseEncodedPath); the validators want the values.
		for name, value := range params {
			if decoded, err := url.PathUnescape(value); err == nil {
				params[name] = decoded
			}
		}
		ec.Set(operationKey, &Operation{Route: route, PathParams: params})
		return next(ec)
	}
}

// ValidateRequest checks the request against its operation (found by FindOperation, which must
// run first) before a handler runs: every parameter at once, then the security requirement,
// which authenticate checks the form of. Its errors are classified by package problem.
func (c *Contract) ValidateRequest(authenticate openapi3filter.AuthenticationFunc) echo.MiddlewareFunc {
	options := &openapi3filter.Options{
		// Without it, of two keys differing only in case the handler may get the unchecked one.
		KeepValidatedValue: true,
		// Report every invalid parameter at once; the error handler names each.
		MultiError:         true,
		AuthenticationFunc: authenticate,
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			op := OperationOf(ec)
			if op == nil {
				return errors.New("contract: ValidateRequest runs after FindOperation")
			}
			req := ec.Request()
			err := openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
				Request: req, PathParams: op.PathParams, Route: op.Route, Options: options,
			})
			if err != nil {
				return err
			}
			return next(ec)
		}
	}
}

// pathMethods lists, for each path of the contract, the methods it defines: the Allow header of
// a 405, computed once at load.
type pathMethods []pathAllow

type pathAllow struct {
	segments []string // "/a/{id}" is ["a", "{id}"]
	allow    string   // "GET" or "GET, DELETE"
}

// allowMethodOrder is the order of the methods in an Allow header.
var allowMethodOrder = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace}

func newPathMethods(basePath string, paths *openapi3.Paths) pathMethods {
	var out pathMethods
	for template, item := range paths.Map() {
		var methods []string
		for _, method := range allowMethodOrder {
			if item.GetOperation(method) != nil {
				methods = append(methods, method)
			}
		}
		out = append(out, pathAllow{strings.Split(strings.TrimPrefix(basePath+template, "/"), "/"), strings.Join(methods, ", ")})
	}
	return out
}

// allowed returns the Allow list of the contract's path that path matches, "" for none.
func (p pathMethods) allowed(path string) string {
	segments := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, candidate := range p {
		if matchSegments(candidate.segments, segments) {
			return candidate.allow
		}
	}
	return ""
}

func matchSegments(template, path []string) bool {
	if len(template) != len(path) {
		return false
	}
	for i, t := range template {
		isParam := strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}")
		if (isParam && path[i] == "") || (!isParam && t != path[i]) {
			return false
		}
	}
	return true
}
