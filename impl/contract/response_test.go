package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/problem"
)

const route = "/organization/getCustomers/:organizationId"

// counters stand in for the server's metrics: the two counters a response validator is given.
type counters struct{ ResponseValidationFailures, ResponseValidationCache *prometheus.CounterVec }

// newValidator returns a validator in mode that logs to logs, and its counters.
func newValidator(t *testing.T, mode contract.Mode, logs *bytes.Buffer) (*contract.Contract, *contract.ResponseValidator, counters) {
	t.Helper()
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	m := counters{
		ResponseValidationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "failures"}, []string{"operation", "status"}),
		ResponseValidationCache:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cache"}, []string{"result"}),
	}
	v := c.NewResponseValidator(mode, 16, slog.New(slog.NewJSONHandler(logs, nil)), m.ResponseValidationFailures, m.ResponseValidationCache)
	return c, v, m
}

// serveOnce answers one GET of the customers route with handler behind a response validator in
// mode, and returns the recorded response, the logs and the failure count.
func serveOnce(t *testing.T, mode contract.Mode, handler func(*contract.ResponseValidator, *httptest.ResponseRecorder) echo.HandlerFunc) (*httptest.ResponseRecorder, string, float64) {
	t.Helper()
	var logs bytes.Buffer
	c, v, m := newValidator(t, mode, &logs)
	e := echo.New()
	e.HTTPErrorHandler = problem.Handler(slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	e.Group(contract.BasePath, v.Middleware, c.FindOperation).GET(route, handler(v, rec))
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, contract.BasePath+"/organization/getCustomers/org-1", nil))
	return rec, logs.String(), testutil.ToFloat64(m.ResponseValidationFailures.WithLabelValues("getOrganizationCustomers", "200"))
}

// list writes documents as the list's writer does: each checked (or remembered) before it is sent.
func list(documents ...string) func(*contract.ResponseValidator, *httptest.ResponseRecorder) echo.HandlerFunc {
	return func(v *contract.ResponseValidator, _ *httptest.ResponseRecorder) echo.HandlerFunc {
		return func(c echo.Context) error {
			var entries []string
			for i, d := range documents {
				if !v.Passed([]byte(d)) {
					if err := v.CheckEntry(c.Request().Context(), i, []byte(d)); err != nil {
						return err
					}
				}
				entries = append(entries, `{"customer":`+d+`}`)
			}
			return c.JSONBlob(http.StatusOK, []byte("["+strings.Join(entries, ",")+"]"))
		}
	}
}

// blob answers status with body, as a handler other than the list's writer would.
func blob(status int, body string) func(*contract.ResponseValidator, *httptest.ResponseRecorder) echo.HandlerFunc {
	return func(*contract.ResponseValidator, *httptest.ResponseRecorder) echo.HandlerFunc {
		return func(c echo.Context) error { return c.JSONBlob(status, []byte(body)) }
	}
}

const password = `{"id":"cus-1","person":{"password":"hunter2-secret"}}`

