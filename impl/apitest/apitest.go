// Package apitest starts the real service for black-box tests, on a real listener, with the
// generated client behind a transport that validates every response against the contract.
package apitest

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/server"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

// Env is one running service under test.
type Env struct {
	*Service
	URL        string // base URL of the API, ending in the base path
	Addr       string // host:port of the listener
	Client     *gen.ClientWithResponses
	HTTP       *http.Client // plain client whose responses are validated too
	Store      store.Store
	Contract   *contract.Contract
	SQLitePath string // the database file when the env runs on SQLite

	mu            sync.Mutex
	secrets       []string          // write-only values imported; none may ever be logged
	apiTokens     map[string]string // an API token per tenant, issued on first use
	allowFailures bool
}

// bearer returns a valid access token for the tenant, never to be logged.
func (e *Env) bearer(t testing.TB, tenantID string) string {
	token := e.Issuer.MustToken(t, e.Issuer.Claims(tenantID))
	e.Sensitive(token)
	return token
}

// Bearer returns a request editor that sets a valid access token for the tenant.
func (e *Env) Bearer(t testing.TB, tenantID string) gen.RequestEditorFn {
	token := e.bearer(t, tenantID)
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// APIToken returns a valid API token of the tenant.
func (e *Env) APIToken(t testing.TB, tenantID string) string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if token, ok := e.apiTokens[tenantID]; ok {
		return token
	}
	token, _, err := e.Tokens.Issue(context.Background(), tenantID, "test", 0)
	if err != nil {
		t.Fatalf("issue API token: %v", err)
	}
	e.apiTokens[tenantID] = token
	e.secrets = append(e.secrets, token)
	return token
}

// Params returns the header parameters of a valid request for the tenant.
func (e *Env) Params(t testing.TB, tenantID string) *gen.GetOrganizationCustomersParams {
	return &gen.GetOrganizationCustomersParams{Token: e.APIToken(t, tenantID), TenantId: tenantID}
}

// Headers returns the three credential headers of a valid request for the tenant.
func (e *Env) Headers(t testing.TB, tenantID string) map[string]string {
	return map[string]string{
		"Authorization": "Bearer " + e.bearer(t, tenantID),
		"token":         e.APIToken(t, tenantID),
		"tenantId":      tenantID,
	}
}

// AllowContractFailures is for tests that cause off-contract responses on purpose.
func (e *Env) AllowContractFailures() { e.allowFailures = true }

// MustSQLite opens a migrated SQLite store in a temporary directory, and returns its path too.
func MustSQLite(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "customers.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st, path
}

// MustStart starts a service on a fresh SQLite database and stops it when the test ends.
func MustStart(t testing.TB, opts ...Option) *Env {
	t.Helper()
	st, path := MustSQLite(t)
	env := MustStartWith(t, MustContract(t), st, opts...)
	env.SQLitePath = path
	return env
}

// Service is the service's handler with what a test needs to talk to it and watch it.
type Service struct {
	Handler http.Handler
	Issuer  *Issuer // signs access tokens the service accepts; Tokens issues API tokens
	Tokens  *auth.APITokens
	Metrics *server.Metrics
	Logs    *SyncBuffer // everything the service logged
}

// MustService builds the service on c and st, with a test issuer serving its keys over HTTP.
func MustService(t testing.TB, c *contract.Contract, st store.Store, opts ...Option) *Service {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	logs := &SyncBuffer{}
	logger := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	issuer := MustIssuer(t)
	if o.issuer != nil {
		o.issuer(issuer)
	}
	authenticator := mustAuthenticator(t, st, logger, issuer, o.keySet)
	m := server.NewMetrics()
	deps := server.Deps{Context: t.Context(), Contract: c, Store: st, Logger: logger, Metrics: m,
		Auth:               authenticator,
		ResponseValidation: contract.Enforce, ValidationCacheEntries: contract.DefaultCacheEntries}
	for _, f := range o.deps {
		f(&deps)
	}
	handler, err := server.New(deps)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	return &Service{Handler: handler, Issuer: issuer, Tokens: authenticator.Tokens, Metrics: m, Logs: logs}
}

