package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/telemetry"
)

// DefaultScope is the scope an access token needs to read customers.
const DefaultScope = "customers:read"

// Reason names the check that refused a credential: for operators (the access log and
// customer_api_auth_failures_total), never for clients. It never holds part of a credential.
type Reason string

// The closed set of reasons.
const (
	ReasonExpired             Reason = "expired"                // access token past exp (and the leeway)
	ReasonNotYetValid         Reason = "not_yet_valid"          // nbf or iat after now (and the leeway)
	ReasonBadSignature        Reason = "bad_signature"          // signature, or an algorithm not accepted
	ReasonUnknownKey          Reason = "unknown_key"            // kid not in the issuer's key set, even after a refetch
	ReasonWrongIssuer         Reason = "wrong_issuer"           // iss
	ReasonWrongAudience       Reason = "wrong_audience"         // aud
	ReasonMalformed           Reason = "malformed"              // missing, unparsable or outside the token profile (typ, crit, duplicate keys, lifetime, no tenant)
	ReasonAPITokenUnknown     Reason = "api_token_unknown"      // no such API token, a wrong secret, or not an API token at all
	ReasonAPITokenRevoked     Reason = "api_token_revoked"      // the API token was revoked
	ReasonAPITokenExpired     Reason = "api_token_expired"      // the API token expired
	ReasonAPITokenOtherTenant Reason = "api_token_other_tenant" // a valid API token of another tenant than tenantId
	ReasonTenantMismatch      Reason = "tenant_mismatch"        // the access token's tenant is not tenantId (forbidden)
	ReasonMissingScope        Reason = "missing_scope"          // the access token lacks the required scope (forbidden)
)

// Reasons lists every reason, so that metrics can show each from the start.
var Reasons = []Reason{
	ReasonExpired, ReasonNotYetValid, ReasonBadSignature, ReasonUnknownKey, ReasonWrongIssuer,
	ReasonWrongAudience, ReasonMalformed, ReasonAPITokenUnknown, ReasonAPITokenRevoked,
	ReasonAPITokenExpired, ReasonAPITokenOtherTenant, ReasonTenantMismatch, ReasonMissingScope,
}

// ErrForbidden is the cause of a refusal whose access token verified: another tenant's, or
// without the scope (Failure.Scope).
var ErrForbidden = errors.New("the access token does not grant this request")

// Failure is a request auth refused. Reason names the refused credential's check (empty when the
// tenant's own limit refused it); Subject is the verified access token's, if any; Scope the one
// lacking (ReasonMissingScope).
type Failure struct {
	Reason  Reason
	Subject string
	Scope   string
	Err     error
}

func (f *Failure) Error() string { return fmt.Sprintf("%s (%s)", f.Err, f.Reason) }

func (f *Failure) Unwrap() error { return f.Err }

func fail(reason Reason, err error) error { return &Failure{Reason: reason, Err: err} }

// RepeatedHeader refuses credential headers (Names, as the contract spells them) sent more than
// once: which value a layer reads would be chance, and a check passed on one bypassed with another.
type RepeatedHeader struct{ Names []string }

func (e *RepeatedHeader) Error() string {
	return "credential headers sent more than once: " + strings.Join(e.Names, ", ")
}

// Authenticator binds every API request to one verified tenant.
type Authenticator struct {
	Verifier      *Verifier
	Tokens        *APITokens
	RequiredScope string // default DefaultScope
	Limits        Limits
}

// Limits are the rate limits around authentication, wired by the server's assembly: this package
// says what failed and what verified, not what it costs. A nil function is no limit.
type Limits struct {
	// Unverified is asked before credentials are checked, with whether the Verifier remembers the
	// bearer token; its error is the answer.
	Unverified func(req *http.Request, remembered bool) error
	// Failed is told of every refused credential, and of nothing else.
	Failed func(*http.Request)
	// Verified is told of a request whose both credentials verified for tenantID; its error is
	// the answer (so a leaked access token alone cannot spend its tenant's budget).
	Verified func(req *http.Request, tenantID string) error
}

func (a *Authenticator) failed(req *http.Request) {
	if a.Limits.Failed != nil {
		a.Limits.Failed(req)
	}
}

// credentials are a request's three credential headers, read and parsed once by Admit.
type credentials struct {
	bearer    string
	bearerErr error // a missing or malformed bearer: the contract's security check answers it
	apiToken  string
	tenantID  string
}

type credentialsKey struct{}

func credentialsFrom(ctx context.Context) *credentials {
	c, _ := ctx.Value(credentialsKey{}).(*credentials)
	return c
}

