package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/problem"
)

// statusClientClosedRequest is logged, never sent, for a client that went away (nginx's 499).
const statusClientClosedRequest = 499

// bufferBeforeChunking is what net/http buffers before choosing Content-Length or chunked.
const bufferBeforeChunking = 2048

var wellFormedID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// exchange is what the access log learns of its request, beside the request: created by the
// access log, written by the error handler (err, the error problem rendered) and the API
// handler (customers) only, read by the access log and the log handler (id).
type exchange struct {
	id        string
	customers int
	err       error
}

type exchangeKey struct{}

func exchangeOf(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// withRequestID adds request_id to every record logged with a request's context.
func withRequestID(ctx context.Context, r slog.Record) slog.Record {
	if x := exchangeOf(ctx); x != nil {
		r.AddAttrs(slog.String("request_id", x.id))
	}
	return r
}

// accessLog gives the request its id (the client's X-Request-Id when well-formed) and writes
// one line per request: who, what, how it ended and which credential check refused it; never a
// header or a body. A client gone is logged at info as 499; a failed write or an aborted answer
// at warn.
func accessLog(log *slog.Logger, m *Metrics) echo.MiddlewareFunc {
	for _, r := range auth.Reasons {
		m.AuthFailures.WithLabelValues(string(r)) // every reason shows, at 0, from the start
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			req := c.Request()
			x := &exchange{id: req.Header.Get(problem.RequestIDHeader)}
			if !wellFormedID.MatchString(x.id) {
				var b [16]byte
				_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
				x.id = hex.EncodeToString(b[:])
			}
			c.SetRequest(req.WithContext(context.WithValue(req.Context(), exchangeKey{}, x)))
			res := c.Response()
			res.Header().Set(problem.RequestIDHeader, x.id)
			w := &errorRecorder{ResponseWriter: res.Writer}
			res.Writer = w
			aborted := true // until next returns: a handler's abort is logged, then goes on
			defer func() {
				res.Writer = w.ResponseWriter
				writeLine(log, m, c, x, w, start, aborted)
			}()
			if err := next(c); err != nil {
				c.Error(err) // render now, so the line sees the final status
			}
			flushWritten(res, w)
			aborted = false
			return nil
		}
	}
}

func writeLine(log *slog.Logger, m *Metrics, c echo.Context, x *exchange, w *errorRecorder, start time.Time, aborted bool) {
	req, res := c.Request(), c.Response()
	elapsed := time.Since(start)
	status, level := res.Status, slog.LevelInfo
	switch {
	case clientGone(req.Context(), status, w.err):
		status = statusClientClosedRequest
	case w.err != nil, aborted:
		level = slog.LevelWarn
	}
	// Who: the verified identity, or the refusal problem rendered.
	id, verified := auth.FromContext(req.Context())
	var refused *auth.Failure
	if errors.As(x.err, &refused) && !verified {
		id.Subject = refused.Subject
	}
	m.Requests.WithLabelValues(c.Path(), strconv.Itoa(status)).Inc()
	m.RequestDuration.WithLabelValues(c.Path()).Observe(elapsed.Seconds())
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("route", c.Path()),
		slog.Int("status", status),
		slog.String("tenant", id.TenantID),
		slog.String("subject", id.Subject),
		slog.String("organization", c.Param("organizationId")),
		slog.Int("customers", x.customers),
		slog.Int64("bytes", res.Size),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if refused != nil && refused.Reason != "" {
		m.AuthFailures.WithLabelValues(string(refused.Reason)).Inc()
		attrs = append(attrs, slog.String("auth_failure", string(refused.Reason)))
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

// flushWritten pushes what net/http buffers to the connection, so a failed write shows in the
// line; not a small response without Content-Length, which a flush would make chunked.
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

// clientGone reports whether the client left before it had the whole answer: a write failed on
// the closed connection, or the request failed (5xx) after its context was canceled.
func clientGone(ctx context.Context, status int, writeErr error) bool {
	return errors.Is(writeErr, syscall.EPIPE) || errors.Is(writeErr, syscall.ECONNRESET) || errors.Is(writeErr, net.ErrClosed) ||
		status >= http.StatusInternalServerError && errors.Is(ctx.Err(), context.Canceled)
}

// errorRecorder keeps the first error of writing the response (Echo's Response counts bytes).
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
