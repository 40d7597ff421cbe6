package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

var deleteTests = []struct {
	name string
	run  func(t *testing.T, st store.Store)
}{
	{"deleting customers removes them, their secrets and their memberships", testDeleteCustomers},
	{"deleting customers reports unknown ids and leaves other tenants alone", testDeleteCustomersUnknown},
	{"deleting an organization deletes the customers no other organization holds", testDeleteOrganization},
	{"deleting an unknown organization is not found", testDeleteOrganizationUnknown},
	{"a replacing import makes the membership exactly the imported set", testReplaceImport},
	{"a replacing import of nothing empties the organization", testReplaceEmpty},
	{"a replacing import that fails writes nothing", testReplaceFails},
	{"a dry run counts what an import would do and writes nothing", testDryRun},
}

func init() { tests = append(tests, deleteTests...) }

// wantIDs compares lists of ids; nil and empty are equal.
func wantIDs(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != 0 || len(want) != 0 {
		if !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
}

func wantNoSecrets(t *testing.T, st store.Store, tenantID, customerID string) {
	t.Helper()
	if s, err := st.CustomerSecrets(t.Context(), tenantID, customerID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CustomerSecrets(%q, %q) after deletion = %+v, %v; want ErrNotFound", tenantID, customerID, s, err)
	}
}

func testDeleteCustomers(t *testing.T, st store.Store) {
	pw := store.Secrets{PasswordHash: "hash-pw"}
	storetest.MustImport(t, st, "t-1", "o-1", storetest.WithSecrets(storetest.Customer("c-1", "Ada"), pw), storetest.Customer("c-2", "Grace"), storetest.Customer("c-3", "Edsger"))
	storetest.MustImport(t, st, "t-1", "o-2", storetest.Customer("c-1", "Ada"), storetest.Customer("c-4", "Barbara"))
	storetest.MustImport(t, st, "t-1", "o-3", storetest.Customer("c-4", "Barbara"))
	v1, v2, v3 := storetest.MustVersion(t, st, "t-1", "o-1"), storetest.MustVersion(t, st, "t-1", "o-2"), storetest.MustVersion(t, st, "t-1", "o-3")

	del, err := st.DeleteCustomers(t.Context(), "t-1", []string{"c-3", "c-1", "c-3"})
	if err != nil {
		t.Fatalf("DeleteCustomers: %v", err)
	}
	wantIDs(t, "deleted", del.Deleted, []string{"c-1", "c-3"})
	wantIDs(t, "unknown", del.Unknown, nil)
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), []store.Customer{storetest.Customer("c-2", "Grace")})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-2"), []store.Customer{storetest.Customer("c-4", "Barbara")})
	wantNoSecrets(t, st, "t-1", "c-1")
	if v := storetest.MustVersion(t, st, "t-1", "o-1"); v == v1 {
		t.Error("the version of o-1 did not change when members were deleted")
	}
	if v := storetest.MustVersion(t, st, "t-1", "o-2"); v == v2 {
		t.Error("the version of o-2 did not change when a member was deleted")
	}
	if v := storetest.MustVersion(t, st, "t-1", "o-3"); v != v3 {
		t.Error("the version of o-3 changed although none of its members was deleted")
	}
	// A deleted customer imported again is new.
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada")), store.ImportSummary{Created: 1})
}

func testDeleteCustomersUnknown(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"))
	storetest.MustImport(t, st, "t-2", "o-1", storetest.WithSecrets(storetest.Customer("c-1", "Ada of t-2"), store.Secrets{PINHash: "hash-pin"}), storetest.Customer("c-2", "Grace of t-2"))
	v := storetest.MustVersion(t, st, "t-2", "o-1")

	del, err := st.DeleteCustomers(t.Context(), "t-1", []string{"c-2", "c-1", "nobody"})
	if err != nil {
		t.Fatalf("DeleteCustomers: %v", err)
	}
	wantIDs(t, "deleted", del.Deleted, []string{"c-1"})
	wantIDs(t, "unknown", del.Unknown, []string{"c-2", "nobody"})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), nil)
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-2", "o-1"), []store.Customer{storetest.Customer("c-1", "Ada of t-2"), storetest.Customer("c-2", "Grace of t-2")})
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-2", "c-1"), store.Secrets{PINHash: "hash-pin"})
	if got := storetest.MustVersion(t, st, "t-2", "o-1"); got != v {
		t.Error("another tenant's organization changed its version")
	}

	del, err = st.DeleteCustomers(t.Context(), "t-unknown", []string{"c-1"})
	if err != nil {
		t.Fatalf("DeleteCustomers of an unknown tenant: %v", err)
	}
	wantIDs(t, "deleted", del.Deleted, nil)
	wantIDs(t, "unknown", del.Unknown, []string{"c-1"})
}

