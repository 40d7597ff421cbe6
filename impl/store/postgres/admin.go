package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// Deleting a customer cascades to its secrets and memberships, whose triggers change the
// versions. NOT IN over a sub-select of the array is a hashed set, not a scan per row.
const (
	leaveSQL = `
DELETE FROM organization_customers
WHERE tenant_id = $1 AND organization_id = $2
  AND customer_id NOT IN (SELECT unnest($3::text[]) COLLATE "C")
RETURNING customer_id`
	deleteOrphansSQL = `
DELETE FROM customers AS c
WHERE c.tenant_id = $1 AND c.id = ANY ($2::text[])
  AND NOT EXISTS (SELECT 1 FROM organization_customers AS oc WHERE oc.tenant_id = c.tenant_id AND oc.customer_id = c.id)
RETURNING c.id`
	deleteCustomersSQL = `
DELETE FROM customers WHERE tenant_id = $1 AND id = ANY ($2::text[])
RETURNING id`
)

// DeleteCustomers deletes the customers in one transaction (dead tuples until VACUUM).
func (s *Store) DeleteCustomers(ctx context.Context, tenantID string, customerIDs []string) (store.CustomerDeletion, error) {
	ids := sqlstore.DistinctIDs(customerIDs)
	var deleted []string
	err := s.inTenantTx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		deleted, err = collectIDs(ctx, tx, deleteCustomersSQL, tenantID, ids)
		return err
	})
	if err != nil {
		return store.CustomerDeletion{}, s.fail(err, "delete customers of tenant %q", tenantID)
	}
	var del store.CustomerDeletion
	del.Deleted, del.Unknown = sqlstore.Partition(ids, deleted)
	return del, nil
}

// DeleteOrganization deletes the organization and its customers no other organization holds.
func (s *Store) DeleteOrganization(ctx context.Context, tenantID, organizationID string) (store.OrganizationDeletion, error) {
	var del store.OrganizationDeletion
	err := s.inTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		members, err := collectIDs(ctx, tx, sqlstore.OrganizationMembersSQL, tenantID, organizationID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, sqlstore.DeleteOrganizationSQL, tenantID, organizationID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		if len(members) == 0 {
			return nil
		}
		deleted, err := collectIDs(ctx, tx, deleteOrphansSQL, tenantID, members)
		del.Deleted, del.Kept = sqlstore.Partition(members, deleted) // dropped on error
		return err
	})
	if err != nil {
		return store.OrganizationDeletion{}, s.fail(err, "delete organization %q of tenant %q", organizationID, tenantID)
	}
	return del, nil
}

// inTenantTx runs fn in a transaction scoped to the tenant and commits it when fn returns nil.
func (s *Store) inTenantTx(ctx context.Context, tenantID string, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, setTenantSQL, tenantID); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// collectIDs runs a statement that returns one text column and collects it.
func collectIDs(ctx context.Context, tx pgx.Tx, query string, args ...any) ([]string, error) {
	rows, _ := tx.Query(ctx, query, args...) // pgx: an error comes back through the rows
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Row-level security hides other tenants' data, so tenants are counted one at a time.
const (
	tenantIDsSQL = `
SELECT ids.id, (SELECT count(*) FROM api_tokens AS t WHERE t.tenant_id = ids.id)
FROM (SELECT id FROM tenants UNION SELECT tenant_id FROM api_tokens) AS ids
ORDER BY ids.id`
	tenantCountsSQL = `
SELECT (SELECT count(*) FROM organizations WHERE tenant_id = $1),
       (SELECT count(*) FROM customers WHERE tenant_id = $1)`
)

// Tenants returns every tenant holding data or API tokens, with its counts.
func (s *Store) Tenants(ctx context.Context) ([]store.TenantSummary, error) {
	rows, _ := s.pool.Query(ctx, tenantIDsSQL) // pgx: an error comes back through the rows
	tenants, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (t store.TenantSummary, err error) {
		err = row.Scan(&t.ID, &t.APITokens)
		return t, err
	})
	if err != nil {
		return nil, s.fail(err, "list tenants")
	}
	for i := range tenants {
		t := &tenants[i]
		err := s.inTenant(ctx, s.pool, t.ID, func(br pgx.BatchResults) error {
			return br.QueryRow().Scan(&t.Organizations, &t.Customers)
		}, tenantCountsSQL, t.ID)
		if err != nil {
			return nil, s.fail(err, "count the data of tenant %q", t.ID)
		}
	}
	return tenants, nil
}

// Organizations returns the tenant's organizations with their numbers of customers.
func (s *Store) Organizations(ctx context.Context, tenantID string) ([]store.OrganizationSummary, error) {
	var orgs []store.OrganizationSummary
	err := s.inTenant(ctx, s.pool, tenantID, func(br pgx.BatchResults) (err error) {
		rows, _ := br.Query() // pgx: an error comes back through the rows
		orgs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[store.OrganizationSummary])
		return err
	}, sqlstore.OrganizationsSQL, tenantID)
	if err != nil {
		return nil, s.fail(err, "list organizations of tenant %q", tenantID)
	}
	return sqlstore.Organizations(tenantID, orgs)
}

// DeleteTenant deletes everything of the tenant in one transaction (dead tuples until VACUUM).
func (s *Store) DeleteTenant(ctx context.Context, tenantID string) (store.TenantDeletion, error) {
	var del store.TenantDeletion
	err := s.inTenantTx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		del, err = sqlstore.DeleteTenant(tenantID, func(query string, args ...any) (int64, error) {
			tag, err := tx.Exec(ctx, query, args...)
			return tag.RowsAffected(), err
		})
		return err
	})
	if err != nil {
		return store.TenantDeletion{}, s.fail(err, "delete tenant %q", tenantID)
	}
	return del, nil
}

// DeleteAPIToken deletes the API token with the given id.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, sqlstore.DeleteTokenSQL, id)
	return sqlstore.TokenChanged("delete", id, tag.RowsAffected(), err, s.fail)
}

// CreateAPIToken stores a new API token.
func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) error {
	_, err := s.pool.Exec(ctx, sqlstore.CreateTokenSQL, t.ID, t.TenantID, t.Name, t.SecretHash, t.CreatedAt,
		pgtype.Timestamptz{Time: t.ExpiresAt, Valid: !t.ExpiresAt.IsZero()})
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
	rows, _ := s.pool.Query(ctx, sqlstore.TokensSQL, tenantID) // pgx: an error comes back through the rows
	tokens, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.APIToken, error) { return scanToken(row) })
	if err != nil {
		return nil, s.fail(err, "list API tokens of tenant %q", tenantID)
	}
	return tokens, nil
}

// RevokeAPIToken marks the token revoked, keeping the first revocation time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, sqlstore.RevokeTokenSQL, at, id)
	return sqlstore.TokenChanged("revoke", id, tag.RowsAffected(), err, s.fail)
}

func scanToken(row pgx.Row) (t store.APIToken, err error) {
	var expires, revoked pgtype.Timestamptz // NULL: the zero time
	err = row.Scan(&t.ID, &t.TenantID, &t.Name, &t.SecretHash, &t.CreatedAt, &expires, &revoked)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = t.CreatedAt.UTC(), expires.Time.UTC(), revoked.Time.UTC()
	return t, err
}