// credentialHeaders are spelled as in the contract, with their canonical keys: looked up by
// key, a request's header map is read without canonicalizing a name on every request.
var credentialHeaders = []struct{ canonical, name string }{
	{"Authorization", "Authorization"}, {"Token", "token"}, {"Tenantid", "tenantId"},
}

// Admit reads the credential headers once (each must be sent once), then asks Limits.Unverified
// whether they may be checked, before any costly work.
func (a *Authenticator) Admit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		var repeated []string
		for _, h := range credentialHeaders {
			if len(req.Header[h.canonical]) > 1 {
				repeated = append(repeated, h.name)
			}
		}
		if repeated != nil {
			return &RepeatedHeader{Names: repeated}
		}
		creds := &credentials{apiToken: req.Header.Get("token"), tenantID: req.Header.Get("tenantId")}
		creds.bearer, creds.bearerErr = parseBearer(req.Header.Get("Authorization"))
		if a.Limits.Unverified != nil {
			if err := a.Limits.Unverified(req, creds.bearerErr == nil && a.Verifier.Remembers(creds.bearer)); err != nil {
				return err
			}
		}
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), credentialsKey{}, creds)))
		return next(c)
	}
}

// CheckBearer is the contract's bearer security check (an openapi3filter.AuthenticationFunc): a
// bearer token of the form RFC 6750 allows. Verifying it is Middleware's job, after the request
// has been validated.
func (a *Authenticator) CheckBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	creds := credentialsFrom(req.Context())
	if creds == nil {
		return errors.New("auth: CheckBearer runs after Admit")
	}
	if creds.bearerErr != nil {
		a.failed(req)
	}
	return creds.bearerErr
}

// Middleware verifies both credentials and puts the identity into the request context. Its
// order tells nothing about a credential the caller does not hold whole: the access token
// (401); its tenant and scope (403, before the API token is looked at); the API token, which
// must be tenantId's (401 alike for unknown, revoked, expired or another tenant's).
func (a *Authenticator) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	scope := cmp.Or(a.RequiredScope, DefaultScope)
	return func(c echo.Context) error {
		req := c.Request()
		ctx := req.Context()
		_, span := telemetry.Start(ctx, "authenticate")
		defer span.End() // a refusal; a pass ends it before the handler
		creds := credentialsFrom(ctx)
		if creds == nil {
			return errors.New("auth: Middleware runs after Admit")
		}
		id, err := a.verify(ctx, creds, scope)
		if err != nil {
			if errors.As(err, new(*Failure)) {
				a.failed(req)
			}
			return err
		}
		if a.Limits.Verified != nil {
			if err := a.Limits.Verified(req, id.TenantID); err != nil {
				return &Failure{Subject: id.Subject, Err: err}
			}
		}
		c.SetRequest(req.WithContext(context.WithValue(ctx, identityKey{}, id)))
		span.End()
		return next(c)
	}
}

// verify checks creds in Middleware's order; a refusal is a *Failure, anything else a failure
// of the token store.
func (a *Authenticator) verify(ctx context.Context, creds *credentials, scope string) (Identity, error) {
	if creds.bearerErr != nil {
		return Identity{}, creds.bearerErr
	}
	id, err := a.Verifier.Verify(creds.bearer)
	if err != nil {
		return Identity{}, err
	}
	refuse := func(f *Failure) (Identity, error) {
		f.Subject = id.Subject
		return Identity{}, f
	}
	switch {
	case id.TenantID != creds.tenantID:
		return refuse(&Failure{Reason: ReasonTenantMismatch, Err: ErrForbidden})
	case !id.HasScope(scope):
		return refuse(&Failure{Reason: ReasonMissingScope, Scope: scope, Err: ErrForbidden})
	}
	token, err := a.Tokens.Check(ctx, creds.apiToken)
	var f *Failure
	switch {
	case errors.As(err, &f):
		return refuse(f)
	case err != nil:
		return Identity{}, err
	case token.TenantID != creds.tenantID:
		return refuse(&Failure{Reason: ReasonAPITokenOtherTenant, Err: fmt.Errorf("%w: API token of another tenant", errInvalidAPIToken)})
	}
	return id, nil
}

const maxBearerLength = 8 << 10 // real JWTs are a few hundred bytes to a few KiB

// parseBearer returns the token of "Bearer <token68>", the scheme in any case (RFC 7235).
func parseBearer(header string) (string, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(token) > maxBearerLength || !isToken68(token) {
		return "", fail(ReasonMalformed, errors.New("no bearer access token"))
	}
	return token, nil
}

// isToken68 reports whether s is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	s = strings.TrimRight(s, "=")
	return s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/") == ""
}
