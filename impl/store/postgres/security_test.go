package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
	"github.com/cyrexa/customer-api/impl/store/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRowLevelSecurity checks the second wall on its own: connected as the tables' owner (not a
// superuser), a statement sees only the rows of the tenant its transaction names, none without
// one, and cannot write another tenant's rows.
func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	st := MustOpen(t, d.URL, postgres.Options{})
	MustMigrate(t, st)
	storetest.MustImport(t, st, "t-1", "o-1",
		storetest.WithSecrets(storetest.Customer("c-1", "Ada"), store.Secrets{PasswordHash: "hash-1"}),
		storetest.Customer("c-2", "Grace"))
	storetest.MustImport(t, st, "t-2", "o-2", storetest.WithSecrets(storetest.Customer("c-1", "Ada of t-2"), store.Secrets{PasswordHash: "hash-2"}))

	ctx := t.Context()
	conn, err := pgx.Connect(ctx, d.URL) // the owner: FORCE ROW LEVEL SECURITY applies to it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	// count returns how many rows of table the tenant's transaction sees; tenant "" sets none.
	count := func(tenant, table string) int {
		t.Helper()
		var n int
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if tenant != "" {
				if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenant); err != nil {
					return err
				}
			}
			return tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		})
		if err != nil {
			t.Fatalf("count %s for %q: %v", table, tenant, err)
		}
		return n
	}
	for _, tc := range []struct {
		table          string
		none, one, two int
	}{
		{"organizations", 0, 1, 1},
		{"customers", 0, 2, 1},
		{"organization_customers", 0, 2, 1},
		{"customer_secrets", 0, 1, 1},
		{"tenants", 2, 2, 2}, // ids only, and Empty needs them all
	} {
		if got := [3]int{count("", tc.table), count("t-1", tc.table), count("t-2", tc.table)}; got != [3]int{tc.none, tc.one, tc.two} {
			t.Errorf("%s: rows seen without a tenant, by t-1, by t-2 = %v, want %v", tc.table, got, [3]int{tc.none, tc.one, tc.two})
		}
	}
	// The setting ends with its transaction: a later statement sees nothing again.
	if n := count("", "customers"); n != 0 {
		t.Errorf("a statement after a tenant's transaction sees %d customers, want 0", n)
	}

	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', 't-1', true)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO customers (tenant_id, id, document) VALUES ('t-2', 'c-9', '{}')`)
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege: policy violation
		t.Errorf("writing another tenant's customer: error = %v, want a row-level security violation", err)
	}
}

// The grants of the least-privilege roles in docs/deployment.md; keep both in step. %s is the role.
const (
	runtimeGrants = `
GRANT USAGE ON SCHEMA public TO %[1]s;
GRANT SELECT ON goose_db_version TO %[1]s;
GRANT SELECT, INSERT ON tenants TO %[1]s;
GRANT SELECT, INSERT, DELETE ON organizations, organization_customers TO %[1]s;
GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO %[1]s;
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_secrets TO %[1]s;
GRANT SELECT, INSERT, UPDATE ON api_tokens TO %[1]s;
GRANT SELECT ON erasures TO %[1]s;`
	readOnlyGrants = `
GRANT USAGE ON SCHEMA public TO %[1]s;
GRANT SELECT ON goose_db_version, tenants, organizations, organization_customers, customers, api_tokens, erasures TO %[1]s;`
)

