package contract

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	gojson "github.com/goccy/go-json"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/cyrexa/customer-api/impl/telemetry"
)

// Mode says what happens to a response that breaks the contract.
type Mode string

// The response validation modes.
const (
	Enforce Mode = "enforce" // replace it with a 500 problem: no part of it leaves
	Log     Mode = "log"     // send it, logged and counted (a write-only value is still refused)
	Off     Mode = "off"     // validate nothing
)

// ParseMode parses a --response-validation value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Enforce, Log, Off:
		return m, nil
	}
	return "", fmt.Errorf("response validation mode %q: want enforce, log or off", s)
}

// DefaultCacheEntries is how many validated customer documents are remembered by default:
// about 10 MB of digests.
const DefaultCacheEntries = 100_000

// ErrBreaksContract is returned for a response that breaks the contract in enforce mode. Where
// is in the log line "response breaks the contract", never in the error: it could quote a secret.
var ErrBreaksContract = errors.New("the response breaks the contract (see the log line \"response breaks the contract\")")

// listOperation is the operation whose 200 body is written by a list writer that checks each
// element with CheckEntry: the middleware validates only its status and headers.
const listOperation = "getOrganizationCustomers"

// problemType is the content type of every error body.
const problemType = "application/problem+json"

// ResponseValidator checks every response of the API against the contract before it leaves.
// Documents that passed CheckEntry are remembered by the SHA-256 of their exact bytes: a read
// costs validation only for the customers that changed since the process last sent them.
type ResponseValidator struct {
	contract     *Contract
	mode         Mode
	log          *slog.Logger
	failures     *prometheus.CounterVec
	hits, misses prometheus.Counter
	passed       *lru.Cache[[sha256.Size]byte, struct{}] // nil: remember nothing
	validating   singleflight.Group                      // one validation for concurrent first reads
}

// NewResponseValidator returns a validator that remembers up to cacheEntries documents, counts
// failures by operation and status, and cache lookups by result (hit, miss).
func (c *Contract) NewResponseValidator(mode Mode, cacheEntries int, log *slog.Logger, failures, cache *prometheus.CounterVec) *ResponseValidator {
	v := &ResponseValidator{contract: c, mode: mode, log: log, failures: failures,
		hits: cache.WithLabelValues("hit"), misses: cache.WithLabelValues("miss")}
	if cacheEntries > 0 {
		v.passed, _ = lru.New[[sha256.Size]byte, struct{}](cacheEntries) // fails only for a size <= 0
	}
	return v
}

// Middleware validates the response of everything after it, errors included. Responses are
// buffered and validated whole, but for the list's 200, whose body goes straight out.
func (v *ResponseValidator) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	if v.mode == Off {
		return next
	}
	return func(c echo.Context) error {
		res := c.Response()
		w := &checkingWriter{v: v, ec: c, out: res.Writer}
		res.Writer = w
		err := next(c)
		if err != nil && !w.direct && !w.failed {
			c.Error(err) // into the buffer: error bodies are validated too
		}
		res.Writer = w.out
		switch {
		case w.direct:
			return err
		case !w.failed:
			status := cmp.Or(w.status, http.StatusOK)
			_, span := telemetry.Start(c.Request().Context(), "validate response")
			operation, failure := v.validate(c, status, w.out.Header(), w.body.Bytes())
			span.End()
			if failure == nil || !v.fails(c.Request().Context(), operation, status, "", failure) {
				w.out.Header().Set("Content-Length", strconv.Itoa(w.body.Len()))
				w.out.WriteHeader(status)
				_, err = w.out.Write(w.body.Bytes())
				return err
			}
		}
		// Replaced by a 500 problem, which keeps only the request id and Cache-Control.
		maps.DeleteFunc(res.Header(), func(name string, _ []string) bool {
			return name != "X-Request-Id" && name != "Cache-Control" // the id the access log set
		})
		res.Committed, res.Size = false, 0
		c.Error(ErrBreaksContract)
		return nil
	}
}

// Passed reports whether the exact bytes of document passed CheckEntry before, for the cost of
// a digest; in off mode every document passes.
func (v *ResponseValidator) Passed(document []byte) bool {
	return v.mode == Off || v.hit(sha256.Sum256(document))
}

// hit reports whether the document of digest key passed before, counted as a cache hit.
func (v *ResponseValidator) hit(key [sha256.Size]byte) bool {
	if v.passed == nil || !v.passed.Contains(key) {
		return false
	}
	v.hits.Inc()
	return true
}

