// Package server assembles the HTTP service: Echo, the middleware chain in the order requests
// pass it, the generated routes and the health endpoints. All routes are visible here.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/api"
	"github.com/cyrexa/customer-api/impl/audit"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/ratelimit"
	"github.com/cyrexa/customer-api/impl/reqid"
	"github.com/cyrexa/customer-api/impl/store"
)

// Deps are what the service needs to run.
type Deps struct {
	Contract *contract.Contract
	Store    store.Store
	Logger   *slog.Logger
	Metrics  *metrics.Metrics
	// Auth verifies both credentials of every API request.
	Auth *auth.Authenticator
	// RateLimit is each tenant's rate of requests per second (0: unlimited), with RateBurst.
	RateLimit float64
	RateBurst int
	// DevJWKS, when set, is published at /.well-known/jwks.json: the keys of the development
	// issuer of `serve --dev`.
	DevJWKS []byte
	// ResponseValidation says what happens to a response that breaks the contract (default
	// enforce); ValidationCacheEntries bounds the cache of customer documents already validated.
	ResponseValidation     contract.Mode
	ValidationCacheEntries int
	// Lists tunes how customer lists are read and written: window, body cache, admission.
	Lists listing.Options
}

// New returns the service's HTTP handler.
func New(d Deps) (http.Handler, error) {
	if d.Auth == nil {
		return nil, errors.New("server: no authenticator")
	}
	if d.ResponseValidation == "" {
		d.ResponseValidation = contract.Enforce
	}
	responses, err := d.Contract.NewResponseValidator(d.ResponseValidation, d.ValidationCacheEntries, d.Logger, d.Metrics)
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = problem.Handler(d.Logger)

	e.Use(reqid.Middleware, accessLog(d.Logger, d.Metrics), recoverPanics(d.Logger))
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", readyz(d.Store))
	e.GET("/metrics", echo.WrapHandler(d.Metrics.Handler()))
	if err := registerDocs(e); err != nil { // the published contract and its docs page, outside the API group
		return nil, err
	}
	if d.DevJWKS != nil {
		e.GET("/.well-known/jwks.json", func(c echo.Context) error {
			return c.Blob(http.StatusOK, "application/jwk-set+json", d.DevJWKS)
		})
	}

	// Request flow under the base path: the response validator sees everything that leaves,
	// panics included; then cache policy, method, content negotiation, request hygiene, the
	// contract's request validator, authentication, the tenant's rate limit and the generated
	// strict handler.
	apiGroup := e.Group(contract.BasePath, responses.Middleware, recoverPanics(d.Logger),
		noStore, methodAllowed(d.Contract), acceptJSON, noRequestBody, singleCredentialHeaders,
		d.Contract.RequestValidator(), d.Auth.Middleware, ratelimit.New(d.RateLimit, d.RateBurst).Middleware)
	lists := listing.New(d.Store, d.Lists, d.Logger, d.Metrics)
	gen.RegisterHandlers(apiGroup, gen.NewStrictHandler(api.New(d.Store, lists), []gen.StrictMiddlewareFunc{api.NegotiateEncoding}))
	return e, nil
}

func readyz(st store.Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
}

// recoverPanics turns a panic into an error for the error handler, logged with its stack and
// the request id.
func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			ctx := c.Request().Context()
			log.ErrorContext(ctx, "panic", "request_id", reqid.FromContext(ctx), "error", err.Error(), "stack", string(stack))
			return err
		},
	})
}

// accessLog writes one audit line per request: who (tenant, subject), what (route,
// organization), how it ended (status, customers returned, bytes, latency) and the request id.
// It logs no header and no body: those carry credentials and personal data. A response aborted
// after its first bytes (a streamed list that failed) is logged as such, then the abort goes on.
func accessLog(log *slog.Logger, m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			ctx, record := audit.NewContext(c.Request().Context())
			c.SetRequest(c.Request().WithContext(ctx))
			aborted := true
			defer func() {
				if aborted {
					line(log, m, c, record, start, true)
				}
			}()
			if err := next(c); err != nil {
				// Render now, so the line below sees the final status.
				c.Error(err)
			}
			aborted = false
			line(log, m, c, record, start, false)
			return nil
		}
	}
}

// line writes the access line and the request metrics.
func line(log *slog.Logger, m *metrics.Metrics, c echo.Context, record *audit.Record, start time.Time, aborted bool) {
	req := c.Request()
	elapsed := time.Since(start)
	status := c.Response().Status
	m.Requests.WithLabelValues(c.Path(), strconv.Itoa(status)).Inc()
	m.RequestDuration.WithLabelValues(c.Path()).Observe(elapsed.Seconds())
	attrs := []any{
		"request_id", reqid.FromContext(req.Context()),
		"method", req.Method,
		"route", c.Path(),
		"status", status,
		"tenant", record.Tenant,
		"subject", record.Subject,
		"organization", record.Organization,
		"customers", record.Customers,
		"bytes", c.Response().Size,
		"duration_ms", float64(elapsed.Microseconds()) / 1000,
	}
	if aborted {
		attrs = append(attrs, "aborted", true)
	}
	log.InfoContext(req.Context(), "request", attrs...)
}