// MustAuthenticator returns the service's authenticator over st, trusting a new test issuer.
func MustAuthenticator(t testing.TB, st store.Store, logger *slog.Logger) (*auth.Authenticator, *Issuer) {
	t.Helper()
	issuer := MustIssuer(t)
	return mustAuthenticator(t, st, logger, issuer, nil), issuer
}

// Option changes how MustStart, MustStartWith and MustService build the service.
type Option func(*options)

type options struct {
	keySet *auth.KeySetOptions
	issuer func(*Issuer)
	deps   []func(*server.Deps)
}

// WithKeySet sets how the service keeps the issuer's key set (default: refetch every millisecond).
func WithKeySet(o auth.KeySetOptions) Option { return func(opts *options) { opts.keySet = &o } }

// WithIssuer changes the test issuer before the service first fetches its keys.
func WithIssuer(f func(*Issuer)) Option { return func(opts *options) { opts.issuer = f } }

// WithDeps changes the service's dependencies before it is built.
func WithDeps(f func(*server.Deps)) Option {
	return func(opts *options) { opts.deps = append(opts.deps, f) }
}

func mustAuthenticator(t testing.TB, st store.Store, logger *slog.Logger, issuer *Issuer, keySet *auth.KeySetOptions) *auth.Authenticator {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	keyOpts := *cmp.Or(keySet, &auth.KeySetOptions{UnknownKeyRefetch: time.Millisecond})
	keyOpts.Logger = logger
	keys, err := auth.RemoteKeys(ctx, issuer.JWKSURL, keyOpts)
	if err != nil {
		t.Fatalf("key set: %v", err)
	}
	verifier, err := auth.NewVerifier(auth.VerifierConfig{Issuer: TestIssuer, Audience: TestAudience, Leeway: 30 * time.Second}, keys)
	if err != nil {
		t.Fatal(err)
	}
	return &auth.Authenticator{Verifier: verifier, Tokens: auth.NewAPITokens(st, nil)}
}

// MustStartWith starts a service on the given contract and store on a real listener.
func MustStartWith(t testing.TB, c *contract.Contract, st store.Store, opts ...Option) *Env {
	t.Helper()
	env := &Env{Service: MustService(t, c, st, opts...), Store: st, Contract: c, apiTokens: map[string]string{}}
	// Registered before the server's clean-up, so these run after its last request and log line.
	t.Cleanup(func() {
		if n := testutil.CollectAndCount(env.Metrics.ResponseValidationFailures); n > 0 && !env.allowFailures {
			t.Errorf("the service replaced %d off-contract responses; logs:\n%s", n, env.Logs.String())
		}
		env.assertNoSecretLogged(t)
	})
	ts := httptest.NewUnstartedServer(env.Handler)
	server.ApplyLimits(ts.Config)
	ts.Start()
	t.Cleanup(ts.Close)
	hc := &http.Client{Transport: &ValidatingTransport{T: t, Router: MustRouter(t, c)}}
	client, err := gen.NewClientWithResponses(ts.URL+contract.BasePath, gen.WithHTTPClient(hc))
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	env.URL, env.Addr, env.Client, env.HTTP = ts.URL+contract.BasePath, ts.Listener.Addr().String(), client, hc
	return env
}

// Sensitive registers values that must never be logged (MustImport and the credential helpers
// register theirs).
func (e *Env) Sensitive(values ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, values...)
}

func (e *Env) assertNoSecretLogged(t testing.TB) {
	t.Helper()
	logs := e.Logs.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.secrets {
		if s == "" {
			continue // an empty write-only value holds nothing to leak
		}
		quoted, _ := json.Marshal(s)
		// Short values (PINs) only as JSON strings: bare digits turn up in timestamps by chance.
		if strings.Contains(logs, string(quoted)) || len(s) >= 8 && strings.Contains(logs, s) {
			t.Errorf("a write-only value was logged (%d characters)", len(s))
		}
	}
}