// CheckEntry checks the document written as element index of the list, in the response
// direction. A failure is logged and counted; it is returned (and the document must not be
// written) in enforce mode, and in any mode for a write-only value. Safe for concurrent use.
func (v *ResponseValidator) CheckEntry(ctx context.Context, index int, document []byte) error {
	key := sha256.Sum256(document)
	if v.hit(key) {
		return nil
	}
	_, err, _ := v.validating.Do(string(key[:]), func() (any, error) {
		if v.passed != nil && v.passed.Contains(key) {
			return nil, nil // validated by a read that finished meanwhile
		}
		v.misses.Inc()
		var value any
		if err := gojson.Unmarshal(document, &value); err != nil {
			return nil, errors.New("stored customer document is not valid JSON")
		}
		if err := v.contract.entry.VisitJSON(map[string]any{"customer": value}, openapi3.VisitAsResponse()); err != nil {
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
	var se *openapi3.SchemaError
	if v.fails(ctx, listOperation, http.StatusOK, "/"+strconv.Itoa(index), err) || errors.As(err, &se) && se.SchemaField == "writeOnly" {
		// Not wrapped: kin-openapi's message quotes the offending value, which may be a secret.
		return fmt.Errorf("customer %d of the list: %w", index, ErrBreaksContract)
	}
	return nil
}

// validate checks one response against the request's operation; it returns the operation's id
// ("" for a request that matched none) and the failure, if any.
func (v *ResponseValidator) validate(c echo.Context, status int, header http.Header, body []byte) (string, error) {
	req := c.Request()
	op := operationOf(c)
	if op != nil {
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: op.params, Route: op.route},
			Status:                 status, Header: header, Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		in.SetBodyBytes(body)
		return op.route.Operation.OperationID, openapi3filter.ValidateResponse(context.Background(), in)
	}
	// Unknown route or method: the answer must still be problem details.
	var value any
	switch {
	case status < http.StatusBadRequest:
		return "", fmt.Errorf("status %d answers a request outside the contract", status)
	case header.Get("Content-Type") != problemType:
		return "", fmt.Errorf("content type %q, want %s", header.Get("Content-Type"), problemType)
	case req.Method == http.MethodHead:
		return "", nil // no body
	case json.Unmarshal(body, &value) != nil:
		return "", errors.New("body is not JSON")
	}
	return "", v.contract.problem.VisitJSON(value, openapi3.VisitAsResponse())
}

// fails logs and counts a failure (of the list's element at "/index", or of the response at ""),
// and reports whether enforce mode refuses it. The log says where, never the value: that may
// be the secret the check kept back.
func (v *ResponseValidator) fails(ctx context.Context, operation string, status int, at string, failure error) bool {
	v.failures.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	reason := "does not match the contract"
	var se *openapi3.SchemaError
	var re *openapi3filter.ResponseError
	switch {
	case errors.As(failure, &se):
		at, reason = at+cmp.Or(pointer(se), "/"), se.Reason
	case errors.As(failure, &re):
		reason = re.Reason
	case at != "":
		reason = failure.Error() // of CheckEntry: says nothing of the value
	}
	v.log.ErrorContext(ctx, "response breaks the contract",
		"operation", operation, "status", status, "pointer", at, "reason", reason, "mode", string(v.mode))
	return v.mode == Enforce
}

// checkingWriter holds a response until it has been validated; the list's 200 goes straight
// out once its status and headers passed.
type checkingWriter struct {
	v              *ResponseValidator
	ec             echo.Context
	out            http.ResponseWriter
	status         int
	body           bytes.Buffer
	direct, failed bool
}

var emptyList = []byte("[]")

func (w *checkingWriter) Header() http.Header { return w.out.Header() }

func (w *checkingWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	if op := operationOf(w.ec); status != http.StatusOK || op == nil || op.route.Operation.OperationID != listOperation {
		return
	}
	// The list's writer checked every element (CheckEntry): emptyList stands for the body.
	if operation, err := w.v.validate(w.ec, status, w.out.Header(), emptyList); err != nil && w.v.fails(w.ec.Request().Context(), operation, status, "", err) {
		w.failed = true
		return
	}
	w.direct = true
	w.out.WriteHeader(status)
}

func (w *checkingWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	switch {
	case w.direct:
		return w.out.Write(p)
	case w.failed:
		return 0, ErrBreaksContract
	}
	return w.body.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (w *checkingWriter) Unwrap() http.ResponseWriter { return w.out }
