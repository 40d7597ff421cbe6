package postgres_test

import (
	"testing"

	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// TestUpgradeKeepsData writes data at schema version 4 and migrates it in place: reads,
// versions, secrets and the erasure count hold, the store goes on working, row-level security
// is forced again, and an operator's membership gets its document's number.
func TestUpgradeKeepsData(t *testing.T) {
	pgtest.ServerURL(t)
	t.Parallel()
	d := pgtest.New(t)
	st := MustOpen(t, d.URL, postgres.Options{})
	if err := postgres.MigrateTo(st, 4); err != nil {
		t.Fatalf("migrate to 4: %v", err)
	}
	d.Exec(t, storetest.Upgrade...)
	d.Exec(t, `INSERT INTO customer_secrets (tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes)
		VALUES ('t-1', 'c-1', '$argon2id$pw', '$argon2id$pin', '{"$argon2id$a1",""}')`)
	storetest.CheckUpgrade(t, st, func() {
		if versions, err := st.MigrateUp(t.Context()); err != nil || len(versions) != 1 || versions[0] != 5 {
			t.Fatalf("MigrateUp = %v, %v; want [5]", versions, err)
		}
	})
	var forced int
	d.QueryRow(t, `SELECT count(*) FROM pg_class WHERE relname IN ('customers', 'organization_customers') AND relforcerowsecurity`, &forced)
	if forced != 2 {
		t.Errorf("row-level security is forced on %d of customers and organization_customers, want both", forced)
	}
	d.Exec(t, `INSERT INTO organization_customers (tenant_id, organization_id, customer_id) VALUES ('t-1', 'o-empty', 'c-3')`)
	if got := storetest.MustCustomers(t, st, "t-1", "o-empty"); len(got) != 1 || got[0].ID != "c-3" {
		t.Errorf("o-empty after an operator's insert: %+v", got)
	}
}
