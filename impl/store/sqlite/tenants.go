package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

const tenantsSQL = `
WITH ids AS (SELECT id FROM tenants UNION SELECT tenant_id FROM api_tokens)
SELECT ids.id,
       (SELECT count(*) FROM organizations AS o WHERE o.tenant_id = ids.id),
       (SELECT count(*) FROM customers AS c WHERE c.tenant_id = ids.id),
       (SELECT count(*) FROM api_tokens AS t WHERE t.tenant_id = ids.id)
FROM ids ORDER BY ids.id`

// Tenants returns every tenant holding data or API tokens, with its counts.
func (s *Store) Tenants(ctx context.Context) ([]store.TenantSummary, error) {
	tenants, err := queryAll(ctx, s.db, tenantsSQL, func(rows *sql.Rows) (t store.TenantSummary, err error) {
		err = rows.Scan(&t.ID, &t.Organizations, &t.Customers, &t.APITokens)
		return t, err
	})
	if err != nil {
		return nil, s.fail(err, "list tenants")
	}
	return tenants, nil
}

// Organizations returns the tenant's organizations with their numbers of customers.
func (s *Store) Organizations(ctx context.Context, tenantID string) ([]store.OrganizationSummary, error) {
	type row struct {
		id sql.NullString
		n  int
	}
	rows, err := queryAll(ctx, s.db, sqlstore.OrganizationsSQL, func(rows *sql.Rows) (r row, err error) {
		err = rows.Scan(&r.id, &r.n)
		return r, err
	}, tenantID)
	if err != nil {
		return nil, s.fail(err, "list organizations of tenant %q", tenantID)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("tenant %q: %w", tenantID, store.ErrNotFound)
	}
	orgs := []store.OrganizationSummary{}
	for _, r := range rows {
		if r.id.Valid {
			orgs = append(orgs, store.OrganizationSummary{ID: r.id.String, Customers: r.n})
		}
	}
	return orgs, nil
}

// DeleteTenant deletes everything of the tenant in one transaction, then erases (see checkpoint).
func (s *Store) DeleteTenant(ctx context.Context, tenantID string) (store.TenantDeletion, error) {
	var del store.TenantDeletion
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		del, err = sqlstore.DeleteTenant(tenantID, func(query string, args ...any) (int64, error) {
			n, err := affected(tx.ExecContext(ctx, query, args...))
			if err != nil {
				return 0, s.fail(err, "sqlite %s", s.path)
			}
			return n, nil
		})
		return err
	})
	if err != nil {
		return store.TenantDeletion{}, fmt.Errorf("delete tenant %q: %w", tenantID, err)
	}
	return del, s.checkpoint(ctx)
}

// DeleteAPIToken deletes the API token with the given id.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	n, err := affected(s.db.ExecContext(ctx, sqlstore.DeleteTokenSQL, id))
	if err != nil {
		return s.fail(err, "delete API token %q", id)
	}
	if n == 0 {
		return sqlstore.TokenNotFound(id)
	}
	return nil
}

// queryAll runs query on q and scans every row with scan; the list is never nil.
func queryAll[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, scan func(*sql.Rows) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// affected returns the rows a statement affected.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
