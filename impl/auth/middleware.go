package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/audit"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

// DefaultScope is the scope an access token needs to read customers.
const DefaultScope = "customers:read"

// Authenticator binds every API request to one verified tenant.
type Authenticator struct {
	Verifier      *Verifier
	Tokens        *APITokens
	RequiredScope string // default DefaultScope
	limits        Limits
}

// Limits are the rate limits around authentication, as plain functions the server's assembly
// wires to its limiters: this package says what failed and what verified, and knows nothing of
// what that costs. A nil function is no limit.
type Limits struct {
	// Unverified is asked about a request before its credentials are checked, with whether the
	// Verifier remembers its bearer token (see Admit); the error it returns (a 429) is the answer.
	Unverified func(req *http.Request, remembered bool) error
	// Failed is told of every failed attempt, before its answer is written: each 401, and the
	// 403 of a verified access token for another tenant than tenantId or without the scope.
	// Nothing else is charged with a failure: the tenant an unverified token or a header names
	// is never told.
	Failed func(*http.Request)
	// Verified is told of a request whose access token and API token both verified for
	// tenantID; the error it returns (the tenant's 429) is the answer.
	Verified func(req *http.Request, tenantID string) error
}

// WithLimits returns a copy of a that applies l.
func (a *Authenticator) WithLimits(l Limits) *Authenticator {
	c := *a
	c.limits = l
	return &c
}

// failed charges a failed attempt.
func (a *Authenticator) failed(req *http.Request) {
	if a.limits.Failed != nil {
		a.limits.Failed(req)
	}
}

// Admit asks Limits.Unverified whether the request's credentials may be checked, saying
// whether the Verifier remembers its bearer token: verifying that again costs no signature
// check, so only an address that keeps failing is refused with it (its API token lookups are
// still work anyone can cause). It runs after ReadCredentials and before any costly check.
func (a *Authenticator) Admit(next echo.HandlerFunc) echo.HandlerFunc {
	if a.limits.Unverified == nil {
		return next
	}
	return func(c echo.Context) error {
		req := c.Request()
		creds := CredentialsFrom(req.Context())
		if creds == nil {
			return errors.New("auth: Admit runs after ReadCredentials")
		}
		remembered := creds.BearerErr == nil && a.Verifier.Remembers(creds.Bearer)
		if err := a.limits.Unverified(req, remembered); err != nil {
			return err
		}
		return next(c)
	}
}

// CheckBearer is the contract's bearer security check (an openapi3filter.AuthenticationFunc):
// the request carries an access token in the form RFC 6750 allows. A request without one is a
// failed attempt (the validator answers 401). Verifying the token is Middleware's job, after
// the rest of the request has been validated.
func (a *Authenticator) CheckBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	creds := CredentialsFrom(req.Context())
	if creds == nil {
		return errors.New("auth: CheckBearer runs after ReadCredentials")
	}
	if creds.BearerErr != nil {
		audit.FromContext(req.Context()).AuthFailure = string(ReasonMalformed)
		a.failed(req)
	}
	return creds.BearerErr
}

// Middleware checks both credentials (as ReadCredentials read them) and the tenant they are
// for, and puts the verified identity into the request context. It runs after the request
// validator, which has already refused missing or malformed headers (a missing `token` header
// is a 400 there).
//
// The checks come in an order that answers nothing about a credential the caller does not
// hold whole: the access token is verified (else 401); its tenant must be tenantId, and it must
// carry the scope (else 403, without the API token being looked at, so that the answer is the
// same whether the API token is live, revoked, another tenant's or made up); then the API
// token must be valid and tenantId's (else 401, the same for each of those). A failed API token
// is refused like a bad access token: an API token is a credential of its own tenant only, and
// any other answer would tell whoever holds a stolen one that it is real. The reason for each
// refusal goes to the request's audit record, for the log and the metrics only.
//
// Every failure is told to Limits.Failed; only a request whose both credentials verified is
// told to Limits.Verified, so a leaked access token alone cannot spend its tenant's budget.
func (a *Authenticator) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	scope := a.RequiredScope
	if scope == "" {
		scope = DefaultScope
	}
	return func(c echo.Context) error {
		req := c.Request()
		ctx := req.Context()
		_, span := telemetry.Start(ctx, "authenticate")
		defer span.End() // a refusal; a pass ends it before the handler
		record := audit.FromContext(ctx)
		refuse := func(reason Reason, answer error) error {
			record.AuthFailure = string(reason)
			a.failed(req)
			return answer
		}
		unauthenticated := func(err error) error {
			reason, _ := ReasonOf(err)
			return refuse(reason, problem.Unauthenticated(err))
		}
		creds := CredentialsFrom(ctx)
		if creds == nil {
			return errors.New("auth: Middleware runs after ReadCredentials")
		}
		if creds.BearerErr != nil {
			return unauthenticated(creds.BearerErr) // the contract's security check answers first
		}
		id, err := a.Verifier.Verify(creds.Bearer)
		if err != nil {
			return unauthenticated(err)
		}
		record.Subject = id.Subject
		tenantID := creds.TenantID
		if id.TenantID != tenantID {
			return refuse(ReasonTenantMismatch, &problem.Error{Kind: problem.Forbidden, Detail: "The access token does not grant access to this tenant."})
		}
		if !id.HasScope(scope) {
			return refuse(ReasonMissingScope, problem.InsufficientScope(scope))
		}
		token, err := a.Tokens.Check(ctx, creds.APIToken)
		if err != nil {
			if !errors.Is(err, ErrInvalidAPIToken) {
				return err // the token store failed: not the client's fault
			}
			return unauthenticated(err)
		}
		if token.TenantID != tenantID {
			return unauthenticated(fail(ReasonAPITokenOtherTenant, fmt.Errorf("%w: API token of another tenant", ErrInvalidAPIToken)))
		}
		if a.limits.Verified != nil {
			if err := a.limits.Verified(req, tenantID); err != nil {
				return err
			}
		}
		record.Tenant = tenantID
		c.SetRequest(req.WithContext(WithIdentity(ctx, id)))
		span.End()
		return next(c)
	}
}
