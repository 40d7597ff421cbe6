package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
)

// errInvalidAPIToken is the cause of every refused `token` header.
var errInvalidAPIToken = errors.New("invalid API token")

// apiTokenPrefix makes a leaked API token recognisable to people and secret scanners.
const apiTokenPrefix = "cat_"

// APITokens issues and checks API tokens. A token is `cat_<id>.<secret>`: the id names it in
// listings and revocations, the secret (256 random bits) is stored only as its SHA-256.
type APITokens struct {
	store store.TokenStore
	now   func() time.Time
}

// NewAPITokens returns an issuer and checker of API tokens kept in st.
func NewAPITokens(st store.TokenStore, now func() time.Time) *APITokens {
	if now == nil {
		now = time.Now
	}
	return &APITokens{store: st, now: now}
}

// Issue creates a token for the tenant, valid for ttl (0: until revoked); it cannot be shown again.
func (a *APITokens) Issue(ctx context.Context, tenantID, name string, ttl time.Duration) (string, store.APIToken, error) {
	var id [16]byte
	var secret [32]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	_, _ = rand.Read(secret[:])
	encoded := base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(encoded))
	now := a.now().UTC()
	t := store.APIToken{ID: hex.EncodeToString(id[:]), TenantID: tenantID, Name: name, SecretHash: sum[:], CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	if err := a.store.CreateAPIToken(ctx, t); err != nil {
		return "", store.APIToken{}, err
	}
	return apiTokenPrefix + t.ID + "." + encoded, t, nil
}

// APITokenID returns the id arg names: an id (with or without cat_) or a whole token.
func APITokenID(arg string) (string, bool) {
	id, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(arg), apiTokenPrefix), ".")
	if len(id) != 32 {
		return "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", false
	}
	return strings.ToLower(id), true
}

// Check returns the stored token, if valid now; a refusal is a *Failure. The secret is compared
// in constant time, an unknown id costing the same.
func (a *APITokens) Check(ctx context.Context, token string) (store.APIToken, error) {
	id, secret, ok := strings.Cut(strings.TrimPrefix(token, apiTokenPrefix), ".")
	if !strings.HasPrefix(token, apiTokenPrefix) || !ok || len(id) != 32 || secret == "" {
		return store.APIToken{}, fail(ReasonAPITokenUnknown, fmt.Errorf("%w: malformed", errInvalidAPIToken))
	}
	sum := sha256.Sum256([]byte(secret))
	t, err := a.store.APIToken(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		subtle.ConstantTimeCompare(sum[:], make([]byte, sha256.Size))
		return store.APIToken{}, fail(ReasonAPITokenUnknown, fmt.Errorf("%w: unknown", errInvalidAPIToken))
	case err != nil:
		return store.APIToken{}, fmt.Errorf("check API token: %w", err)
	}
	// The secret first: whether a token is revoked or expired is for its holder only.
	if subtle.ConstantTimeCompare(sum[:], t.SecretHash) != 1 {
		return store.APIToken{}, fail(ReasonAPITokenUnknown, fmt.Errorf("%w: wrong secret", errInvalidAPIToken))
	}
	switch t.State(a.now()) {
	case store.APITokenRevoked:
		return store.APIToken{}, fail(ReasonAPITokenRevoked, fmt.Errorf("%w: revoked", errInvalidAPIToken))
	case store.APITokenExpired:
		return store.APIToken{}, fail(ReasonAPITokenExpired, fmt.Errorf("%w: expired", errInvalidAPIToken))
	}
	return t, nil
}
