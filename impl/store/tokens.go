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

// TokenStore keeps API tokens.
type TokenStore interface {
	// CreateAPIToken stores a new token. Its tenant need not hold data yet.
	CreateAPIToken(ctx context.Context, t APIToken) error
	// APIToken returns the token with the given id, or ErrNotFound.
	APIToken(ctx context.Context, id string) (APIToken, error)
	// APITokens returns the tenant's tokens, oldest first.
	APITokens(ctx context.Context, tenantID string) ([]APIToken, error)
	// RevokeAPIToken marks a token revoked (keeping the first revocation time), or returns
	// ErrNotFound.
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error
}
