package server

import (
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/problem"
)

// noStore keeps customer data, which is personal data, out of every cache.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// methodAllowed answers 405 with the Allow header the contract implies when the path is the
// contract's but the method is not.
func methodAllowed(c *contract.Contract) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			allowed := c.AllowedMethods(ec.Request())
			if len(allowed) > 0 && !slices.Contains(allowed, ec.Request().Method) {
				return &problem.Error{
					Kind:   problem.MethodNotAllowed,
					Detail: "This resource answers " + strings.Join(allowed, ", ") + " only.",
					Header: http.Header{"Allow": {strings.Join(allowed, ", ")}},
				}
			}
			return next(ec)
		}
	}
}

// acceptJSON answers 406 when the client accepts neither JSON nor problem details.
func acceptJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !acceptsJSON(c.Request().Header.Values("Accept")) {
			return problem.New(problem.NotAcceptable, "This API answers in application/json (errors in application/problem+json) only.")
		}
		return next(c)
	}
}

func acceptsJSON(accept []string) bool {
	if len(accept) == 0 {
		return true
	}
	for _, header := range accept {
		for _, part := range strings.Split(header, ",") {
			mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || refused(params["q"]) {
				continue
			}
			switch mediaType {
			case "*/*", "application/*", "application/json", problem.ContentType:
				return true
			}
		}
	}
	return false
}

// refused reports whether a quality value excludes its media range (q=0).
func refused(q string) bool {
	if q == "" {
		return false
	}
	v, err := strconv.ParseFloat(q, 64)
	return err != nil || v <= 0
}

// noRequestBody refuses a body (or a Content-Type announcing one) on the API's GET operations.
func noRequestBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength != 0 || len(req.TransferEncoding) > 0 || req.Header.Get("Content-Type") != "" {
			return &problem.Error{
				Kind:   problem.InvalidRequest,
				Detail: "This operation takes no request body.",
				InvalidParams: []gen.InvalidParam{{
					In: gen.InvalidParamInBody, Name: "", Reason: "must be absent, with no Content-Type",
				}},
			}
		}
		return next(c)
	}
}

// credentialHeaders must appear at most once: with two values, which one a layer reads is a
// matter of chance, and a check passed on one could be bypassed with the other.
var credentialHeaders = []string{"Authorization", "Token", "Tenantid"}

func singleCredentialHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var params []gen.InvalidParam
		for _, name := range credentialHeaders {
			if len(c.Request().Header.Values(name)) > 1 {
				params = append(params, gen.InvalidParam{
					In: gen.InvalidParamInHeader, Name: headerName(name), Reason: "must be sent once",
				})
			}
		}
		if len(params) > 0 {
			return &problem.Error{
				Kind:          problem.InvalidRequest,
				Detail:        "A credential header was sent more than once.",
				InvalidParams: params,
			}
		}
		return next(c)
	}
}

// headerName spells a header as the contract does.
func headerName(canonical string) string {
	switch canonical {
	case "Token":
		return "token"
	case "Tenantid":
		return "tenantId"
	}
	return canonical
}
