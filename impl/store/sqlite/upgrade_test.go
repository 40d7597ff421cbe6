package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// TestUpgradeKeepsData writes data at schema version 4 and migrates it in place: reads,
// versions, secrets and the erasure count hold, the store goes on working, and a customer
// deleted after the upgrade is in no file, the copies the upgrade made included.
func TestUpgradeKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := mustOpenAt(t, filepath.Join(dir, "customers.db"))
	if err := sqlite.MigrateTo(st, 4); err != nil {
		t.Fatalf("migrate to 4: %v", err)
	}
	seed := append(storetest.Upgrade, `INSERT INTO customer_secrets (tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes)
		VALUES ('t-1', 'c-1', '$argon2id$pw', '$argon2id$pin', '["$argon2id$a1",""]')`)
	if err := sqlite.Exec(st, seed...); err != nil {
		t.Fatal(err)
	}
	storetest.CheckUpgrade(t, st, func() {
		if versions, err := st.MigrateUp(t.Context()); err != nil || len(versions) != 1 || versions[0] != 5 {
			t.Fatalf("MigrateUp = %v, %v; want [5]", versions, err)
		}
	})
	// Operators' SQL may add a membership without the document's number: a trigger fills it.
	if err := sqlite.Exec(st, `INSERT INTO organization_customers (tenant_id, organization_id, customer_id) VALUES ('t-1', 'o-empty', 'c-3')`); err != nil {
		t.Fatal(err)
	}
	if got := storetest.MustCustomers(t, st, "t-1", "o-empty"); len(got) != 1 || got[0].ID != "c-3" {
		t.Errorf("o-empty after an operator's insert: %+v", got)
	}
	if files := filesHolding(t, dir, []byte("upgrade-mark-one")); len(files) != 0 {
		t.Errorf("the deleted customer is still in %v", files)
	}
}
