package storetest

import (
	"slices"
	"testing"

	"github.com/cyrexa/customer-api/impl/store"
)

// Upgrade is the data an upgrade test writes at an older schema version, in SQL both databases
// take; the caller writes upgradeSecrets in its own dialect.
var Upgrade = []string{
	`INSERT INTO tenants (id) VALUES ('t-1'), ('t-2')`,
	`INSERT INTO organizations (tenant_id, id) VALUES ('t-1', 'o-1'), ('t-1', 'o-2'), ('t-1', 'o-empty'), ('t-2', 'o-1')`,
	`INSERT INTO customers (tenant_id, id, document) VALUES
	    ('t-1', 'c-1', '{"id":"c-1","name":"upgrade-mark-one"}'),
	    ('t-1', 'c-2', '{"id":"c-2","name":"Two"}'),
	    ('t-1', 'c-3', '{"id":"c-3","name":"Three"}'),
	    ('t-1', 'c-gone', '{"id":"c-gone","name":"Gone"}'),
	    ('t-2', 'c-1', '{"id":"c-1","name":"Other tenant"}')`,
	`INSERT INTO organization_customers (tenant_id, organization_id, customer_id) VALUES
	    ('t-1', 'o-1', 'c-1'), ('t-1', 'o-1', 'c-2'), ('t-1', 'o-2', 'c-1'), ('t-1', 'o-2', 'c-3'),
	    ('t-1', 'o-2', 'c-gone'), ('t-2', 'o-1', 'c-1')`,
	`DELETE FROM customers WHERE tenant_id = 't-1' AND id = 'c-gone'`,
}

// upgradeSecrets are the secrets the caller writes for customer c-1 of tenant t-1.
var upgradeSecrets = store.Secrets{PasswordHash: "$argon2id$pw", PINHash: "$argon2id$pin", SecretAnswerHashes: []string{"$argon2id$a1", ""}}

// CheckUpgrade checks that a store holding Upgrade reads the same before and after migrate, and
// goes on working on the upgraded schema.
func CheckUpgrade(t *testing.T, st store.Store, migrate func()) {
	t.Helper()
	orgs := [][2]string{{"t-1", "o-1"}, {"t-1", "o-2"}, {"t-1", "o-empty"}, {"t-2", "o-1"}}
	versions := map[[2]string]string{}
	for _, o := range orgs {
		versions[o] = MustVersion(t, st, o[0], o[1])
	}
	erasures, err := st.ErasureCount(t.Context())
	if err != nil || erasures != 1 {
		t.Fatalf("ErasureCount before the upgrade = %d, %v; want 1", erasures, err)
	}

	migrate()

	doc := func(id, name string) store.Customer {
		return store.Customer{ID: id, Document: []byte(`{"id":"` + id + `","name":"` + name + `"}`)}
	}
	want := map[[2]string][]store.Customer{
		{"t-1", "o-1"}:     {doc("c-1", "upgrade-mark-one"), doc("c-2", "Two")},
		{"t-1", "o-2"}:     {doc("c-1", "upgrade-mark-one"), doc("c-3", "Three")},
		{"t-1", "o-empty"}: {},
		{"t-2", "o-1"}:     {doc("c-1", "Other tenant")},
	}
	for _, o := range orgs {
		version, got := MustRead(t, st, o[0], o[1])
		WantCustomers(t, got, want[o])
		if version != versions[o] {
			t.Errorf("version of %v: %q after the upgrade, %q before", o, version, versions[o])
		}
		if v := MustVersion(t, st, o[0], o[1]); v != versions[o] {
			t.Errorf("OrganizationVersion of %v: %q after the upgrade, %q before", o, v, versions[o])
		}
	}
	WantSecrets(t, MustSecrets(t, st, "t-1", "c-1"), upgradeSecrets)
	if n, err := st.ErasureCount(t.Context()); err != nil || n != erasures {
		t.Errorf("ErasureCount after the upgrade = %d, %v; want %d", n, err, erasures)
	}

	MustImport(t, st, "t-1", "o-1", doc("c-0", "Zero"), doc("c-2", "Two again"))
	WantCustomers(t, MustCustomers(t, st, "t-1", "o-1"), []store.Customer{doc("c-0", "Zero"), doc("c-1", "upgrade-mark-one"), doc("c-2", "Two again")})
	before := MustVersion(t, st, "t-1", "o-2")
	del, err := st.DeleteCustomers(t.Context(), "t-1", []string{"c-1"})
	if err != nil || !slices.Equal(del.Deleted, []string{"c-1"}) {
		t.Fatalf("DeleteCustomers = %+v, %v", del, err)
	}
	if n, err := st.ErasureCount(t.Context()); err != nil || n != erasures+1 {
		t.Errorf("ErasureCount after a deletion = %d, %v; want %d", n, err, erasures+1)
	}
	if MustVersion(t, st, "t-1", "o-2") == before {
		t.Error("the version of an organization that lost a member did not change")
	}
	WantCustomers(t, MustCustomers(t, st, "t-1", "o-2"), []store.Customer{doc("c-3", "Three")})
	WantCustomers(t, MustCustomers(t, st, "t-2", "o-1"), want[[2]string{"t-2", "o-1"}])
}

// CheckVersionTriggers checks that statements run outside the store with exec change the
// versions: deleting a customer changes those of its organizations only, and an organization
// deleted and created again never gets an old version back. It leaves t-1's o-c holding c-1
// (Ada), and t-2's o-a holding c-1 of that tenant.
func CheckVersionTriggers(t *testing.T, st store.Store, exec func(tb testing.TB, statements ...string)) {
	t.Helper()
	ada, grace := Customer("c-1", "Ada"), Customer("c-2", "Grace")
	MustImport(t, st, "t-1", "o-a", ada, grace)
	MustImport(t, st, "t-1", "o-b", grace)
	MustImport(t, st, "t-1", "o-c", ada)
	MustImport(t, st, "t-2", "o-a", ada)

	t.Run("deleting a customer changes the versions of its organizations", func(t *testing.T) {
		a, b, c := MustVersion(t, st, "t-1", "o-a"), MustVersion(t, st, "t-1", "o-b"), MustVersion(t, st, "t-1", "o-c")
		exec(t, `DELETE FROM customers WHERE tenant_id = 't-1' AND id = 'c-2'`)
		if MustVersion(t, st, "t-1", "o-a") == a || MustVersion(t, st, "t-1", "o-b") == b {
			t.Error("an organization that held the deleted customer kept its version")
		}
		if MustVersion(t, st, "t-1", "o-c") != c {
			t.Error("an organization that did not hold the deleted customer changed its version")
		}
	})

	t.Run("an organization deleted and created again gets a new version", func(t *testing.T) {
		seen := map[string]bool{}
		for range 3 {
			v := MustVersion(t, st, "t-1", "o-c")
			if seen[v] {
				t.Errorf("version %q came back", v)
			}
			seen[v] = true
			exec(t, `DELETE FROM organizations WHERE tenant_id = 't-1' AND id = 'o-c'`)
			WantNotFound(t, st, "t-1", "o-c")
			MustImport(t, st, "t-1", "o-c", ada)
		}
	})
}
