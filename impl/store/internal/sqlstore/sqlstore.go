// Package sqlstore holds what the SQLite and PostgreSQL stores share beyond their SQL and drivers.
package sqlstore

import (
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/pressly/goose/v3"

	"github.com/cyrexa/customer-api/impl/store"
)

// ErasureCountSQL reads the count of customers ever deleted (migration 00004).
const ErasureCountSQL = `SELECT customers FROM erasures WHERE id = 1`

// Fail wraps err as "format: err", and with store.ErrUnavailable (once) when unreachable says the
// database could not serve rather than that the statement was wrong.
func Fail(err error, unreachable bool, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if unreachable && !errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%w: %s: %w", store.ErrUnavailable, msg, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// Migrator returns the goose provider of the migrations/ folder of embedded.
func Migrator(dialect goose.Dialect, db *sql.DB, embedded embed.FS, opts ...goose.ProviderOption) (*goose.Provider, error) {
	migrations, err := fs.Sub(embedded, "migrations")
	if err != nil {
		return nil, err
	}
	opts = append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}, opts...)
	return goose.NewProvider(dialect, db, migrations, opts...)
}

// Versions returns the versions of the migrations goose applied, in order.
func Versions(results []*goose.MigrationResult) []int64 {
	versions := []int64{}
	for _, r := range results {
		versions = append(versions, r.Source.Version)
	}
	return versions
}

// Statements both databases run as written: SQLite takes $n parameters too.
const (
	EmptySQL               = `SELECT NOT EXISTS (SELECT 1 FROM tenants)`
	OrganizationVersionSQL = `SELECT version FROM organizations WHERE tenant_id = $1 AND id = $2`
	UpsertTenantSQL        = `INSERT INTO tenants (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`
	UpsertOrganizationSQL  = `INSERT INTO organizations (tenant_id, id) VALUES ($1, $2) ON CONFLICT (tenant_id, id) DO NOTHING`
	OrganizationMembersSQL = `SELECT customer_id FROM organization_customers WHERE tenant_id = $1 AND organization_id = $2`
	DeleteOrganizationSQL  = `DELETE FROM organizations WHERE tenant_id = $1 AND id = $2`
	// One row with an empty id for a tenant without organizations, none for an unknown tenant.
	OrganizationsSQL = `
SELECT coalesce(o.id, ''), (SELECT count(*) FROM organization_customers AS oc WHERE oc.tenant_id = o.tenant_id AND oc.organization_id = o.id)
FROM tenants AS t LEFT JOIN organizations AS o ON o.tenant_id = t.id
WHERE t.id = $1 ORDER BY o.id`

	CreateTokenSQL = `INSERT INTO api_tokens (id, tenant_id, name, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`
	tokenColumns   = `SELECT id, tenant_id, name, secret_hash, created_at, expires_at, revoked_at FROM api_tokens`
	TokenSQL       = tokenColumns + ` WHERE id = $1`
	TokensSQL      = tokenColumns + ` WHERE tenant_id = $1 ORDER BY created_at, id`
	RevokeTokenSQL = `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`
	DeleteTokenSQL = `DELETE FROM api_tokens WHERE id = $1`
)

// DeleteTenant runs the statements of a tenant's deletion with exec, which returns the rows
// each affected, in one transaction of the caller's. Organizations go first, so that deleting
// the customers touches no organization's version.
func DeleteTenant(tenantID string, exec func(query string, args ...any) (int64, error)) (store.TenantDeletion, error) {
	var del store.TenantDeletion
	var tenants int
	for _, step := range []struct {
		query string
		n     *int
	}{
		{`DELETE FROM organizations WHERE tenant_id = $1`, &del.Organizations},
		{`DELETE FROM customers WHERE tenant_id = $1`, &del.Customers},
		{`DELETE FROM api_tokens WHERE tenant_id = $1`, &del.APITokens},
		{`DELETE FROM tenants WHERE id = $1`, &tenants},
	} {
		n, err := exec(step.query, tenantID)
		if err != nil {
			return store.TenantDeletion{}, err
		}
		*step.n = int(n)
	}
	if tenants == 0 && del.APITokens == 0 {
		return store.TenantDeletion{}, store.ErrNotFound
	}
	return del, nil
}

// JSONArray is list as a JSON array, never null (encoding strings cannot fail): the stored form
// of secret answer hashes, and the form of the id sets SQLite's json_each reads.
func JSONArray(list []string) string {
	if list == nil {
		list = []string{}
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// Organizations returns the rows of OrganizationsSQL as store.Store.Organizations does: none is
// an unknown tenant; the empty row of a tenant without organizations is left out.
func Organizations(tenantID string, rows []store.OrganizationSummary) ([]store.OrganizationSummary, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("tenant %q: %w", tenantID, store.ErrNotFound)
	}
	// Imports refuse empty ids: only the empty row has one.
	return slices.DeleteFunc(rows, func(o store.OrganizationSummary) bool { return o.ID == "" }), nil
}

// TokenNotFound is the error of a lookup of an unknown API token.
func TokenNotFound(id string) error { return fmt.Errorf("API token %q: %w", id, store.ErrNotFound) }

// TokenChanged returns the error of a statement that verb (revoke, delete) ran on the API token
// id: err wrapped by fail, or TokenNotFound when it affected no row (n).
func TokenChanged(verb, id string, n int64, err error, fail func(error, string, ...any) error) error {
	if err != nil {
		return fail(err, "%s API token %q", verb, id)
	}
	if n == 0 {
		return TokenNotFound(id)
	}
	return nil
}

// OrganizationNotFound is the error of a lookup of an unknown organization.
func OrganizationNotFound(tenantID, organizationID string) error {
	return fmt.Errorf("organization %q of tenant %q: %w", organizationID, tenantID, store.ErrNotFound)
}
