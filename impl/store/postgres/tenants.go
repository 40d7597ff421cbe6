package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

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
	rows, err := s.pool.Query(ctx, tenantIDsSQL)
	if err != nil {
		return nil, s.fail(err, "list tenants")
	}
	tenants, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.TenantSummary, error) {
		var t store.TenantSummary
		err := row.Scan(&t.ID, &t.APITokens)
		return t, err
	})
	if err != nil {
		return nil, s.fail(err, "list tenants")
	}
	for i := range tenants {
		t := &tenants[i]
		err := s.inTenant(ctx, s.pool, t.ID, func(b *pgx.Batch) {
			b.Queue(tenantCountsSQL, t.ID)
		}, func(br pgx.BatchResults) error {
			return br.QueryRow().Scan(&t.Organizations, &t.Customers)
		})
		if err != nil {
			return nil, s.fail(err, "count the data of tenant %q", t.ID)
		}
	}
	return tenants, nil
}

// Organizations returns the tenant's organizations with their numbers of customers.
func (s *Store) Organizations(ctx context.Context, tenantID string) ([]store.OrganizationSummary, error) {
	var orgs []store.OrganizationSummary
	found := false
	err := s.inTenant(ctx, s.pool, tenantID, func(b *pgx.Batch) {
		b.Queue(sqlstore.OrganizationsSQL, tenantID)
	}, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		orgs = []store.OrganizationSummary{}
		var id *string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
			found = true
			if id != nil {
				orgs = append(orgs, store.OrganizationSummary{ID: *id, Customers: n})
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.fail(err, "list organizations of tenant %q", tenantID)
	}
	if !found {
		return nil, fmt.Errorf("tenant %q: %w", tenantID, store.ErrNotFound)
	}
	return orgs, nil
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
	if errors.Is(err, store.ErrNotFound) {
		return store.TenantDeletion{}, fmt.Errorf("delete tenant %q: %w", tenantID, err)
	}
	if err != nil {
		return store.TenantDeletion{}, s.fail(err, "delete tenant %q", tenantID)
	}
	return del, nil
}

// DeleteAPIToken deletes the API token with the given id.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, sqlstore.DeleteTokenSQL, id)
	if err != nil {
		return s.fail(err, "delete API token %q", id)
	}
	if tag.RowsAffected() == 0 {
		return sqlstore.TokenNotFound(id)
	}
	return nil
}
