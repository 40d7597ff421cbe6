package server

import (
	"mime"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/problem"
)

// noStore keeps customer data, which is personal data, out of every cache.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// hygiene answers 406 unless the client takes JSON, then 400 to a body (or a Content-Type
// announcing one): the API's operations are GETs.
func hygiene(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !acceptsJSON(req.Header.Values("Accept")) {
			return problem.New(problem.NotAcceptable, "This API answers in application/json (errors in application/problem+json) only.")
		}
		if req.ContentLength != 0 || len(req.TransferEncoding) > 0 || req.Header.Get("Content-Type") != "" {
			return &problem.Error{Kind: problem.InvalidRequest, Detail: "This operation takes no request body.",
				InvalidParams: []gen.InvalidParam{{In: gen.InvalidParamInBody, Name: "", Reason: "must be absent, with no Content-Type"}}}
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