func TestResponseValidatorModes(t *testing.T) {
	t.Run("enforce replaces a leaking response with a 500 problem", func(t *testing.T) {
		rec, logs, failures := serveOnce(t, contract.Enforce, list(password))
		if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != problem.ContentType {
			t.Fatalf("got %d %s, want 500 problem", rec.Code, rec.Header().Get("Content-Type"))
		}
		if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "password") {
			t.Errorf("the 500 carries the secret or its name: %s", rec.Body)
		}
		if failures != 1 {
			t.Errorf("failures counted = %v, want 1", failures)
		}
		assertLogged(t, logs, "/0/customer/person/password")
	})
	t.Run("log sends the response but logs and counts it", func(t *testing.T) {
		rec, logs, failures := serveOnce(t, contract.Log, list(`{"id":"cus-1","customerStatus":"gone"}`))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "gone") {
			t.Fatalf("got %d %s, want the response as the handler wrote it", rec.Code, rec.Body)
		}
		if failures != 1 {
			t.Errorf("failures counted = %v, want 1", failures)
		}
		assertLogged(t, logs, "/0/customer/customerStatus")
	})
	t.Run("off validates nothing", func(t *testing.T) {
		rec, logs, failures := serveOnce(t, contract.Off, list(password))
		if rec.Code != http.StatusOK || failures != 0 || logs != "" {
			t.Fatalf("got %d, %v failures, logs %q", rec.Code, failures, logs)
		}
	})
	t.Run("an undocumented status is refused", func(t *testing.T) {
		if rec, _, _ := serveOnce(t, contract.Enforce, blob(http.StatusTeapot, `{}`)); rec.Code != http.StatusInternalServerError {
			t.Fatalf("got %d, want 500", rec.Code)
		}
	})
	t.Run("a valid response passes unchanged, twice", func(t *testing.T) {
		for range 2 {
			rec, _, failures := serveOnce(t, contract.Enforce, list(`{"id":"cus-1","customerStatus":"under_verificaiton"}`))
			if rec.Code != http.StatusOK || rec.Body.String() != `[{"customer":{"id":"cus-1","customerStatus":"under_verificaiton"}}]` || failures != 0 {
				t.Fatalf("got %d %s", rec.Code, rec.Body)
			}
		}
	})
	t.Run("errors rendered by the error handler are validated too", func(t *testing.T) {
		rec, _, _ := serveOnce(t, contract.Enforce, func(*contract.ResponseValidator, *httptest.ResponseRecorder) echo.HandlerFunc {
			return func(echo.Context) error {
				return problem.New(problem.NotFound, "No organization with this id exists for the tenant.")
			}
		})
		var p map[string]any
		if rec.Code != http.StatusNotFound || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p["status"] != float64(404) {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("the list's body goes out unbuffered once its status and headers passed", func(t *testing.T) {
		rec, _, failures := serveOnce(t, contract.Enforce, func(_ *contract.ResponseValidator, rec *httptest.ResponseRecorder) echo.HandlerFunc {
			return func(c echo.Context) error {
				c.Response().Header().Set("Content-Type", "application/json")
				c.Response().WriteHeader(http.StatusOK)
				_, _ = c.Response().Write([]byte("["))
				if rec.Body.String() != "[" {
					t.Errorf("the first byte was held back: %q", rec.Body)
				}
				_, err := c.Response().Write([]byte("]"))
				return err
			}
		})
		if rec.Code != http.StatusOK || rec.Body.String() != "[]" || failures != 0 {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a list whose headers break the contract is a 500 problem and no part of it", func(t *testing.T) {
		rec, logs, failures := serveOnce(t, contract.Enforce, func(*contract.ResponseValidator, *httptest.ResponseRecorder) echo.HandlerFunc {
			return func(c echo.Context) error {
				c.Response().Header().Set("Content-Type", "text/csv")
				c.Response().WriteHeader(http.StatusOK)
				if _, err := c.Response().Write([]byte(`[{"customer":{"id":"cus-1"}}]`)); !errors.Is(err, contract.ErrBreaksContract) {
					t.Errorf("write = %v, want ErrBreaksContract", err)
				}
				return nil
			}
		})
		if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != problem.ContentType || strings.Contains(rec.Body.String(), "cus-1") {
			t.Fatalf("got %d %s %s, want a 500 problem", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if failures != 1 || !strings.Contains(logs, `"operation":"getOrganizationCustomers"`) {
			t.Errorf("failures counted = %v, logs %s", failures, logs)
		}
	})
}

// assertLogged checks that the failure was logged with its operation and pointer, without the value.
func assertLogged(t *testing.T, logs, pointer string) {
	t.Helper()
	if !strings.Contains(logs, `"pointer":"`+pointer+`"`) || !strings.Contains(logs, `"operation":"getOrganizationCustomers"`) {
		t.Errorf("failure not logged with operation and pointer: %s", logs)
	}
	if strings.Contains(logs, "hunter2") {
		t.Errorf("the log carries the secret: %s", logs)
	}
}

func TestCheckEntryRemembersOnlyTheExactBytes(t *testing.T) {
	_, v, m := newValidator(t, contract.Enforce, &bytes.Buffer{})
	ctx := context.Background()
	doc := []byte(`{"id":"cus-1"}`)
	for range 2 {
		if err := v.CheckEntry(ctx, 0, doc); err != nil {
			t.Fatal(err)
		}
	}
	if hits := testutil.ToFloat64(m.ResponseValidationCache.WithLabelValues("hit")); hits != 1 || !v.Passed(doc) {
		t.Fatalf("cache hits = %v, want 1, and the document remembered", hits)
	}
	// Bytes changed: a leak, which a cached result for the old bytes must not let through.
	if err := v.CheckEntry(ctx, 3, []byte(`{"id":"cus-1","person":{"pinCode":"1"}}`)); !errors.Is(err, contract.ErrBreaksContract) {
		t.Fatalf("a changed document with a PIN: %v, want ErrBreaksContract", err)
	}
}

func TestLogModeStillRefusesWriteOnlyValues(t *testing.T) {
	var logs bytes.Buffer
	_, v, m := newValidator(t, contract.Log, &logs)
	ctx := context.Background()
	if err := v.CheckEntry(ctx, 0, []byte(`{"id":"cus-1","customerStatus":"gone"}`)); err != nil {
		t.Errorf("log mode refused an unknown enum value: %v", err)
	}
	if err := v.CheckEntry(ctx, 1, []byte(password)); !errors.Is(err, contract.ErrBreaksContract) {
		t.Errorf("log mode let a password through: %v", err)
	}
	if n := testutil.ToFloat64(m.ResponseValidationFailures.WithLabelValues("getOrganizationCustomers", "200")); n != 2 {
		t.Errorf("failures counted = %v, want 2", n)
	}
	if strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), `"pointer":"/1/customer/person/password"`) {
		t.Errorf("logs: %s", logs.String())
	}
}
