// Package auth verifies a request's two credentials, the bearer access token (a JWT, golang-jwt's,
// against keyfunc's key sets) and the tenant's API token, and binds the request to one tenant.
// It returns domain errors (*Failure, *RepeatedHeader); package problem turns them into answers.
package auth

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
)

// algorithms are those accepted: not `none`, not HMAC (signed with a public key: the confusion attack).
var algorithms = []string{"RS256", "ES256", "EdDSA"}

// MaxLeeway bounds the clock skew allowed on exp, nbf and iat.
const MaxLeeway = 60 * time.Second

// DefaultMaxLifetime is the longest an access token may be valid, from iat (or now) to exp.
const DefaultMaxLifetime = 24 * time.Hour

// errInvalidToken is the cause of every refused bearer token; clients learn only invalid_token.
var errInvalidToken = errors.New("invalid access token")

// VerifierConfig says what a valid access token looks like.
type VerifierConfig struct {
	Issuer      string        // required value of iss
	Audience    string        // required value in aud
	TenantClaim string        // the claim holding the tenant id (default tenant_id)
	Leeway      time.Duration // allowed clock skew on exp, nbf and iat; at most MaxLeeway
	MaxLifetime time.Duration // bounds exp minus iat (or now); default DefaultMaxLifetime
}

// Identity is what a verified access token says about its holder.
type Identity struct {
	Subject  string
	TenantID string
	Scopes   []string
}

// HasScope reports whether the identity was granted scope.
func (id Identity) HasScope(scope string) bool { return slices.Contains(id.Scopes, scope) }

// Verifier checks bearer access tokens against the issuer's keys. A signature check is most of a
// request's cost, so a token that passed is remembered (by its SHA-256) for verifiedFor; its
// expiry and that the key set still holds its signing key are checked on every use.
type Verifier struct {
	cfg      VerifierConfig
	keys     jwt.Keyfunc
	parser   *jwt.Parser
	verified *lru.Cache[[sha256.Size]byte, verifiedToken]
	now      func() time.Time // time.Now; tests move it
}

// verifiedFor is the longest a verified token is remembered; verifiedTokens how many are.
const (
	verifiedFor    = time.Minute
	verifiedTokens = 10_000
)

type verifiedToken struct {
	identity Identity
	exp      time.Time // the token's expiry
	until    time.Time // when it must be verified in full again
	header   map[string]any
	key      any // the public key that verified its signature
}

func (v *Verifier) stillSigned(t verifiedToken) bool {
	key, err := v.keys(&jwt.Token{Header: t.header})
	if err != nil {
		return false
	}
	same, ok := key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && same.Equal(t.key)
}

// NewVerifier returns a verifier that finds signing keys with keys.
func NewVerifier(cfg VerifierConfig, keys jwt.Keyfunc) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("access tokens need an issuer and an audience to be checked against")
	}
	cfg.TenantClaim = cmp.Or(cfg.TenantClaim, "tenant_id")
	cfg.MaxLifetime = cmp.Or(cfg.MaxLifetime, DefaultMaxLifetime)
	if cfg.MaxLifetime < 0 {
		return nil, fmt.Errorf("maximum lifetime %s: must be positive", cfg.MaxLifetime)
	}
	if cfg.Leeway < 0 || cfg.Leeway > MaxLeeway {
		return nil, fmt.Errorf("leeway %s: must be between 0 and %s", cfg.Leeway, MaxLeeway)
	}
	v := &Verifier{cfg: cfg, keys: keys, now: time.Now}
	v.verified, _ = lru.New[[sha256.Size]byte, verifiedToken](verifiedTokens)
	v.parser = jwt.NewParser(
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
		jwt.WithValidMethods(algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), // an iat after now plus the leeway is refused
	)
	return v, nil
}

// Verify checks the token's JSON (no key twice), signature, algorithm, crit, typ, iss, aud,
// validity and lifetime, and returns its identity; a refusal is a *Failure wrapping errInvalidToken.
func (v *Verifier) Verify(token string) (Identity, error) {
	key := sha256.Sum256([]byte(token))
	now := v.now()
	if known, ok := v.verified.Get(key); ok && now.Before(known.until) && v.stillSigned(known) {
		if now.After(known.exp.Add(v.cfg.Leeway)) {
			v.verified.Remove(key)
			return Identity{}, fail(ReasonExpired, fmt.Errorf("%w: %w", errInvalidToken, jwt.ErrTokenExpired))
		}
		return known.identity, nil
	}
	id, verified, err := v.verify(token)
	if err != nil {
		v.verified.Remove(key) // remembered before, refused now: its key is gone, say
		return Identity{}, err
	}
	verified.until = now.Add(verifiedFor)
	v.verified.Add(key, verified)
	return id, nil
}

