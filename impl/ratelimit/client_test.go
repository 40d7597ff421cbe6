package ratelimit_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/ratelimit"
)

func TestClientAddress(t *testing.T) {
	tests := []struct {
		name       string
		remoteAddr string
		forwarded  []string
		trust      bool
		want       string
	}{
		{"the connection's peer by default", "192.0.2.7:4711", nil, false, "192.0.2.7"},
		{"X-Forwarded-For is ignored unless trusted", "192.0.2.7:4711", []string{"198.51.100.1"}, false, "192.0.2.7"},
		{"trusted, the last entry is the proxy's", "192.0.2.7:4711", []string{"203.0.113.9, 198.51.100.1"}, true, "198.51.100.1"},
		{"trusted, the last header of several", "192.0.2.7:4711", []string{"203.0.113.9", "198.51.100.2"}, true, "198.51.100.2"},
		{"trusted but absent, the peer", "[2001:db8::1]:4711", nil, true, "2001:db8::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remoteAddr
			for _, v := range tc.forwarded {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := ratelimit.ClientAddress(req, tc.trust); got != tc.want {
				t.Errorf("ClientAddress = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPerClientLimitsEachAddressAndAllTogether(t *testing.T) {
	get := func(l *ratelimit.PerClient, remoteAddr string) int {
		e := echo.New()
		e.HTTPErrorHandler = problem.Handler(slog.New(slog.DiscardHandler))
		e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, l.Middleware)
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = remoteAddr
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		return rec.Code
	}
	t.Run("one address over its rate does not stop another", func(t *testing.T) {
		l := ratelimit.NewPerClient(ratelimit.ClientConfig{PerClient: 0.001, PerClientBurst: 2})
		for range 2 {
			if code := get(l, "192.0.2.1:1"); code != http.StatusNoContent {
				t.Fatalf("within the burst: %d", code)
			}
		}
		if code := get(l, "192.0.2.1:2"); code != http.StatusTooManyRequests {
			t.Fatalf("over the burst: %d, want 429", code)
		}
		if code := get(l, "192.0.2.2:1"); code != http.StatusNoContent {
			t.Fatalf("another address: %d", code)
		}
	})
	t.Run("the global ceiling holds for every address", func(t *testing.T) {
		l := ratelimit.NewPerClient(ratelimit.ClientConfig{Global: 0.001, GlobalBurst: 2})
		get(l, "192.0.2.1:1")
		get(l, "192.0.2.2:1")
		if code := get(l, "192.0.2.3:1"); code != http.StatusTooManyRequests {
			t.Fatalf("over the global ceiling: %d, want 429", code)
		}
	})
}