func testDeleteOrganization(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-1", storetest.WithSecrets(storetest.Customer("c-1", "Ada"), store.Secrets{PasswordHash: "hash-pw"}), storetest.Customer("c-2", "Grace"), storetest.Customer("c-3", "Edsger"))
	storetest.MustImport(t, st, "t-1", "o-2", storetest.Customer("c-2", "Grace"))
	storetest.MustImport(t, st, "t-2", "o-1", storetest.Customer("c-1", "Ada of t-2"))
	v2, other := storetest.MustVersion(t, st, "t-1", "o-2"), storetest.MustVersion(t, st, "t-2", "o-1")

	del, err := st.DeleteOrganization(t.Context(), "t-1", "o-1")
	if err != nil {
		t.Fatalf("DeleteOrganization: %v", err)
	}
	wantIDs(t, "deleted", del.Deleted, []string{"c-1", "c-3"})
	wantIDs(t, "kept", del.Kept, []string{"c-2"})
	storetest.WantNotFound(t, st, "t-1", "o-1")
	wantNoSecrets(t, st, "t-1", "c-1")
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-2"), []store.Customer{storetest.Customer("c-2", "Grace")})
	if v := storetest.MustVersion(t, st, "t-1", "o-2"); v != v2 {
		t.Error("the version of o-2 changed although its members stayed")
	}
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-2", "o-1"), []store.Customer{storetest.Customer("c-1", "Ada of t-2")})
	if v := storetest.MustVersion(t, st, "t-2", "o-1"); v != other {
		t.Error("another tenant's organization with the same id changed its version")
	}
	// Created again, it is a new organization with a new version, and its customers are new.
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")), store.ImportSummary{Created: 1, Unchanged: 1})
}

func testDeleteOrganizationUnknown(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"))
	for _, tc := range []struct{ tenant, org string }{{"t-1", "o-2"}, {"t-2", "o-1"}} {
		if _, err := st.DeleteOrganization(t.Context(), tc.tenant, tc.org); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteOrganization(%q, %q): error %v, want ErrNotFound", tc.tenant, tc.org, err)
		}
	}
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), []store.Customer{storetest.Customer("c-1", "Ada")})
}

func mustReplace(t *testing.T, st store.Store, tenantID, organizationID string, opts store.ImportOptions, customers ...store.Customer) store.ImportSummary {
	t.Helper()
	opts.Replace = true
	sum, err := st.ImportCustomers(t.Context(), tenantID, organizationID, storetest.Seq(customers...), opts)
	if err != nil {
		t.Fatalf("ImportCustomers(%q, %q, %+v): %v", tenantID, organizationID, opts, err)
	}
	return sum
}

