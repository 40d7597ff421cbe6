package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/audit"
	"github.com/cyrexa/customer-api/impl/problem"
)

// DefaultScope is the scope an access token needs to read customers.
const DefaultScope = "customers:read"

// Authenticator binds every API request to one verified tenant.
type Authenticator struct {
	Verifier      *Verifier
	Tokens        *APITokens
	RequiredScope string // default DefaultScope
}

// Middleware checks both credentials and the tenant they are for, and puts the verified identity
// into the request context. It runs after the request validator, which has already refused
// missing or malformed headers.
//
// Failures to authenticate all answer the same 401 (RFC 6750 invalid_token); valid credentials
// that do not reach the tenant or lack the scope answer 403.
func (a *Authenticator) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	scope := a.RequiredScope
	if scope == "" {
		scope = DefaultScope
	}
	return func(c echo.Context) error {
		req := c.Request()
		ctx := req.Context()
		bearer, ok := cutSchemeFold(req.Header.Get("Authorization"))
		if !ok {
			return problem.Unauthenticated(errors.New("no bearer token"))
		}
		id, err := a.Verifier.Verify(bearer)
		if err != nil {
			return problem.Unauthenticated(err)
		}
		tenantID := req.Header.Get("tenantId")
		record := audit.FromContext(ctx)
		record.Subject = id.Subject
		token, err := a.Tokens.Check(ctx, req.Header.Get("token"))
		if err != nil {
			if !errors.Is(err, ErrInvalidAPIToken) {
				return err // the token store failed: not the client's fault
			}
			return problem.Unauthenticated(err)
		}
		if token.TenantID != tenantID {
			return problem.Unauthenticated(fmt.Errorf("%w: API token of another tenant", ErrInvalidAPIToken))
		}
		if id.TenantID != tenantID {
			return &problem.Error{Kind: problem.Forbidden, Detail: "The access token does not grant access to this tenant."}
		}
		if !id.HasScope(scope) {
			return &problem.Error{
				Kind:   problem.Forbidden,
				Detail: "The access token lacks the " + scope + " scope.",
				Header: http.Header{"WWW-Authenticate": {`Bearer realm="customer-api", error="insufficient_scope", scope="` + scope + `"`}},
			}
		}
		record.Tenant = tenantID
		c.SetRequest(req.WithContext(WithIdentity(ctx, id)))
		return next(c)
	}
}

// cutSchemeFold accepts the scheme in any case ("bearer x"), as RFC 7235 allows.
func cutSchemeFold(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return token, true
}