// TestLeastPrivilegeRoles runs the service's work as the roles docs/deployment.md describes: the
// runtime role imports and reads, the read-only role (for replicas) reads in read-only
// transactions, and both pass Migrate, which only checks the version once the schema is current.
func TestLeastPrivilegeRoles(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	MustMigrate(t, MustOpen(t, d.URL, postgres.Options{})) // as the owner, the migration role

	runtimeURL := d.MustRole(t, "runtime")
	readOnlyURL := d.MustRole(t, "readonly")
	d.Exec(t, fmt.Sprintf(runtimeGrants, d.Name+"_runtime"), fmt.Sprintf(readOnlyGrants, d.Name+"_readonly"))

	rt := MustOpen(t, runtimeURL, postgres.Options{})
	MustMigrate(t, rt)
	in := []store.Customer{
		storetest.WithSecrets(storetest.Customer("c-1", "Ada"), store.Secrets{PasswordHash: "hash-1"}),
		storetest.Customer("c-2", "Grace"),
	}
	storetest.WantSummary(t, storetest.MustImport(t, rt, "t-1", "o-1", in...), store.ImportSummary{Created: 2})
	in[0].Secrets = store.Secrets{} // a secret removed: the runtime role deletes it
	storetest.WantSummary(t, storetest.MustImport(t, rt, "t-1", "o-1", in...), store.ImportSummary{Updated: 1, Unchanged: 1})
	// The version triggers write organizations, which the runtime role may not update itself.
	version := storetest.MustVersion(t, rt, "t-1", "o-1")
	in[1] = storetest.Customer("c-2", "Grace Hopper")
	storetest.WantSummary(t, storetest.MustImport(t, rt, "t-1", "o-1", in...), store.ImportSummary{Updated: 1, Unchanged: 1})
	if storetest.MustVersion(t, rt, "t-1", "o-1") == version {
		t.Error("a document changed by the runtime role kept the organization's version")
	}
	storetest.WantSecrets(t, storetest.MustSecrets(t, rt, "t-1", "c-1"), store.Secrets{})
	storetest.MustEmpty(t, rt, false)
	// Erasure: the runtime role deletes customers, organizations and the members a replacing
	// import leaves out, and the count of erasures, which it may not write itself, follows.
	erasures := storetest.MustErasureCount(t, rt)
	storetest.MustImport(t, rt, "t-1", "o-2", storetest.Customer("c-3", "Edsger"), storetest.Customer("c-4", "Barbara"))
	if _, err := rt.ImportCustomers(t.Context(), "t-1", "o-2", storetest.Seq(storetest.Customer("c-4", "Barbara")), store.ImportOptions{Replace: true}); err != nil {
		t.Errorf("replacing import as the runtime role: %v", err)
	}
	if _, err := rt.DeleteCustomers(t.Context(), "t-1", []string{"c-4"}); err != nil {
		t.Errorf("delete a customer as the runtime role: %v", err)
	}
	if _, err := rt.DeleteOrganization(t.Context(), "t-1", "o-2"); err != nil {
		t.Errorf("delete an organization as the runtime role: %v", err)
	}
	if n := storetest.MustErasureCount(t, rt); n != erasures+2 {
		t.Errorf("erasure count after two customers deleted = %d, want %d", n, erasures+2)
	}
	// A role that could set the count back could hide an erasure from the serving processes.
	conn, err := pgx.Connect(t.Context(), runtimeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var pgErr *pgconn.PgError
	if _, err := conn.Exec(t.Context(), `UPDATE erasures SET customers = 0`); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("the runtime role writes the erasure count: error %v, want permission denied", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	token := store.APIToken{ID: "tok-1", TenantID: "t-1", SecretHash: make([]byte, 32), CreatedAt: now}
	if err := rt.CreateAPIToken(t.Context(), token); err != nil {
		t.Errorf("issue an API token as the runtime role: %v", err)
	}
	if err := rt.RevokeAPIToken(t.Context(), "tok-1", now); err != nil {
		t.Errorf("revoke an API token as the runtime role: %v", err)
	}

	// As on a replica, where every transaction is read-only.
	ro := MustOpen(t, withParams(t, readOnlyURL, url.Values{"default_transaction_read_only": {"on"}}), postgres.Options{})
	MustMigrate(t, ro)
	storetest.WantCustomers(t, storetest.MustCustomers(t, ro, "t-1", "o-1"), in)
	storetest.WantNotFound(t, ro, "t-1", "o-unknown")
	if v := storetest.MustVersion(t, ro, "t-1", "o-1"); v != storetest.MustVersion(t, rt, "t-1", "o-1") {
		t.Errorf("the read-only role sees version %q, the runtime role another", v)
	}
	storetest.MustEmpty(t, ro, false)
	if n := storetest.MustErasureCount(t, ro); n != erasures+2 {
		t.Errorf("the read-only role sees an erasure count of %d, want %d", n, erasures+2)
	}
	if _, err := ro.APIToken(t.Context(), "tok-1"); err != nil {
		t.Errorf("look an API token up as the read-only role: %v", err)
	}
	_, err = ro.ImportCustomers(t.Context(), "t-1", "o-1", storetest.Seq(in...), store.ImportOptions{})
	if err == nil || errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "read-only transaction") {
		t.Errorf("import as the read-only role: error = %v, want a refusal to write", err)
	}
	if _, err := ro.DeleteCustomers(t.Context(), "t-1", []string{"c-1"}); err == nil {
		t.Error("the read-only role deleted a customer")
	}
	if _, err := ro.CustomerSecrets(t.Context(), "t-1", "c-1"); err == nil {
		t.Error("the read-only role read customer secrets")
	}
}

// TestTenantsAsTheRoles: the runtime and read-only roles of docs/deployment.md list tenants and
// organizations; deleting a tenant takes the owner role (the runtime role may not delete
// tenants or API tokens), as docs/deployment.md says.
func TestTenantsAsTheRoles(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	owner := MustOpen(t, d.URL, postgres.Options{})
	MustMigrate(t, owner)
	runtimeURL := d.MustRole(t, "runtime")
	readOnlyURL := d.MustRole(t, "readonly")
	d.Exec(t, fmt.Sprintf(runtimeGrants, d.Name+"_runtime"), fmt.Sprintf(readOnlyGrants, d.Name+"_readonly"))
	storetest.MustImport(t, owner, "t-1", "o-1", storetest.Customer("c-1", "Ada"))
	storetest.MustImport(t, owner, "t-2", "o-1", storetest.Customer("c-1", "Ada of t-2"), storetest.Customer("c-2", "Grace"))
	storetest.MustToken(t, owner, "tok-1", "t-1")

	for _, role := range []struct{ name, url string }{{"runtime", runtimeURL}, {"read-only", readOnlyURL}} {
		st := MustOpen(t, role.url, postgres.Options{})
		if got := storetest.MustTenants(t, st); len(got) != 2 || got[1].Customers != 2 || got[0].APITokens != 1 {
			t.Errorf("Tenants as the %s role = %+v", role.name, got)
		}
		if orgs, err := st.Organizations(t.Context(), "t-2"); err != nil || len(orgs) != 1 || orgs[0].Customers != 2 {
			t.Errorf("Organizations as the %s role = %+v, %v", role.name, orgs, err)
		}
	}
	rt := MustOpen(t, runtimeURL, postgres.Options{})
	if _, err := rt.DeleteTenant(t.Context(), "t-1"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("DeleteTenant as the runtime role: %v; want permission denied", err)
	}
	// Nothing was deleted: one transaction.
	storetest.WantCustomers(t, storetest.MustCustomers(t, owner, "t-1", "o-1"), []store.Customer{storetest.Customer("c-1", "Ada")})
	if del, err := owner.DeleteTenant(t.Context(), "t-1"); err != nil || del != (store.TenantDeletion{Organizations: 1, Customers: 1, APITokens: 1}) {
		t.Errorf("DeleteTenant as the owner = %+v, %v", del, err)
	}
}
