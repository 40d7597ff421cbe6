package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/cyrexa/customer-api/impl/audit"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/reqid"
)

// StatusClientClosedRequest is the status the access log records for a request whose client
// went away before the answer reached it (nginx's 499). It is never sent.
const StatusClientClosedRequest = 499

// bufferBeforeChunking is how much net/http buffers before it must choose between
// Content-Length and chunked framing (its bufferBeforeChunkingSize).
const bufferBeforeChunking = 2048

// accessLog writes one audit line per request: who (tenant, subject), what (route,
// organization), how it ended (status, customers returned, the bytes really written and the
// write error if any, latency), which credential check refused it (auth_failure, also counted
// in customer_api_auth_failures_total) and the request id. It logs no header and no body: those
// carry credentials and personal data. A client that went away is logged at info as 499; a
// response that could not be written (a write timeout) at warn, with the error; a response
// aborted by its handler after its first bytes (a panic with http.ErrAbortHandler) at warn, marked
// aborted.
func accessLog(log *slog.Logger, m *metrics.Metrics) echo.MiddlewareFunc {
	for _, r := range auth.Reasons {
		m.AuthFailures.WithLabelValues(string(r)) // every reason shows, at 0, from the start
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			ctx, record := audit.NewContext(c.Request().Context())
			c.SetRequest(c.Request().WithContext(ctx))
			res := c.Response()
			w := &errorRecorder{ResponseWriter: res.Writer}
			res.Writer = w
			aborted := true
			defer func() {
				if aborted { // the handler aborted the answer: log it, then let the abort go on
					res.Writer = w.ResponseWriter
					writeLine(log, m, c, record, w, start, true)
				}
			}()
			if err := next(c); err != nil {
				// Render now, so the line below sees the final status.
				c.Error(err)
			}
			aborted = false
			flushWritten(res, w)
			res.Writer = w.ResponseWriter
			writeLine(log, m, c, record, w, start, false)
			return nil
		}
	}
}

// writeLine writes the access line of a request and counts it.
func writeLine(log *slog.Logger, m *metrics.Metrics, c echo.Context, record *audit.Record, w *errorRecorder, start time.Time, aborted bool) {
	req, res := c.Request(), c.Response()
	elapsed := time.Since(start)
	status, level := res.Status, slog.LevelInfo
	switch {
	case clientGone(req.Context(), status, w.err):
		status = StatusClientClosedRequest
	case w.err != nil, aborted:
		level = slog.LevelWarn
	}
	reason := record.AuthFailure
	if reason == "" && status == http.StatusUnauthorized {
		// Refused by the request validator: no bearer, or another scheme.
		reason = string(auth.ReasonMalformed)
	}
	if reason != "" {
		m.AuthFailures.WithLabelValues(reason).Inc()
	}
	m.Requests.WithLabelValues(c.Path(), strconv.Itoa(status)).Inc()
	m.RequestDuration.WithLabelValues(c.Path()).Observe(elapsed.Seconds())
	attrs := []slog.Attr{
		slog.String("request_id", reqid.FromContext(req.Context())),
		slog.String("method", req.Method),
		slog.String("route", c.Path()),
		slog.Int("status", status),
		slog.String("tenant", record.Tenant),
		slog.String("subject", record.Subject),
		slog.String("organization", record.Organization),
		slog.Int("customers", record.Customers),
		slog.Int64("bytes", res.Size),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if reason != "" {
		attrs = append(attrs, slog.String("auth_failure", reason))
	}
	if w.err != nil {
		attrs = append(attrs, slog.String("write_error", w.err.Error()))
	}
	if aborted {
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	if span := trace.SpanFromContext(req.Context()); span.IsRecording() {
		span.SetName(req.Method + " " + c.Path())
		span.SetAttributes(attribute.String("http.route", c.Path()))
	}
	log.LogAttrs(req.Context(), level, "request", attrs...)
}

// flushWritten pushes what net/http still buffers to the connection, so that a failure to
// write it shows in the log line. It leaves alone a small response without Content-Length:
// net/http frames that one with a Content-Length only if nothing flushes it early.
func flushWritten(res *echo.Response, w *errorRecorder) {
	if w.err != nil || res.Size == 0 {
		return
	}
	if res.Header().Get("Content-Length") == "" && res.Size <= bufferBeforeChunking {
		return
	}
	if err := http.NewResponseController(w.ResponseWriter).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		w.err = err
	}
}

// clientGone reports whether the client closed the connection before it had the whole answer:
// writing to it failed because it was closed, or the request failed (a 5xx) because its client
// went away first. A request whose context ended after its answer was written, as it does when
// a client reads the answer and closes, got its answer.
func clientGone(ctx context.Context, status int, writeErr error) bool {
	return errors.Is(writeErr, syscall.EPIPE) || errors.Is(writeErr, syscall.ECONNRESET) || errors.Is(writeErr, net.ErrClosed) ||
		status >= http.StatusInternalServerError && errors.Is(ctx.Err(), context.Canceled)
}

// errorRecorder keeps the first error of writing the response. Echo's Response counts the bytes
// each write really took.
type errorRecorder struct {
	http.ResponseWriter
	err error
}

func (w *errorRecorder) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *errorRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
