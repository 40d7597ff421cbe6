package store

import (
	"context"
	"time"
)

// APIToken is an API token of a tenant (the `token` header); only a hash of its secret is kept,
// and its times to the microsecond.
type APIToken struct {
	// ID is the token's public part.
	ID       string
	TenantID string
	Name     string
	// SecretHash is the SHA-256 of the secret part: 256 random bits need no slow hash.
	SecretHash []byte
	CreatedAt  time.Time
	// ExpiresAt is when the token stops working; zero for never.
	ExpiresAt time.Time
	// RevokedAt is when the token was revoked; zero while it is not.
	RevokedAt time.Time
}

// APITokenState is where an API token stands at a moment: the words listings show.
type APITokenState string

// The states of an API token.
const (
	APITokenActive  APITokenState = "active"
	APITokenExpired APITokenState = "expired"
	APITokenRevoked APITokenState = "revoked"
)

// State returns the token's state at now; revoked wins over expired, which starts at ExpiresAt.
func (t APIToken) State(now time.Time) APITokenState {
	switch {
	case !t.RevokedAt.IsZero():
		return APITokenRevoked
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return APITokenExpired
	}
	return APITokenActive
}

// TokenStore keeps API tokens.
type TokenStore interface {
	// CreateAPIToken stores a new token. Its tenant need not hold data yet.
	CreateAPIToken(ctx context.Context, t APIToken) error
	// APIToken returns the token with the given id, or ErrNotFound; it never waits behind reads.
	APIToken(ctx context.Context, id string) (APIToken, error)
	// APITokens returns the tenant's tokens, oldest first.
	APITokens(ctx context.Context, tenantID string) ([]APIToken, error)
	// RevokeAPIToken marks a token revoked (keeping the first time), or returns ErrNotFound.
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error
}
