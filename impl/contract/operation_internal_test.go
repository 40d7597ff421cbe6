package contract

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// countingRouter counts the route matches the contract makes.
type countingRouter struct {
	routers.Router
	matches int
}

func (r *countingRouter) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	r.matches++
	return r.Router.FindRoute(req)
}

// TestARequestIsMatchedToItsOperationOnce runs a request through FindOperation, the request
// validator and the response validator, as the service chains them, and counts the matches.
func TestARequestIsMatchedToItsOperationOnce(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingRouter{Router: c.router}
	c.router = counter
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "failures"}, []string{"operation", "status"})
	cache := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cache"}, []string{"result"})
	responses := c.NewResponseValidator(Enforce, 16, slog.New(slog.DiscardHandler), failures, cache)
	allowAll := func(context.Context, *openapi3filter.AuthenticationInput) error { return nil }

	e := echo.New()
	e.Group(BasePath, responses.Middleware, c.FindOperation, c.ValidateRequest(allowAll)).
		GET("/organization/getCustomers/:organizationId", func(ec echo.Context) error {
			if op := operationOf(ec); op == nil || op.params["organizationId"] != "org:1" {
				t.Errorf("operation = %+v, want the path parameter decoded", op)
			}
			return ec.JSONBlob(http.StatusOK, []byte(`[]`))
		})

	req := httptest.NewRequest(http.MethodGet, BasePath+"/organization/getCustomers/org%3A1", nil)
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set("token", "t")
	req.Header.Set("tenantId", "tenant-a")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || counter.matches != 1 {
		t.Fatalf("status %d after %d route matches, want 200 after 1: %s", rec.Code, counter.matches, rec.Body)
	}
}

func TestTheAllowListsAreTheContracts(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		BasePath + "/organization/getCustomers/org-1":  "GET",
		BasePath + "/organization/getCustomers/org-1/": "",
		BasePath + "/organization/getCustomers/":       "",
		BasePath + "/organization/getCustomers":        "",
		BasePath + "/organization":                     "",
		"/organization/getCustomers/org-1":             "",
	} {
		if got := c.allowed(httptest.NewRequest(http.MethodPost, path, nil)); got != want {
			t.Errorf("allowed(%q) = %q, want %q", path, got, want)
		}
	}
}
