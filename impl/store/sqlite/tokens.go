package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

var _ store.TokenStore = (*Store)(nil)

// timeLayout stores times as sortable UTC text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// CreateAPIToken stores a new API token.
func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) error {
	_, err := s.db.ExecContext(ctx, sqlstore.CreateTokenSQL, t.ID, t.TenantID, t.Name, t.SecretHash, formatTime(t.CreatedAt), nullTime(t.ExpiresAt))
	if err != nil {
		return s.fail(err, "create API token of tenant %q", t.TenantID)
	}
	return nil
}

// APIToken returns the API token with the given id, or store.ErrNotFound.
func (s *Store) APIToken(ctx context.Context, id string) (store.APIToken, error) {
	t, err := scanToken(s.lookup(ctx, sqlstore.TokenSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIToken{}, sqlstore.TokenNotFound(id)
	}
	if err != nil {
		return store.APIToken{}, s.fail(err, "load API token %q", id)
	}
	return t, nil
}

// APITokens returns the tenant's API tokens, oldest first.
func (s *Store) APITokens(ctx context.Context, tenantID string) ([]store.APIToken, error) {
	tokens, err := queryAll(ctx, s.db, sqlstore.TokensSQL, func(rows *sql.Rows) (store.APIToken, error) { return scanToken(rows) }, tenantID)
	if err != nil {
		return nil, s.fail(err, "list API tokens of tenant %q", tenantID)
	}
	return tokens, nil
}

// RevokeAPIToken marks the token revoked, keeping the first revocation time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	n, err := affected(s.db.ExecContext(ctx, sqlstore.RevokeTokenSQL, formatTime(at), id))
	if err != nil {
		return s.fail(err, "revoke API token %q", id)
	}
	if n == 0 {
		return sqlstore.TokenNotFound(id)
	}
	return nil
}

func scanToken(row interface{ Scan(...any) error }) (store.APIToken, error) {
	var (
		t                store.APIToken
		created          string
		expires, revoked sql.NullString
	)
	if err := row.Scan(&t.ID, &t.TenantID, &t.Name, &t.SecretHash, &created, &expires, &revoked); err != nil {
		return store.APIToken{}, err
	}
	var err error
	if t.CreatedAt, err = time.Parse(timeLayout, created); err != nil {
		return store.APIToken{}, fmt.Errorf("created_at: %w", err)
	}
	if expires.Valid {
		if t.ExpiresAt, err = time.Parse(timeLayout, expires.String); err != nil {
			return store.APIToken{}, fmt.Errorf("expires_at: %w", err)
		}
	}
	if revoked.Valid {
		if t.RevokedAt, err = time.Parse(timeLayout, revoked.String); err != nil {
			return store.APIToken{}, fmt.Errorf("revoked_at: %w", err)
		}
	}
	return t, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func nullTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(t), Valid: true}
}
