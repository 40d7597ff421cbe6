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
	gojson "github.com/goccy/go-json"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

// Mode says what happens to a response that breaks the contract.
type Mode string

// The response validation modes.
const (
	// Enforce replaces a response that breaks the contract with a 500 problem, or aborts it when
	// its first bytes have already left: a complete off-contract body is never sent.
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

// DefaultCacheEntries is how many validated customer documents are remembered by default: about
// 10 MB of digests, enough for every customer of several large organizations.
const DefaultCacheEntries = 100_000

// ResponseValidator checks every response of the API against the contract before it leaves.
//
// Most responses are small (problem details, 304s): they are buffered and validated whole with
// kin-openapi's ValidateResponse. The customer list is not: it can be any size, so its writer
// has each customer checked with CheckEntry before the customer's bytes are written, and then
// asks SendChecked to validate the status and headers (with ValidateResponse) and let the body
// through. Validating a customer costs far more than sending it, so a document that passed is
// remembered by the SHA-256 of its exact bytes, for this loaded contract: a read then costs
// validation only for the customers that changed since the process last sent them.
type ResponseValidator struct {
	contract *Contract
	mode     Mode
	log      *slog.Logger
	metrics  *metrics.Metrics
	passed   *lru.Cache[[sha256.Size]byte, struct{}] // nil: remember nothing
	// hits and misses count lookups of passed (looked up once: a list counts one per customer).
	hits, misses prometheus.Counter
	// validating shares one validation between concurrent first reads of the same document.
	validating singleflight.Group
	problem    *openapi3.Schema
}

// NewResponseValidator returns a validator in the given mode that remembers up to cacheEntries
// validated customer documents (0 remembers none).
func (c *Contract) NewResponseValidator(mode Mode, cacheEntries int, log *slog.Logger, m *metrics.Metrics) (*ResponseValidator, error) {
	v := &ResponseValidator{contract: c, mode: mode, log: log, metrics: m,
		hits: m.ResponseValidationCache.WithLabelValues("hit"), misses: m.ResponseValidationCache.WithLabelValues("miss")}
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

// Middleware validates the response of everything after it, errors rendered by the error
// handler included. A buffered response is sent if it passes, and otherwise (in enforce mode)
// replaced by a 500 problem. A response whose writer called SendChecked goes straight out.
func (v *ResponseValidator) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	if v.mode == Off {
		return next
	}
	return func(c echo.Context) error {
		res := c.Response()
		out := res.Writer
		w := &checkingWriter{v: v, ec: c, out: out, body: bodyBuffers.Get().(*bytes.Buffer)}
		defer w.release()
		res.Writer = w
		err := next(c)
		if w.direct {
			res.Writer = out
			return err // the body went out as it was written; its writer handled any failure
		}
		if err != nil {
			c.Error(err) // render into the buffer, so error bodies are validated too
		}
		res.Writer = out

		status := w.status
		if status == 0 {
			status = http.StatusOK
		}
		_, span := telemetry.Start(c.Request().Context(), "validate response")
		operation, failure := v.validate(c, status, out.Header(), w.body.Bytes())
		span.End()
		if failure != nil {
			v.report(c.Request().Context(), operation, status, failure)
			if v.mode == Enforce {
				v.replace(c, out)
				return nil
			}
		}
		out.Header().Set("Content-Length", strconv.Itoa(w.body.Len()))
		out.WriteHeader(status)
		_, err = out.Write(w.body.Bytes())
		return err
	}
}

// ListChecker is what the writer of the customer list gets from the response validator. See
// CheckerOf.
type ListChecker interface {
	// CheckEntry checks the customer document that will be written as element index of the
	// list, as {"customer": document}, in the response direction (write-only values refused).
	// A failure is logged and counted; in enforce mode (and in log mode for a write-only value)
	// it is returned and the document must not be written.
	CheckEntry(ctx context.Context, index int, document []byte) error
	// Passed reports whether the exact bytes of document passed CheckEntry before and are still
	// remembered, for the cost of a digest: such a document may be written without CheckEntry.
	// A writer uses it to keep validation off the path of documents it already knows, and to
	// hand the others to CheckEntry on every core.
	Passed(document []byte) bool
	// SendChecked validates the status and headers of a list whose every element passed
	// CheckEntry, and lets the body the caller writes next go straight to the client. In
	// enforce mode a failure is returned and nothing may be written.
	SendChecked(status int) error
}

// ErrBreaksContract is returned by a ListChecker in enforce mode. Where the response broke the
// contract is in the log line the checker wrote, never in the error: that could quote a secret.
var ErrBreaksContract = errors.New("the response breaks the contract (see the log line \"response breaks the contract\")")

// CheckerOf returns the ListChecker behind w, or nil when responses are not validated.
func CheckerOf(w http.ResponseWriter) ListChecker {
	for w != nil {
		if lc, ok := w.(ListChecker); ok {
			return lc
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// Passed implements ListChecker for the validator itself; checkingWriter forwards to it.
func (v *ResponseValidator) Passed(document []byte) bool {
	if v.passed == nil || !v.passed.Contains(sha256.Sum256(document)) {
		return false
	}
	v.hits.Inc()
	return true
}

// CheckEntry implements ListChecker for the validator itself; checkingWriter forwards to it.
// It is safe for concurrent use: the lister checks the documents of one list on every core.
func (v *ResponseValidator) CheckEntry(ctx context.Context, index int, document []byte) error {
	key := sha256.Sum256(document)
	if v.passed != nil && v.passed.Contains(key) {
		v.hits.Inc()
		return nil
	}
	_, err, _ := v.validating.Do(string(key[:]), func() (any, error) {
		if v.passed != nil && v.passed.Contains(key) {
			return nil, nil // validated by a read that finished meanwhile
		}
		v.misses.Inc()
		if err := v.validateEntry(document); err != nil {
			return nil, err
		}
		if v.passed != nil {
			v.passed.Add(key, struct{}{})
		}
		return nil, nil
	})
	if err == nil {
		return nil
	}
	v.report(ctx, listOperation, http.StatusOK, &entryError{index: index, err: err})
	if v.mode == Enforce || isWriteOnlyValue(err) {
		// Not wrapped: kin-openapi's message quotes the offending value, which may be a secret.
		return fmt.Errorf("customer %d of the list: %w", index, ErrBreaksContract)
	}
	return nil
}

// isWriteOnlyValue reports whether a failure is a write-only value in a response: a secret,
// which not even log mode lets leave.
func isWriteOnlyValue(err error) bool {
	var se *openapi3.SchemaError
	return errors.As(err, &se) && se.SchemaField == "writeOnly"
}

// listOperation is the operation whose 200 body is written entry by entry.
const listOperation = "getOrganizationCustomers"

// validateEntry checks one document as an element of the customer list.
func (v *ResponseValidator) validateEntry(document []byte) error {
	var value any
	if err := gojson.Unmarshal(document, &value); err != nil {
		return errors.New("stored customer document is not valid JSON")
	}
	entry := map[string]any{"customer": value}
	return v.contract.entry.VisitJSON(entry, openapi3.VisitAsResponse())
}

// entryError places a failure within the list, for the log.
type entryError struct {
	index int
	err   error
}

func (e *entryError) Error() string { return e.err.Error() }
func (e *entryError) Unwrap() error { return e.err }

// emptyList stands for the body when the status and headers of a checked list are validated:
// the elements were checked one by one.
var emptyList = []byte("[]")

// validate checks one response against the operation FindOperation found. It returns the
// operation's id ("" for a request that matched none) and the failure, if any.
func (v *ResponseValidator) validate(c echo.Context, status int, header http.Header, body []byte) (string, error) {
	req := c.Request()
	op := OperationOf(c)
	if op == nil {
		// Unknown route or method: the answer must still be problem details.
		return "", v.validateProblem(req, status, header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: op.PathParams, Route: op.Route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	return op.ID(), openapi3filter.ValidateResponse(context.Background(), in)
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
func (v *ResponseValidator) report(ctx context.Context, operation string, status int, failure error) {
	v.metrics.ResponseValidationFailures.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	pointer, reason := describe(failure)
	v.log.ErrorContext(ctx, "response breaks the contract",
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
		if name != problem.RequestIDHeader && name != "Cache-Control" {
			h.Del(name)
		}
	}
	p := &problem.Error{Kind: problem.Internal, Detail: "The service failed to answer; the failure has been logged."}
	problem.Write(out, c.Request(), p)
	c.Response().Status = p.Kind.Status
}

// describe returns the JSON pointer and reason of a validation failure without its value.
func describe(err error) (pointer, reason string) {
	prefix := ""
	var ee *entryError
	if errors.As(err, &ee) {
		prefix = "/" + strconv.Itoa(ee.index)
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return prefix + "/" + strings.Join(escapePointer(se.JSONPointer()), "/"), se.Reason
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		return prefix, re.Reason
	}
	if ee != nil {
		return prefix, ee.err.Error()
	}
	return "", "does not match the contract"
}

// checkingWriter holds a response until it has been validated, or, after SendChecked, passes a
// checked list straight through. Headers go to the real writer's map, which is only flushed
// when the status is written.
type checkingWriter struct {
	v      *ResponseValidator
	ec     echo.Context
	out    http.ResponseWriter
	status int
	body   *bytes.Buffer
	direct bool
}

var _ ListChecker = (*checkingWriter)(nil)

// bodyBuffers recycles response buffers.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps the buffers of rare large responses from staying in the pool.
const maxPooledBuffer = 1 << 20

func (w *checkingWriter) release() {
	if w.body != nil && w.body.Cap() <= maxPooledBuffer {
		w.body.Reset()
		bodyBuffers.Put(w.body)
	}
	w.body = nil
}

func (w *checkingWriter) Header() http.Header { return w.out.Header() }

func (w *checkingWriter) WriteHeader(status int) {
	if w.direct {
		w.out.WriteHeader(status)
		return
	}
	if w.status == 0 {
		w.status = status
	}
}

func (w *checkingWriter) Write(p []byte) (int, error) {
	if w.direct {
		return w.out.Write(p)
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (w *checkingWriter) Unwrap() http.ResponseWriter { return w.out }

// CheckEntry implements ListChecker.
func (w *checkingWriter) CheckEntry(ctx context.Context, index int, document []byte) error {
	return w.v.CheckEntry(ctx, index, document)
}

// Passed implements ListChecker.
func (w *checkingWriter) Passed(document []byte) bool { return w.v.Passed(document) }

// SendChecked implements ListChecker.
func (w *checkingWriter) SendChecked(status int) error {
	operation, err := w.v.validate(w.ec, status, w.out.Header(), emptyList)
	if err != nil {
		w.v.report(w.ec.Request().Context(), operation, status, err)
		if w.v.mode == Enforce {
			return fmt.Errorf("status or headers of the list: %w", ErrBreaksContract)
		}
	}
	w.direct = true
	return nil
}