// MustContract loads the embedded contract.
func MustContract(t testing.TB) *contract.Contract {
	t.Helper()
	c, err := contract.Load()
	if err != nil {
		t.Fatalf("load contract: %v", err)
	}
	return c
}

// MustRouter builds a kin-openapi router over the contract.
func MustRouter(t testing.TB, c *contract.Contract) routers.Router {
	t.Helper()
	r, err := gorillamux.NewRouter(c.Doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return r
}

// MustImport imports customers into the tenant's organization through the real import path.
func (e *Env) MustImport(t testing.TB, tenantID, organizationID string, customers ...gen.Customer) store.ImportSummary {
	t.Helper()
	list := make(gen.CustomerList, len(customers))
	for i := range customers {
		list[i] = gen.CustomerEntry{Customer: &customers[i]}
		raw, err := json.Marshal(customers[i])
		if err != nil {
			t.Fatalf("encode customer: %v", err)
		}
		found, err := WriteOnlyValues(e.Contract, raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, values := range found {
			e.Sensitive(values...)
		}
	}
	raw, err := json.Marshal(list)
	if err != nil {
		t.Fatalf("encode customers: %v", err)
	}
	sum, err := importer.Import(context.Background(), e.Store, e.Contract, tenantID, organizationID, bytes.NewReader(raw), importer.Options{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return sum
}

// ValidatingTransport fails the test on any response that breaks the contract (status
// included); outside the contract's paths, errors must be problem details.
type ValidatingTransport struct {
	T      testing.TB
	Router routers.Router
	Base   http.RoundTripper
}

// RoundTrip sends req and validates the response.
func (v *ValidatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := cmp.Or(v.Base, http.DefaultTransport).RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	plain, err := Decoded(resp.Header, body)
	if err != nil {
		v.T.Errorf("response to %s %s: %v", req.Method, req.URL.Path, err)
	}
	if err := ValidateResponse(v.Router, req, resp.StatusCode, resp.Header, plain); err != nil {
		v.T.Errorf("response to %s %s breaks the contract: %v", req.Method, req.URL.Path, err)
	}
	return resp, nil
}

// Decoded returns a body as sent before its Content-Encoding (gzip or none).
func Decoded(header http.Header, body []byte) ([]byte, error) {
	switch enc := header.Get("Content-Encoding"); enc {
	case "":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		return body, nil
	default:
		return nil, fmt.Errorf("unexpected Content-Encoding %q", enc)
	}
}

// ValidateResponse checks one response against the contract; outside it, problem details.
func ValidateResponse(r routers.Router, req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := r.FindRoute(req)
	if err != nil {
		return validateProblem(status, header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

func validateProblem(status int, header http.Header, body []byte) error {
	if status < 400 {
		return nil // health endpoints and the like
	}
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("Content-Type %s, want application/problem+json", ct)
	}
	var p gen.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("body is not problem details: %w", err)
	}
	if p.Status != status || p.Type == "" || p.Title == "" {
		return errors.New("problem details lack type, title or the response's status")
	}
	return nil
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, for captured logs.
type SyncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed and replaced by every write
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.buf.Write(p)
}

// Next returns a channel closed at the next write.
func (b *SyncBuffer) Next() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written == nil {
		b.written = make(chan struct{})
	}
	return b.written
}

// MustAccessLine waits for the access line of the request (it may trail the response).
func (e *Env) MustAccessLine(t testing.TB, requestID string) map[string]any {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		next := e.Logs.Next()
		for _, line := range strings.Split(e.Logs.String(), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == "request" && entry["request_id"] == requestID {
				return entry
			}
		}
		select {
		case <-next:
		case <-timeout:
			t.Fatalf("no access line for request %s:\n%s", requestID, e.Logs.String())
		}
	}
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
