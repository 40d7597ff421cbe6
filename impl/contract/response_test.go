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
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/problem"
)

const route = "/organization/getCustomers/:organizationId"

// serveOnce answers one GET of the customers route with the given handler behind a response
// validator in mode, and returns the recorded response, the logs and the failure count.
func serveOnce(t *testing.T, mode contract.Mode, handler echo.HandlerFunc) (*httptest.ResponseRecorder, string, float64) {
	t.Helper()
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	m := metrics.New()
	v, err := c.NewResponseValidator(mode, 16, log, m)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = problem.Handler(log)
	e.Group(contract.BasePath, v.Middleware, c.FindOperation).GET(route, handler)

	req := httptest.NewRequest(http.MethodGet, contract.BasePath+"/organization/getCustomers/org-1", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec, logs.String(), testutil.ToFloat64(m.ResponseValidationFailures.WithLabelValues("getOrganizationCustomers", "200"))
}

// leak answers 200 with a customer that carries a password: the read path's bug the
// validator must catch.
func leak(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, []byte(`[{"customer":{"id":"cus-1","person":{"password":"hunter2-secret"}}}]`))
}

func TestResponseValidatorModes(t *testing.T) {
	t.Run("enforce replaces a leaking response with a 500 problem", func(t *testing.T) {
		rec, logs, failures := serveOnce(t, contract.Enforce, leak)
		if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != problem.ContentType {
			t.Fatalf("got %d %s, want 500 problem", rec.Code, rec.Header().Get("Content-Type"))
		}
		if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "password") {
			t.Errorf("the 500 carries the secret or its name: %s", rec.Body)
		}
		if failures != 1 {
			t.Errorf("failures counted = %v, want 1", failures)
		}
		assertLogged(t, logs)
	})
	t.Run("log sends the response but logs and counts it", func(t *testing.T) {
		rec, logs, failures := serveOnce(t, contract.Log, leak)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "hunter2") {
			t.Fatalf("got %d %s, want the response as the handler wrote it", rec.Code, rec.Body)
		}
		if failures != 1 {
			t.Errorf("failures counted = %v, want 1", failures)
		}
		assertLogged(t, logs)
	})
	t.Run("off validates nothing", func(t *testing.T) {
		rec, logs, failures := serveOnce(t, contract.Off, leak)
		if rec.Code != http.StatusOK || failures != 0 || logs != "" {
			t.Fatalf("got %d, %v failures, logs %q", rec.Code, failures, logs)
		}
	})
	t.Run("an undocumented status is refused", func(t *testing.T) {
		rec, _, _ := serveOnce(t, contract.Enforce, func(c echo.Context) error {
			return c.JSONBlob(http.StatusTeapot, []byte(`{}`))
		})
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("got %d, want 500", rec.Code)
		}
	})
	t.Run("a valid response passes unchanged, twice", func(t *testing.T) {
		body := `[{"customer":{"id":"cus-1","customerStatus":"under_verificaiton"}}]`
		for i := 0; i < 2; i++ {
			rec, _, failures := serveOnce(t, contract.Enforce, func(c echo.Context) error {
				return c.JSONBlob(http.StatusOK, []byte(body))
			})
			if rec.Code != http.StatusOK || rec.Body.String() != body || failures != 0 {
				t.Fatalf("got %d %s", rec.Code, rec.Body)
			}
		}
	})
	t.Run("errors rendered by the error handler are validated too", func(t *testing.T) {
		rec, _, _ := serveOnce(t, contract.Enforce, func(c echo.Context) error {
			return problem.New(problem.NotFound, "No organization with this id exists for the tenant.")
		})
		var p map[string]any
		if rec.Code != http.StatusNotFound || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p["status"] != float64(404) {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
}

// assertLogged checks that the failure was logged with its pointer and without the value.
func assertLogged(t *testing.T, logs string) {
	t.Helper()
	if !strings.Contains(logs, `"pointer":"/0/customer/person/password"`) || !strings.Contains(logs, `"operation":"getOrganizationCustomers"`) {
		t.Errorf("failure not logged with operation and pointer: %s", logs)
	}
	if strings.Contains(logs, "hunter2") {
		t.Errorf("the log carries the secret: %s", logs)
	}
}

func TestCheckEntryRemembersOnlyTheExactBytes(t *testing.T) {
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	v, err := c.NewResponseValidator(contract.Enforce, 16, slog.New(slog.DiscardHandler), m)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	doc := []byte(`{"id":"cus-1"}`)
	for range 2 {
		if err := v.CheckEntry(ctx, 0, doc); err != nil {
			t.Fatal(err)
		}
	}
	if hits := testutil.ToFloat64(m.ResponseValidationCache.WithLabelValues("hit")); hits != 1 {
		t.Fatalf("cache hits = %v, want 1", hits)
	}
	// Bytes changed: a leak, which a cached result for the old bytes must not let through.
	if err := v.CheckEntry(ctx, 3, []byte(`{"id":"cus-1","person":{"pinCode":"1"}}`)); !errors.Is(err, contract.ErrBreaksContract) {
		t.Fatalf("a changed document with a PIN: %v, want ErrBreaksContract", err)
	}
}

func TestLogModeStillRefusesWriteOnlyValues(t *testing.T) {
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	m := metrics.New()
	v, err := c.NewResponseValidator(contract.Log, 16, slog.New(slog.NewJSONHandler(&logs, nil)), m)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := v.CheckEntry(ctx, 0, []byte(`{"id":"cus-1","customerStatus":"gone"}`)); err != nil {
		t.Errorf("log mode refused an unknown enum value: %v", err)
	}
	if err := v.CheckEntry(ctx, 1, []byte(`{"id":"cus-1","person":{"password":"hunter2-secret"}}`)); !errors.Is(err, contract.ErrBreaksContract) {
		t.Errorf("log mode let a password through: %v", err)
	}
	if n := testutil.ToFloat64(m.ResponseValidationFailures.WithLabelValues("getOrganizationCustomers", "200")); n != 2 {
		t.Errorf("failures counted = %v, want 2", n)
	}
	if strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), `"pointer":"/1/customer/person/password"`) {
		t.Errorf("logs: %s", logs.String())
	}
}
