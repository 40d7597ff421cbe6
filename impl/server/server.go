// Package server assembles the HTTP service: Echo, the middleware chain in the order requests
// pass it, the generated routes and the health endpoints. All routes are visible here.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/api"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/ratelimit"
	"github.com/cyrexa/customer-api/impl/reqid"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/telemetry"
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
	// ClientLimit bounds failed authentication attempts per client address and in total: an
	// address that keeps failing is refused before its credentials are verified (zero: none).
	ClientLimit ratelimit.ClientConfig
	// DevJWKS, when set, is published at /.well-known/jwks.json: the keys of the development
	// issuer of `serve --dev`.
	DevJWKS []byte
	// ResponseValidation says what happens to a response that breaks the contract (default
	// enforce); ValidationCacheEntries bounds the cache of customer documents already validated.
	ResponseValidation     contract.Mode
	ValidationCacheEntries int
	// Lists tunes how customer lists are read and written: window, body cache, admission.
	Lists listing.Options
	// Draining, once closed, makes /readyz answer 503: the process is about to stop, and load
	// balancers should send it no new requests (nil: never).
	Draining <-chan struct{}
	// Context ends when the service stops; background work (dropping cached bodies of erased
	// customers) runs until then (nil: until the process ends).
	Context context.Context
	// TracerProvider, when set, gets a span per request (continuing a W3C traceparent the
	// client sent); the packages' spans become its children. Nil: no spans, at no cost.
	TracerProvider trace.TracerProvider
}

// New returns the service's HTTP handler.
func New(d Deps) (http.Handler, error) {
	if d.Auth == nil {
		return nil, errors.New("server: no authenticator")
	}
	if d.ResponseValidation == "" {
		d.ResponseValidation = contract.Enforce
	}
	responses, err := d.Contract.NewResponseValidator(d.ResponseValidation, d.ValidationCacheEntries, d.Logger,
		d.Metrics.ResponseValidationFailures, d.Metrics.ResponseValidationCache)
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = problem.Handler(d.Logger)

	// Every request, in the order it passes:
	e.Use(
		reqid.Middleware,               // an id for the request, in its answer and its log lines
		accessLog(d.Logger, d.Metrics), // one line per request, with what the client got
	)

	// Then the service's own pages: health, readiness, the published contract and its docs.
	site := e.Group("", recoverPanics(d.Logger)) // a panic becomes a 500 problem
	site.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	site.GET("/readyz", readyz(d.Store, d.Draining))
	if err := registerDocs(site); err != nil {
		return nil, err
	}
	if d.DevJWKS != nil {
		site.GET("/.well-known/jwks.json", func(c echo.Context) error {
			return c.Blob(http.StatusOK, "application/jwk-set+json", d.DevJWKS)
		})
	}

	// Then every API request, in the order it passes, to the generated strict handler. The
	// limits are wired here, so that auth and ratelimit know nothing of each other: a failed
	// attempt is charged to its client address and to the global failure budget, a request whose
	// both credentials verified to its tenant, and nothing else to anyone.
	failures := ratelimit.NewFailures(d.ClientLimit)
	tenants := ratelimit.New(d.RateLimit, d.RateBurst)
	authn := d.Auth.WithLimits(auth.Limits{
		Unverified: failures.Admit,
		Failed:     failures.Failed,
		Verified: func(r *http.Request, tenantID string) error {
			failures.Succeeded(r)
			return tenants.Take(tenantID)
		},
	})
	validateRequest := d.Contract.ValidateRequest(authn.CheckBearer)
	apiGroup := e.Group(contract.BasePath,
		responses.Middleware,     // nothing leaves that breaks the contract, errors and panics included
		recoverPanics(d.Logger),  // a panic becomes a 500 problem, which the validator still sees
		noStore,                  // customer data is personal data: no cache may keep it
		d.Contract.FindOperation, // the contract's operation, found once: else 404, or 405 with Allow
		acceptJSON,               // 406 unless the client takes JSON
		noRequestBody,            // the operations are GETs: a body is a 400
		auth.ReadCredentials,     // the credential headers, read once (and sent once, else 400)
		authn.Admit,              // an address that keeps failing stops before any costly work (429)
		validateRequest,          // every parameter and the bearer's form, all at once: 400 or 401
		authn.Middleware,         // both credentials verified, then charged to the tenant: 401, 403, 429
	)
	lists := listing.New(d.Store, responses, d.Lists, d.Metrics.ListBodies)
	if d.Context == nil {
		d.Context = context.Background()
	}
	go lists.DropErased(d.Context, d.Store.ErasureCount) // erased in another process: gone from memory too
	gen.RegisterHandlers(apiGroup, gen.NewStrictHandler(api.New(d.Store, lists), []gen.StrictMiddlewareFunc{api.NegotiateEncoding}))
	if d.TracerProvider == nil {
		return e, nil
	}
	// The span is named by its method here and by its route in the access log, once Echo
	// has matched it. Its metrics are not wanted: Prometheus has them.
	return otelhttp.NewHandler(e, "request",
		otelhttp.WithTracerProvider(d.TracerProvider), otelhttp.WithPropagators(telemetry.Propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	), nil
}

func readyz(st store.Store, draining <-chan struct{}) echo.HandlerFunc {
	return func(c echo.Context) error {
		select {
		case <-draining:
			return &problem.Error{Kind: problem.Unavailable, Detail: "The service is shutting down.",
				Header: http.Header{"Retry-After": {problem.RetryAfterSeconds}}}
		default:
		}
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