// Remembers reports whether verifying token again would cost no signature check.
func (v *Verifier) Remembers(token string) bool {
	known, ok := v.verified.Peek(sha256.Sum256([]byte(token)))
	return ok && v.now().Before(known.until)
}

func (v *Verifier) verify(token string) (Identity, verifiedToken, error) {
	refuse := func(reason Reason, err error) (Identity, verifiedToken, error) {
		return Identity{}, verifiedToken{}, fail(reason, fmt.Errorf("%w: %w", errInvalidToken, err))
	}
	if err := noDuplicateKeys(token); err != nil {
		return refuse(ReasonMalformed, err)
	}
	claims := jwt.MapClaims{}
	var signer any
	parsed, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		key, err := v.keys(t)
		signer = key
		return key, err
	})
	if err != nil {
		return refuse(classify(err), err)
	}
	if _, ok := parsed.Header["crit"]; ok {
		// RFC 7515, 4.1.11: golang-jwt ignores crit; this service understands no extension.
		return refuse(ReasonMalformed, errors.New("crit names extensions this service does not understand"))
	}
	if typ, ok := parsed.Header["typ"]; ok && !acceptedType(typ) {
		return refuse(ReasonMalformed, errors.New("typ is not at+jwt or JWT"))
	}
	exp, _ := claims.GetExpirationTime() // required and checked by the parser
	start := v.now()
	if iat, _ := claims.GetIssuedAt(); iat != nil {
		start = iat.Time
	}
	if exp.Sub(start) > v.cfg.MaxLifetime {
		return refuse(ReasonMalformed, fmt.Errorf("valid for longer than %s", v.cfg.MaxLifetime))
	}
	id := Identity{Scopes: scopes(claims)}
	id.Subject, _ = claims["sub"].(string)
	id.TenantID, _ = claims[v.cfg.TenantClaim].(string)
	if id.TenantID == "" {
		return refuse(ReasonMalformed, fmt.Errorf("no %s claim", v.cfg.TenantClaim))
	}
	header := map[string]any{"kid": parsed.Header["kid"], "alg": parsed.Header["alg"]}
	return id, verifiedToken{identity: id, exp: exp.Time, header: header, key: signer}, nil
}

// scopes reads `scope` (space-separated, RFC 8693) and `scp` (an array, as some issuers write).
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

// identityKey holds the request's verified identity: Middleware is its one writer.
type identityKey struct{}

// FromContext returns the verified identity of the request, if there is one.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// errDuplicateKey: decoders disagree on which of two equal keys wins, so a signer's and a
// verifier's view of one token could differ.
var errDuplicateKey = errors.New("a JSON object of the token names a key twice")

// noDuplicateKeys checks a compact JWS's header and claims for repeated keys at any depth;
// what does not decode is left to the JWT parser.
func noDuplicateKeys(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	for _, segment := range parts[:2] {
		raw, err := base64.RawURLEncoding.DecodeString(segment)
		if err != nil {
			return nil
		}
		if err := uniqueKeys(json.NewDecoder(bytes.NewReader(raw))); err != nil {
			return err
		}
	}
	return nil
}

// uniqueKeys reads one JSON value and fails on an object that repeats a key.
func uniqueKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil || (tok != json.Delim('{') && tok != json.Delim('[')) {
		return nil
	}
	keys := map[string]bool{}
	for dec.More() {
		if tok == json.Delim('{') {
			key, err := dec.Token()
			if k, _ := key.(string); err != nil || keys[k] {
				return cmp.Or(err, errDuplicateKey)
			}
			keys[key.(string)] = true
		}
		if err := uniqueKeys(dec); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// acceptedType reports whether typ is at+jwt (RFC 9068) or JWT, in any case, with or without
// "application/" (RFC 7515, 4.1.9).
func acceptedType(typ any) bool {
	s, _ := typ.(string)
	s = strings.TrimPrefix(strings.ToLower(s), "application/")
	return s == "at+jwt" || s == "jwt"
}

// classify names the check of golang-jwt that refused a token.
func classify(err error) Reason {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ReasonMalformed
	case errors.Is(err, jwkset.ErrKeyNotFound):
		return ReasonUnknownKey
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return ReasonBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ReasonNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ReasonWrongIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ReasonWrongAudience
	}
	return ReasonMalformed
}
