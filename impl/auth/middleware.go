package auth

import (
	"errors"
	"fmt"

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
	// Limiter, when set, charges each request whose access token is verified to that token's
	// tenant, before the API token is looked up: failures (401, 403) count as much as successes.
	Limiter TenantLimiter
}

// TenantLimiter takes one request from a tenant's budget, or returns the error to answer (429).
type TenantLimiter interface {
	Take(tenantID string) error
}

// WithLimiter returns a copy of a that charges verified requests to l.
func (a *Authenticator) WithLimiter(l TenantLimiter) *Authenticator {
	c := *a
	c.Limiter = l
	return &c
}

// Middleware checks both credentials (as ReadCredentials read them) and the tenant they are
// for, and puts the verified identity into the request context. It runs after the request
// validator, which has already refused missing or malformed headers (a missing `token` header
// is a 400 there).
//
// Failures to authenticate all answer the same 401 (RFC 6750 invalid_token): a bad access
// token, and an API token that is unknown, revoked, expired or another tenant's (an API token
// is a credential for its own tenant only; answering 403 would confirm to whoever holds a
// stolen one that it is real). A verified access token that does not reach the tenant or lacks
// the scope answers 403. The reason for each refusal goes to the request's audit record, for
// the log and the metrics only.
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
		refuse := func(err error) error {
			reason, _ := ReasonOf(err)
			record.AuthFailure = string(reason)
			return problem.Unauthenticated(err)
		}
		creds := CredentialsFrom(ctx)
		if creds == nil {
			return errors.New("auth: Middleware runs after ReadCredentials")
		}
		if creds.BearerErr != nil {
			return refuse(creds.BearerErr) // the contract's security check answers first
		}
		id, err := a.Verifier.Verify(creds.Bearer)
		if err != nil {
			return refuse(err)
		}
		record.Subject = id.Subject
		if a.Limiter != nil {
			if err := a.Limiter.Take(id.TenantID); err != nil {
				return err
			}
		}
		tenantID := creds.TenantID
		token, err := a.Tokens.Check(ctx, creds.APIToken)
		if err != nil {
			if !errors.Is(err, ErrInvalidAPIToken) {
				return err // the token store failed: not the client's fault
			}
			return refuse(err)
		}
		if token.TenantID != tenantID {
			return refuse(fail(ReasonAPITokenOtherTenant, fmt.Errorf("%w: API token of another tenant", ErrInvalidAPIToken)))
		}
		if id.TenantID != tenantID {
			record.AuthFailure = string(ReasonTenantMismatch)
			return &problem.Error{Kind: problem.Forbidden, Detail: "The access token does not grant access to this tenant."}
		}
		if !id.HasScope(scope) {
			record.AuthFailure = string(ReasonMissingScope)
			return problem.InsufficientScope(scope)
		}
		record.Tenant = tenantID
		c.SetRequest(req.WithContext(WithIdentity(ctx, id)))
		span.End()
		return next(c)
	}
}
