package ratelimit_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/ratelimit"
)

func TestEachTenantHasItsOwnBucket(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = problem.Handler(slog.New(slog.DiscardHandler))
	limiter := ratelimit.New(0.5, 2) // one request every two seconds, two at once
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tenant := c.Request().Header.Get("tenantId")
			c.SetRequest(c.Request().WithContext(auth.WithIdentity(c.Request().Context(), auth.Identity{TenantID: tenant})))
			return next(c)
		}
	}, limiter.Middleware)
	get := func(tenant string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("tenantId", tenant)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}

	for i := 0; i < 2; i++ {
		if rec := get("tenant-a"); rec.Code != http.StatusNoContent {
			t.Fatalf("request %d within the burst: %d", i, rec.Code)
		}
	}
	rec := get("tenant-a")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Content-Type") != problem.ContentType {
		t.Fatalf("over the burst: %d %s, want 429 problem", rec.Code, rec.Header().Get("Content-Type"))
	}
	if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Errorf("Retry-After = %q, want 1 or 2 seconds", rec.Header().Get("Retry-After"))
	}
	if rec := get("tenant-b"); rec.Code != http.StatusNoContent {
		t.Errorf("another tenant was limited too: %d", rec.Code)
	}
}

func TestZeroRateIsUnlimited(t *testing.T) {
	e := echo.New()
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, ratelimit.New(0, 1).Middleware)
	for i := 0; i < 100; i++ {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
}
