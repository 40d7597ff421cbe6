package store

import (
	"context"
	"time"
)

// APIToken is an API token issued to a tenant's integration: the value of the `token` header.
// Only a hash of its secret part is kept; the token itself is shown once, when it is issued.
// Stores keep its times to the microsecond.
type APIToken struct {
	// ID is the token's public part: it names the token in listings and revocations.
	ID       string
	TenantID string
	Name     string
	// SecretHash is the SHA-256 of the token's secret part. The secret is 256 random bits, so a
	// fast hash is as safe as a slow one and costs nothing per request.
	SecretHash []byte
	CreatedAt  time.Time
	// ExpiresAt is when the token stops working; zero for never.
	ExpiresAt time.Time
	// RevokedAt is when the token was revoked; zero while it is not.
	RevokedAt time.Time
}

// APITokenState is where an API token stands at a moment: the words listings show.
type APITokenState string

// The states of an API token. A revoked token stays revoked when it would also have expired.
const (
	APITokenActive  APITokenState = "active"
	APITokenExpired APITokenState = "expired"
	APITokenRevoked APITokenState = "revoked"
)

// State returns the token's state at now: revoked once RevokedAt is set, expired from ExpiresAt
// on (the instant itself included), active otherwise.
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
	// APIToken returns the token with the given id, or ErrNotFound; failures to reach the
	// database wrap ErrUnavailable. It never waits behind reads of organizations or imports
	// (see Store.OrganizationVersion).
	APIToken(ctx context.Context, id string) (APIToken, error)
	// APITokens returns the tenant's tokens, oldest first.
	APITokens(ctx context.Context, tenantID string) ([]APIToken, error)
	// RevokeAPIToken marks a token revoked (keeping the first revocation time), or returns
	// ErrNotFound.
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error
}
