package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/cyrexa/customer-api/impl/store"
)

const (
	tenantsSQL = `
WITH ids AS (SELECT id FROM tenants UNION SELECT tenant_id FROM api_tokens)
SELECT ids.id,
       (SELECT count(*) FROM organizations AS o WHERE o.tenant_id = ids.id),
       (SELECT count(*) FROM customers AS c WHERE c.tenant_id = ids.id),
       (SELECT count(*) FROM api_tokens AS t WHERE t.tenant_id = ids.id)
FROM ids ORDER BY ids.id`
	// One NULL row for a tenant without organizations, none for an unknown tenant.
	organizationsSQL = `
SELECT o.id, (SELECT count(*) FROM organization_customers AS oc WHERE oc.tenant_id = o.tenant_id AND oc.organization_id = o.id)
FROM tenants AS t LEFT JOIN organizations AS o ON o.tenant_id = t.id
WHERE t.id = ? ORDER BY o.id`
	// Organizations first, so deleting the customers touches no organization's version.
	deleteTenantOrganizationsSQL = `DELETE FROM organizations WHERE tenant_id = ?`
	deleteTenantCustomersSQL     = `DELETE FROM customers WHERE tenant_id = ?`
	deleteTenantTokensSQL        = `DELETE FROM api_tokens WHERE tenant_id = ?`
	deleteTenantSQL              = `DELETE FROM tenants WHERE id = ?`
)

// Tenants returns every tenant holding data or API tokens, with its counts.
func (s *Store) Tenants(ctx context.Context) ([]store.TenantSummary, error) {
	rows, err := s.db.QueryContext(ctx, tenantsSQL)
	if err != nil {
		return nil, s.fail(err, "list tenants")
	}
	defer rows.Close()
	tenants := []store.TenantSummary{}
	for rows.Next() {
		var t store.TenantSummary
		if err := rows.Scan(&t.ID, &t.Organizations, &t.Customers, &t.APITokens); err != nil {
			return nil, s.fail(err, "list tenants")
		}
		tenants = append(tenants, t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list tenants")
	}
	return tenants, nil
}

// Organizations returns the tenant's organizations with their numbers of customers.
func (s *Store) Organizations(ctx context.Context, tenantID string) ([]store.OrganizationSummary, error) {
	rows, err := s.db.QueryContext(ctx, organizationsSQL, tenantID)
	if err != nil {
		return nil, s.fail(err, "list organizations of tenant %q", tenantID)
	}
	defer rows.Close()
	orgs, found := []store.OrganizationSummary{}, false
	for rows.Next() {
		var id sql.NullString
		var o store.OrganizationSummary
		if err := rows.Scan(&id, &o.Customers); err != nil {
			return nil, s.fail(err, "list organizations of tenant %q", tenantID)
		}
		found = true
		if id.Valid {
			o.ID = id.String
			orgs = append(orgs, o)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list organizations of tenant %q", tenantID)
	}
	if !found {
		return nil, fmt.Errorf("tenant %q: %w", tenantID, store.ErrNotFound)
	}
	return orgs, nil
}

// DeleteTenant deletes everything of the tenant in one transaction, then erases (see checkpoint).
func (s *Store) DeleteTenant(ctx context.Context, tenantID string) (store.TenantDeletion, error) {
	var del store.TenantDeletion
	var tenants int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, step := range []struct {
			query string
			n     *int
		}{
			{deleteTenantOrganizationsSQL, &del.Organizations},
			{deleteTenantCustomersSQL, &del.Customers},
			{deleteTenantTokensSQL, &del.APITokens},
			{deleteTenantSQL, &tenants},
		} {
			res, err := tx.ExecContext(ctx, step.query, tenantID)
			if err != nil {
				return s.fail(err, "sqlite %s", s.path)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return s.fail(err, "sqlite %s", s.path)
			}
			*step.n = int(n)
		}
		if tenants == 0 && del.APITokens == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return store.TenantDeletion{}, fmt.Errorf("delete tenant %q: %w", tenantID, err)
	}
	return del, s.checkpoint(ctx)
}

// DeleteAPIToken deletes the API token with the given id.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
	if err != nil {
		return s.fail(err, "delete API token %q", id)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.fail(err, "delete API token %q", id)
	} else if n == 0 {
		return fmt.Errorf("API token %q: %w", id, store.ErrNotFound)
	}
	return nil
}
