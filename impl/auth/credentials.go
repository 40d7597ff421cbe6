package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/problem"
)

// Credentials are a request's three credential headers, read and parsed once by
// ReadCredentials; the contract's security check and Authenticator use them as they are.
type Credentials struct {
	// Bearer is the access token of the Authorization header, when BearerErr is nil.
	Bearer    string
	BearerErr error
	// APIToken and TenantID are the token and tenantId headers, as sent.
	APIToken string
	TenantID string
}

type credentialsKey struct{}

// CredentialsFrom returns the credentials ReadCredentials put into ctx, or nil.
func CredentialsFrom(ctx context.Context) *Credentials {
	c, _ := ctx.Value(credentialsKey{}).(*Credentials)
	return c
}

// credentialHeaders must appear at most once: with two values, which one a layer reads is a
// matter of chance, and a check passed on one could be bypassed with the other. Each is named
// as the contract spells it.
var credentialHeaders = []struct{ canonical, name string }{
	{"Authorization", "Authorization"}, {"Token", "token"}, {"Tenantid", "tenantId"},
}

// ReadCredentials reads the credential headers once, refusing (400) any that is sent twice, and
// puts them into the request context. The bearer token's form is checked here; whether it is
// missing or malformed is the contract's security check to answer (Authenticator.CheckBearer).
func ReadCredentials(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		var repeated []gen.InvalidParam
		for _, h := range credentialHeaders {
			if len(req.Header[h.canonical]) > 1 {
				repeated = append(repeated, gen.InvalidParam{In: gen.InvalidParamInHeader, Name: h.name, Reason: "must be sent once"})
			}
		}
		if len(repeated) > 0 {
			return &problem.Error{Kind: problem.InvalidRequest, Detail: "A credential header was sent more than once.", InvalidParams: repeated}
		}
		creds := &Credentials{APIToken: req.Header.Get("token"), TenantID: req.Header.Get("tenantId")}
		creds.Bearer, creds.BearerErr = parseBearer(req.Header.Get("Authorization"))
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), credentialsKey{}, creds)))
		return next(c)
	}
}

// maxBearerLength bounds the access token; real JWTs are a few hundred bytes to a few KiB.
const maxBearerLength = 8 << 10

// parseBearer returns the token of an Authorization header "Bearer <token68>"; the scheme is
// matched in any case ("bearer x"), as RFC 7235 allows.
func parseBearer(header string) (string, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(token) > maxBearerLength || !isToken68(token) {
		return "", fail(ReasonMalformed, errors.New("no bearer access token"))
	}
	return token, nil
}

// isToken68 reports whether s has the syntax of RFC 7235's token68.
func isToken68(s string) bool {
	s = strings.TrimRight(s, "=")
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case strings.ContainsRune("-._~+/", r):
		default:
			return false
		}
	}
	return true
}
