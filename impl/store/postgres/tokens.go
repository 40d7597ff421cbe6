package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

var _ store.TokenStore = (*Store)(nil)

// CreateAPIToken stores a new API token.
func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) error {
	_, err := s.pool.Exec(ctx, sqlstore.CreateTokenSQL, t.ID, t.TenantID, t.Name, t.SecretHash, t.CreatedAt, optionalTime(t.ExpiresAt))
	if err != nil {
		return s.fail(err, "create API token of tenant %q", t.TenantID)
	}
	return nil
}

// APIToken returns the token with the given id, or store.ErrNotFound, on the lookups' pool.
func (s *Store) APIToken(ctx context.Context, id string) (store.APIToken, error) {
	var t store.APIToken
	conn, err := s.acquire(ctx, s.lookups)
	if err == nil {
		defer conn.Release()
		t, err = scanToken(conn.QueryRow(ctx, sqlstore.TokenSQL, id))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIToken{}, sqlstore.TokenNotFound(id)
	}
	if err != nil {
		return store.APIToken{}, s.fail(err, "load API token %q", id)
	}
	return t, nil
}

// APITokens returns the tenant's API tokens, oldest first.
func (s *Store) APITokens(ctx context.Context, tenantID string) ([]store.APIToken, error) {
	rows, err := s.pool.Query(ctx, sqlstore.TokensSQL, tenantID)
	if err != nil {
		return nil, s.fail(err, "list API tokens of tenant %q", tenantID)
	}
	tokens, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.APIToken, error) { return scanToken(row) })
	if err != nil {
		return nil, s.fail(err, "list API tokens of tenant %q", tenantID)
	}
	return tokens, nil
}

// RevokeAPIToken marks the token revoked, keeping the first revocation time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, sqlstore.RevokeTokenSQL, at, id)
	if err != nil {
		return s.fail(err, "revoke API token %q", id)
	}
	if tag.RowsAffected() == 0 {
		return sqlstore.TokenNotFound(id)
	}
	return nil
}

func scanToken(row pgx.Row) (store.APIToken, error) {
	var (
		t                store.APIToken
		expires, revoked *time.Time
	)
	if err := row.Scan(&t.ID, &t.TenantID, &t.Name, &t.SecretHash, &t.CreatedAt, &expires, &revoked); err != nil {
		return store.APIToken{}, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if expires != nil {
		t.ExpiresAt = expires.UTC()
	}
	if revoked != nil {
		t.RevokedAt = revoked.UTC()
	}
	return t, nil
}

// optionalTime is the stored form of an optional time: NULL for the zero time.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
