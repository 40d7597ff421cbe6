package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/reqid"
)

// Mode says what happens to a response that breaks the contract.
type Mode string

// The response validation modes.
const (
	// Enforce replaces a response that breaks the contract with a 500 problem: it is never sent.
	Enforce Mode = "enforce"
	// Log sends the response anyway, and logs and counts the failure.
	Log Mode = "log"
	// Off validates nothing.
	Off Mode = "off"
)

// ParseMode parses a --response-validation value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Enforce, Log, Off:
		return m, nil
	}
	return "", fmt.Errorf("response validation mode %q: want enforce, log or off", s)
}

// DefaultCacheEntries is how many validated response bodies are remembered by default.
const DefaultCacheEntries = 4096

// ResponseValidator checks every response of the API against the contract before it leaves.
//
// Validating a body with kin-openapi costs about 14 times as much as encoding it, and this
// service sends the same bodies again and again. So a body that passed is remembered by a
// SHA-256 digest of the exact bytes, together with the operation, status and Content-Type it was
// validated for; the cache belongs to one loaded contract. A remembered body still has its status
// and headers checked on every response.
type ResponseValidator struct {
	contract *Contract
	mode     Mode
	log      *slog.Logger
	metrics  *metrics.Metrics
	passed   *lru.Cache[[sha256.Size]byte, struct{}]
	problem  *openapi3.Schema
}

// NewResponseValidator returns a validator in the given mode that remembers up to cacheEntries
// validated bodies (0 remembers none).
func (c *Contract) NewResponseValidator(mode Mode, cacheEntries int, log *slog.Logger, m *metrics.Metrics) (*ResponseValidator, error) {
	v := &ResponseValidator{contract: c, mode: mode, log: log, metrics: m}
	if cacheEntries > 0 {
		cache, err := lru.New[[sha256.Size]byte, struct{}](cacheEntries)
		if err != nil {
			return nil, fmt.Errorf("response validation cache: %w", err)
		}
		v.passed = cache
	}
	ref := c.Doc.Components.Schemas["Problem"]
	if ref == nil || ref.Value == nil {
		return nil, errors.New("embedded spec has no Problem schema")
	}
	v.problem = ref.Value
	return v, nil
}

// Middleware buffers the response of everything after it, errors rendered by the error handler
// included, validates it, and then sends it or (in enforce mode) a 500 problem instead.
func (v *ResponseValidator) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	if v.mode == Off {
		return next
	}
	return func(c echo.Context) error {
		res := c.Response()
		out := res.Writer
		buf := &bufferedWriter{header: out.Header(), body: bodyBuffers.Get().(*bytes.Buffer)}
		defer func() {
			if buf.body.Cap() <= maxPooledBuffer {
				buf.body.Reset()
				bodyBuffers.Put(buf.body)
			}
		}()
		res.Writer = buf
		if err := next(c); err != nil {
			c.Error(err) // render into the buffer, so error bodies are validated too
		}
		res.Writer = out

		status := buf.status
		if status == 0 {
			status = http.StatusOK
		}
		operation, failure := v.validate(c.Request(), status, out.Header(), buf.body.Bytes())
		if failure != nil {
			v.report(c.Request(), operation, status, failure)
			if v.mode == Enforce {
				v.replace(c, out)
				return nil
			}
		}
		out.Header().Set("Content-Length", strconv.Itoa(buf.body.Len()))
		out.WriteHeader(status)
		_, err := out.Write(buf.body.Bytes())
		return err
	}
}

// validate checks one response. It returns the operation it was checked against ("" outside
// the contract's operations) and the failure, if any.
func (v *ResponseValidator) validate(req *http.Request, status int, header http.Header, body []byte) (string, error) {
	route, params, err := v.contract.router.FindRoute(req)
	if err != nil {
		// Unknown route or method: the answer must still be problem details.
		return "", v.validateProblem(req, status, header, body)
	}
	operation := route.Operation.OperationID
	key := digest(operation, status, header.Get("Content-Type"), body)
	known := v.passed != nil && v.passed.Contains(key)

	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			ExcludeResponseBody:   known,
		},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return operation, err
	}
	if v.passed != nil {
		if known {
			v.metrics.ResponseValidationCache.WithLabelValues("hit").Inc()
		} else {
			v.metrics.ResponseValidationCache.WithLabelValues("miss").Inc()
			v.passed.Add(key, struct{}{})
		}
	}
	return operation, nil
}

func (v *ResponseValidator) validateProblem(req *http.Request, status int, header http.Header, body []byte) error {
	if status < http.StatusBadRequest {
		return fmt.Errorf("status %d answers a request outside the contract", status)
	}
	if ct := header.Get("Content-Type"); ct != problem.ContentType {
		return fmt.Errorf("content type %q, want %s", ct, problem.ContentType)
	}
	if req.Method == http.MethodHead {
		return nil // a HEAD answer has no body
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return v.problem.VisitJSON(value, openapi3.VisitAsResponse())
}

// report logs and counts a failure. It logs where the response broke the contract, never the
// offending value: that may be exactly the secret the check kept from leaving.
func (v *ResponseValidator) report(req *http.Request, operation string, status int, failure error) {
	v.metrics.ResponseValidationFailures.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	pointer, reason := describe(failure)
	v.log.ErrorContext(req.Context(), "response breaks the contract",
		"request_id", reqid.FromContext(req.Context()),
		"operation", operation,
		"status", status,
		"pointer", pointer,
		"reason", reason,
		"mode", string(v.mode))
}

// replace sends a 500 problem instead of the response that failed.
func (v *ResponseValidator) replace(c echo.Context, out http.ResponseWriter) {
	h := out.Header()
	for name := range h {
		if name != reqid.Header && name != "Cache-Control" {
			h.Del(name)
		}
	}
	p := &problem.Error{Kind: problem.Internal, Detail: "The service failed to answer; the failure has been logged."}
	problem.Write(out, c.Request(), p, reqid.FromContext(c.Request().Context()))
	c.Response().Status = p.Kind.Status
}

// describe returns the JSON pointer and reason of a validation failure without its value.
func describe(err error) (pointer, reason string) {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return "/" + strings.Join(escapePointer(se.JSONPointer()), "/"), se.Reason
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		return "", re.Reason
	}
	return "", "does not match the contract"
}

// digest identifies a body validated for an operation, status and content type.
func digest(operation string, status int, contentType string, body []byte) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00", operation, status, contentType)
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// bufferedWriter holds a response until it has been validated. Headers go straight to the real
// writer's map, which is only flushed when the status is written.
type bufferedWriter struct {
	header http.Header
	status int
	body   *bytes.Buffer
}

// bodyBuffers recycles response buffers: large bodies would otherwise be allocated, grown and
// cleared anew for every response.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps the buffers of rare huge responses from staying in the pool.
const maxPooledBuffer = 8 << 20

func (w *bufferedWriter) Header() http.Header { return w.header }

func (w *bufferedWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}