func testReplaceImport(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-1", storetest.WithSecrets(storetest.Customer("c-1", "Ada"), store.Secrets{PasswordHash: "hash-pw"}), storetest.Customer("c-2", "Grace"), storetest.Customer("c-3", "Edsger"))
	storetest.MustImport(t, st, "t-1", "o-2", storetest.Customer("c-2", "Grace"))
	storetest.MustImport(t, st, "t-2", "o-1", storetest.Customer("c-1", "Ada of t-2"))
	v1, v2, other := storetest.MustVersion(t, st, "t-1", "o-1"), storetest.MustVersion(t, st, "t-1", "o-2"), storetest.MustVersion(t, st, "t-2", "o-1")

	sum := mustReplace(t, st, "t-1", "o-1", store.ImportOptions{}, storetest.Customer("c-3", "Edsger W."), storetest.Customer("c-4", "Barbara"))
	storetest.WantSummary(t, sum, store.ImportSummary{Created: 1, Updated: 1, Left: 2, Deleted: 1})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), []store.Customer{storetest.Customer("c-3", "Edsger W."), storetest.Customer("c-4", "Barbara")})
	wantNoSecrets(t, st, "t-1", "c-1")
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-2"), []store.Customer{storetest.Customer("c-2", "Grace")}) // kept: o-2 holds it
	if v := storetest.MustVersion(t, st, "t-1", "o-1"); v == v1 {
		t.Error("the version of o-1 did not change")
	}
	if v := storetest.MustVersion(t, st, "t-1", "o-2"); v != v2 {
		t.Error("the version of o-2 changed although its members did not")
	}
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-2", "o-1"), []store.Customer{storetest.Customer("c-1", "Ada of t-2")})
	if v := storetest.MustVersion(t, st, "t-2", "o-1"); v != other {
		t.Error("another tenant's organization changed its version")
	}

	// The same file again changes nothing, the version included.
	v1 = storetest.MustVersion(t, st, "t-1", "o-1")
	sum = mustReplace(t, st, "t-1", "o-1", store.ImportOptions{}, storetest.Customer("c-3", "Edsger W."), storetest.Customer("c-4", "Barbara"))
	storetest.WantSummary(t, sum, store.ImportSummary{Unchanged: 2})
	if v := storetest.MustVersion(t, st, "t-1", "o-1"); v != v1 {
		t.Error("a replacing import that changed nothing changed the version")
	}
}

func testReplaceEmpty(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace"))
	storetest.WantSummary(t, mustReplace(t, st, "t-1", "o-1", store.ImportOptions{}), store.ImportSummary{Left: 2, Deleted: 2})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), nil)
	// A new organization replaced with nothing exists, empty.
	storetest.WantSummary(t, mustReplace(t, st, "t-1", "o-new", store.ImportOptions{}), store.ImportSummary{})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-new"), nil)
}

func testReplaceFails(t *testing.T, st store.Store) {
	in := []store.Customer{storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")}
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	v := storetest.MustVersion(t, st, "t-1", "o-1")
	broken := errors.New("broken record")
	seq := func(yield func(store.Customer, error) bool) {
		if yield(storetest.Customer("c-3", "Edsger"), nil) {
			yield(store.Customer{}, broken)
		}
	}
	if _, err := st.ImportCustomers(t.Context(), "t-1", "o-1", seq, store.ImportOptions{Replace: true}); !errors.Is(err, broken) {
		t.Fatalf("replacing import with a broken record: error %v, want %v", err, broken)
	}
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), in)
	if got := storetest.MustVersion(t, st, "t-1", "o-1"); got != v {
		t.Error("a failed replacing import changed the version")
	}
}

func testDryRun(t *testing.T, st store.Store) {
	in := []store.Customer{storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace"), storetest.Customer("c-3", "Edsger")}
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	v := storetest.MustVersion(t, st, "t-1", "o-1")

	sum, err := st.ImportCustomers(t.Context(), "t-1", "o-1", storetest.Seq(storetest.Customer("c-2", "Grace Hopper"), storetest.Customer("c-3", "Edsger"), storetest.Customer("c-4", "Barbara")), store.ImportOptions{DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	storetest.WantSummary(t, sum, store.ImportSummary{Created: 1, Updated: 1, Unchanged: 1})
	sum = mustReplace(t, st, "t-1", "o-1", store.ImportOptions{DryRun: true}, storetest.Customer("c-3", "Edsger"))
	storetest.WantSummary(t, sum, store.ImportSummary{Unchanged: 1, Left: 2, Deleted: 2})
	if _, err := st.ImportCustomers(t.Context(), "t-1", "o-new", storetest.Seq(storetest.Customer("c-9", "Alan")), store.ImportOptions{DryRun: true}); err != nil {
		t.Fatalf("dry run into a new organization: %v", err)
	}

	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), in)
	if got := storetest.MustVersion(t, st, "t-1", "o-1"); got != v {
		t.Error("a dry run changed the version")
	}
	storetest.WantNotFound(t, st, "t-1", "o-new")
}
