// Package server assembles the HTTP service: Echo, the middleware chain in the order requests
// pass it, the routes, the access log and the error handler. All routes are visible here.
package server

import (
	"cmp"
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
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/ratelimit"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

// Deps are what the service needs to run.
type Deps struct {
	Contract *contract.Contract
	Store    store.Store
	Logger   *slog.Logger
	Metrics  *Metrics
	Auth     *auth.Authenticator
	// RateLimit is each tenant's requests per second (0: unlimited), with RateBurst.
	RateLimit float64
	RateBurst int
	// ClientLimit bounds failed authentication attempts per client address and in total.
	ClientLimit ratelimit.ClientConfig
	// DevJWKS, when set, is published at /.well-known/jwks.json (`serve --dev`'s issuer).
	DevJWKS []byte
	// ResponseValidation is the mode for responses (default enforce); ValidationCacheEntries
	// bounds the customer documents remembered as valid.
	ResponseValidation     contract.Mode
	ValidationCacheEntries int
	Lists                  listing.Options
	// Draining, once closed, makes /readyz answer 503 before the process stops (nil: never).
	Draining <-chan struct{}
	// Context bounds background work (dropping erased customers' cached bodies); nil: none.
	Context context.Context
	// TracerProvider, when set, gets a span per request (continuing a W3C traceparent). Nil: none.
	TracerProvider trace.TracerProvider
}

// New returns the service's HTTP handler.
func New(d Deps) (http.Handler, error) {
	if d.Auth == nil {
		return nil, errors.New("server: no authenticator")
	}
	d.ResponseValidation = cmp.Or(d.ResponseValidation, contract.Enforce)
	log := slog.New(telemetry.ContextAttrs(d.Logger.Handler(), withRequestID))
	responses := d.Contract.NewResponseValidator(d.ResponseValidation, d.ValidationCacheEntries, log,
		d.Metrics.ResponseValidationFailures, d.Metrics.ResponseValidationCache)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	render := problem.Handler(log)
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if x := exchangeOf(c.Request().Context()); x != nil {
			x.err = err // the access log's auth_failure comes from the error rendered
		}
		render(err, c)
	}

	// Every request passes the access log: its id, then one line with what the client got.
	e.Use(accessLog(log, d.Metrics))

	// Then the service's own pages: health, readiness, the published contract and its docs.
	site := e.Group("", recoverPanics(log)) // a panic becomes a 500 problem
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

	// Then every API request, in the order it passes. The limits are wired here, so that auth and
	// ratelimit know nothing of each other: failures are charged to their client address and the
	// global budget, requests whose both credentials verified to their tenant.
	failures := ratelimit.NewFailures(d.ClientLimit)
	tenants := ratelimit.New(d.RateLimit, d.RateBurst)
	authn := *d.Auth // a copy: the caller's is left without limits
	authn.Limits = auth.Limits{
		Unverified: failures.Admit,
		Failed:     failures.Failed,
		Verified: func(r *http.Request, tenantID string) error {
			failures.Succeeded(r)
			return tenants.Take(tenantID)
		},
	}
	validateRequest := d.Contract.ValidateRequest(authn.CheckBearer)
	apiGroup := e.Group(contract.BasePath,
		responses.Middleware,     // nothing leaves that breaks the contract, errors and panics included
		recoverPanics(log),       // a panic becomes a 500 problem, which the validator still sees
		noStore,                  // customer data is personal data: no cache may keep it
		d.Contract.FindOperation, // the contract's operation, found once: else 404, or 405 with Allow
		hygiene,                  // 406 unless the client takes JSON; the operations are GETs: a body is a 400
		authn.Admit,              // credential headers sent once (else 400); an address that keeps failing stops here (429)
		validateRequest,          // every parameter and the bearer's form, all at once: 400 or 401
		authn.Middleware,         // both credentials verified, then charged to the tenant: 401, 403, 429
	)
	lists := listing.New(d.Store, responses, d.Lists, d.Metrics.ListBodies)
	d.Context = cmp.Or(d.Context, context.Background())
	go lists.DropErased(d.Context, d.Store.ErasureCount) // erased in another process: gone from memory too
	counted := func(ctx context.Context, n int) {
		if x := exchangeOf(ctx); x != nil {
			x.customers = n
		}
	}
	gen.RegisterHandlers(apiGroup, gen.NewStrictHandler(api.New(d.Store, lists, counted), []gen.StrictMiddlewareFunc{api.NegotiateEncoding}))
	if d.TracerProvider == nil {
		return e, nil
	}
	// The span is named by its method here, by its route in the access log; Prometheus has metrics.
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

// recoverPanics turns a panic into an error for the error handler, logged with its stack.
func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			log.ErrorContext(c.Request().Context(), "panic", "error", err.Error(), "stack", string(stack))
			return err
		},
	})
}

// noStore keeps customer data, which is personal data, out of every cache.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// hygiene answers 406 unless the client takes JSON, then 400 to a body (or a Content-Type
// announcing one): the API's operations are GETs.
func hygiene(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !acceptsJSON(req.Header.Values("Accept")) {
			return problem.New(problem.NotAcceptable, "This API answers in application/json (errors in application/problem+json) only.")
		}
		if req.ContentLength != 0 || len(req.TransferEncoding) > 0 || req.Header.Get("Content-Type") != "" {
			return &problem.Error{Kind: problem.InvalidRequest, Detail: "This operation takes no request body.",
				InvalidParams: []gen.InvalidParam{{In: gen.InvalidParamInBody, Name: "", Reason: "must be absent, with no Content-Type"}}}
		}
		return next(c)
	}
}

func acceptsJSON(accept []string) bool {
	if len(accept) == 0 {
		return true
	}
	for mediaType, ok := range listing.Accepted(accept) {
		switch mediaType {
		case "*/*", "application/*", "application/json", problem.ContentType:
			if ok {
				return true
			}
		}
	}
	return false
}

// MaxHeaderBytes bounds the request line and headers. Larger requests get net/http's own 431.
const MaxHeaderBytes = 64 << 10

// ApplyLimits sets the timeouts and size limits every listener of the service uses, so slow or
// oversized clients cannot hold connections or memory.
func ApplyLimits(s *http.Server) {
	s.ReadHeaderTimeout = 10 * time.Second
	s.ReadTimeout = 30 * time.Second
	s.WriteTimeout = 60 * time.Second
	s.IdleTimeout = 120 * time.Second
	s.MaxHeaderBytes = MaxHeaderBytes
}
