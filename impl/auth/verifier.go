// Package auth verifies the two credentials of every request: the OAuth 2.0 bearer access token
// (a JWT checked against the issuer's published keys) and the tenant's API token (the `token`
// header). It binds each request to one tenant. It writes no cryptography of its own: JWTs are
// golang-jwt's, key sets keyfunc's.
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms are the signature algorithms accepted. `none` and HMAC are refused: an HMAC
// "signature" made with a public key is the classic confusion attack.
var Algorithms = []string{"RS256", "ES256", "EdDSA"}

// MaxLeeway bounds the clock skew allowed on exp, nbf and iat.
const MaxLeeway = 60 * time.Second

// DefaultMaxLifetime is the longest an access token may be valid, from iat (or from now, when
// it has no iat) to exp, unless VerifierConfig says otherwise.
const DefaultMaxLifetime = 24 * time.Hour

// ErrInvalidToken is the cause of every refused bearer token. What exactly failed stays in the
// wrapped error, for the log; clients learn only RFC 6750's invalid_token.
var ErrInvalidToken = errors.New("invalid access token")

// VerifierConfig says what a valid access token looks like.
type VerifierConfig struct {
	Issuer   string // required value of iss
	Audience string // required value in aud
	// TenantClaim names the claim that holds the tenant id (default tenant_id).
	TenantClaim string
	Leeway      time.Duration // allowed clock skew on exp, nbf and iat; at most MaxLeeway
	// MaxLifetime bounds exp minus iat (or exp minus now, without iat); default
	// DefaultMaxLifetime.
	MaxLifetime time.Duration
}

// Identity is what a verified access token says about its holder.
type Identity struct {
	Subject  string
	TenantID string
	Scopes   []string
}

// HasScope reports whether the identity was granted scope.
func (id Identity) HasScope(scope string) bool { return slices.Contains(id.Scopes, scope) }

// Verifier checks bearer access tokens locally against the issuer's keys.
type Verifier struct {
	cfg    VerifierConfig
	keys   jwt.Keyfunc
	parser *jwt.Parser
}

// NewVerifier returns a verifier that finds signing keys with keys.
func NewVerifier(cfg VerifierConfig, keys jwt.Keyfunc) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("access tokens need an issuer and an audience to be checked against")
	}
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = "tenant_id"
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	if cfg.MaxLifetime < 0 {
		return nil, fmt.Errorf("maximum lifetime %s: must be positive", cfg.MaxLifetime)
	}
	if cfg.Leeway < 0 || cfg.Leeway > MaxLeeway {
		return nil, fmt.Errorf("leeway %s: must be between 0 and %s", cfg.Leeway, MaxLeeway)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(Algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), // an iat after now plus the leeway is refused
	)
	return &Verifier{cfg: cfg, keys: keys, parser: parser}, nil
}

// Verify checks the token's JSON (no key twice), signature, algorithm, type, issuer, audience,
// validity period and lifetime, and returns its identity. Every failure wraps ErrInvalidToken
// and a Failure that names the check.
func (v *Verifier) Verify(token string) (Identity, error) {
	if err := noDuplicateKeys(token); err != nil {
		return Identity{}, fail(ReasonMalformed, fmt.Errorf("%w: %w", ErrInvalidToken, err))
	}
	claims := jwt.MapClaims{}
	parsed, err := v.parser.ParseWithClaims(token, claims, v.keys)
	if err != nil {
		return Identity{}, fail(classify(err), fmt.Errorf("%w: %w", ErrInvalidToken, err))
	}
	if typ, ok := parsed.Header["typ"]; ok && !acceptedType(typ) {
		return Identity{}, fail(ReasonMalformed, fmt.Errorf("%w: typ is not at+jwt or JWT", ErrInvalidToken))
	}
	exp, _ := claims.GetExpirationTime() // required and checked by the parser
	start := time.Now()
	if iat, _ := claims.GetIssuedAt(); iat != nil {
		start = iat.Time
	}
	if exp != nil && exp.Sub(start) > v.cfg.MaxLifetime {
		return Identity{}, fail(ReasonMalformed, fmt.Errorf("%w: valid for longer than %s", ErrInvalidToken, v.cfg.MaxLifetime))
	}
	id := Identity{Scopes: scopes(claims)}
	id.Subject, _ = claims["sub"].(string)
	id.TenantID, _ = claims[v.cfg.TenantClaim].(string)
	if id.TenantID == "" {
		return Identity{}, fail(ReasonMalformed, fmt.Errorf("%w: no %s claim", ErrInvalidToken, v.cfg.TenantClaim))
	}
	return id, nil
}

// scopes reads the granted scopes from `scope` (a space-separated string, RFC 8693) or `scp`
// (an array, as some issuers write it).
func scopes(claims jwt.MapClaims) []string {
	var out []string
	if s, ok := claims["scope"].(string); ok {
		out = append(out, strings.Fields(s)...)
	}
	switch scp := claims["scp"].(type) {
	case []any:
		for _, v := range scp {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	case string:
		out = append(out, strings.Fields(scp)...)
	}
	return out
}

type identityKey struct{}

// WithIdentity returns ctx carrying the request's verified identity.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the verified identity of the request, if there is one.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}
