package problem

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/reqid"
)

// Instance is the problem's instance URI for a request id.
func Instance(requestID string) string { return "urn:customer-api:request:" + requestID }

// Handler is the service's one echo.HTTPErrorHandler: every error, from any layer, leaves as
// problem details. Failures of the service itself are logged with the request id; the client
// gets no internal detail.
func Handler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		req := c.Request()
		id := reqid.FromContext(req.Context())
		p := FromError(err)
		// A request whose client went away fails with context.Canceled: the access log records
		// it as 499; it is no failure of the service.
		clientGone := errors.Is(err, context.Canceled) && req.Context().Err() != nil
		if p.Kind.Status >= http.StatusInternalServerError && !clientGone {
			log.ErrorContext(req.Context(), "request failed",
				"request_id", id, "method", req.Method, "route", c.Path(),
				"status", p.Kind.Status, "error", err.Error())
		}
		if c.Response().Committed {
			return
		}
		Write(c.Response(), req, p, id)
	}
}

// Write renders p as the response.
func Write(w http.ResponseWriter, req *http.Request, p *Error, requestID string) {
	h := w.Header()
	for k, v := range p.Header {
		h[k] = v
	}
	h.Set("Content-Type", ContentType)
	w.WriteHeader(p.Kind.Status)
	if req.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(p.Body(Instance(requestID), requestID))
}
