package store_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

var tenantTests = []struct {
	name string
	run  func(t *testing.T, st store.Store)
}{
	{"tenants are listed with their organizations, customers and API tokens", testTenants},
	{"a tenant's organizations are listed with their customers", testOrganizations},
	{"deleting a tenant deletes its data and its API tokens, and nothing of other tenants", testDeleteTenant},
	{"deleting a tenant that holds only API tokens deletes them", testDeleteTenantTokensOnly},
	{"deleting an unknown tenant is not found", testDeleteTenantUnknown},
	{"deleting an API token removes it", testDeleteAPIToken},
	{"migrating a current schema applies nothing", testMigrateUpCurrent},
}

func init() { tests = append(tests, tenantTests...) }

func testTenants(t *testing.T, st store.Store) {
	if got := storetest.MustTenants(t, st); got == nil || len(got) != 0 {
		t.Errorf("Tenants of an empty store = %#v, want an empty, non-nil list", got)
	}
	storetest.MustImport(t, st, "t-b", "o-1", storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace"))
	storetest.MustImport(t, st, "t-b", "o-2", storetest.Customer("c-2", "Grace"), storetest.Customer("c-3", "Edsger"))
	storetest.MustImport(t, st, "t-b", "o-3")
	storetest.MustImport(t, st, "t-a", "o-1", storetest.Customer("c-1", "Ada of t-a"))
	storetest.MustToken(t, st, "tok-1", "t-a")
	storetest.MustToken(t, st, "tok-2", "t-a")
	storetest.MustToken(t, st, "tok-3", "t-c") // a tenant with API tokens and no data
	want := []store.TenantSummary{
		{ID: "t-a", Organizations: 1, Customers: 1, APITokens: 2},
		{ID: "t-b", Organizations: 3, Customers: 3},
		{ID: "t-c", APITokens: 1},
	}
	if got := storetest.MustTenants(t, st); !reflect.DeepEqual(got, want) {
		t.Errorf("Tenants = %+v, want %+v", got, want)
	}
}

func testOrganizations(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-b", storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace"))
	storetest.MustImport(t, st, "t-1", "o-a", storetest.Customer("c-2", "Grace"))
	storetest.MustImport(t, st, "t-1", "o-c")
	storetest.MustImport(t, st, "t-2", "o-z", storetest.Customer("c-9", "Other"))
	orgs, err := st.Organizations(t.Context(), "t-1")
	want := []store.OrganizationSummary{{ID: "o-a", Customers: 1}, {ID: "o-b", Customers: 2}, {ID: "o-c"}}
	if err != nil || !reflect.DeepEqual(orgs, want) {
		t.Errorf("Organizations(t-1) = %+v, %v; want %+v", orgs, err, want)
	}
	if orgs, err := st.Organizations(t.Context(), "t-unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Organizations of an unknown tenant = %+v, %v; want ErrNotFound", orgs, err)
	}
	// A tenant whose last organization was deleted still exists, with none.
	if _, err := st.DeleteOrganization(t.Context(), "t-2", "o-z"); err != nil {
		t.Fatal(err)
	}
	if orgs, err := st.Organizations(t.Context(), "t-2"); err != nil || orgs == nil || len(orgs) != 0 {
		t.Errorf("Organizations of a tenant without any = %#v, %v; want an empty, non-nil list", orgs, err)
	}
}

func testDeleteTenant(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-1", storetest.WithSecrets(storetest.Customer("c-1", "Ada"), store.Secrets{PasswordHash: "hash-pw"}), storetest.Customer("c-2", "Grace"))
	storetest.MustImport(t, st, "t-1", "o-2", storetest.Customer("c-2", "Grace"), storetest.Customer("c-3", "Edsger"))
	storetest.MustImport(t, st, "t-2", "o-1", storetest.WithSecrets(storetest.Customer("c-1", "Ada of t-2"), store.Secrets{PINHash: "hash-pin"}))
	storetest.MustToken(t, st, "tok-1", "t-1")
	storetest.MustToken(t, st, "tok-2", "t-1")
	storetest.MustToken(t, st, "tok-3", "t-2")
	other := storetest.MustVersion(t, st, "t-2", "o-1")

	del, err := st.DeleteTenant(t.Context(), "t-1")
	if err != nil {
		t.Fatalf("DeleteTenant: %v", err)
	}
	if want := (store.TenantDeletion{Organizations: 2, Customers: 3, APITokens: 2}); del != want {
		t.Errorf("DeleteTenant = %+v, want %+v", del, want)
	}
	storetest.WantNotFound(t, st, "t-1", "o-1")
	storetest.WantNotFound(t, st, "t-1", "o-2")
	wantNoSecrets(t, st, "t-1", "c-1")
	for _, id := range []string{"tok-1", "tok-2"} {
		if tok, err := st.APIToken(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("APIToken(%q) after the tenant's deletion = %+v, %v; want ErrNotFound", id, tok, err)
		}
	}
	if tokens, err := st.APITokens(t.Context(), "t-1"); err != nil || len(tokens) != 0 {
		t.Errorf("APITokens(t-1) = %+v, %v; want none", tokens, err)
	}
	if _, err := st.Organizations(t.Context(), "t-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Organizations(t-1) after its deletion: %v, want ErrNotFound", err)
	}
	// The other tenant, with the same ids, is untouched.
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-2", "o-1"), []store.Customer{storetest.Customer("c-1", "Ada of t-2")})
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-2", "c-1"), store.Secrets{PINHash: "hash-pin"})
	if v := storetest.MustVersion(t, st, "t-2", "o-1"); v != other {
		t.Error("another tenant's organization changed its version")
	}
	if _, err := st.APIToken(t.Context(), "tok-3"); err != nil {
		t.Errorf("another tenant's API token: %v", err)
	}
	want := []store.TenantSummary{{ID: "t-2", Organizations: 1, Customers: 1, APITokens: 1}}
	if got := storetest.MustTenants(t, st); !reflect.DeepEqual(got, want) {
		t.Errorf("Tenants = %+v, want %+v", got, want)
	}
	// The tenant may come back, as new.
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada")), store.ImportSummary{Created: 1})
}

func testDeleteTenantTokensOnly(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"))
	storetest.MustToken(t, st, "tok-1", "t-2")
	del, err := st.DeleteTenant(t.Context(), "t-2")
	if err != nil || del != (store.TenantDeletion{APITokens: 1}) {
		t.Errorf("DeleteTenant = %+v, %v; want one API token deleted", del, err)
	}
	if _, err := st.APIToken(t.Context(), "tok-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("APIToken after the tenant's deletion: %v, want ErrNotFound", err)
	}
	// The only tenant with data goes too: the store is empty again.
	if _, err := st.DeleteTenant(t.Context(), "t-1"); err != nil {
		t.Fatal(err)
	}
	storetest.MustEmpty(t, st, true)
}

func testDeleteTenantUnknown(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"))
	if del, err := st.DeleteTenant(t.Context(), "t-unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteTenant of an unknown tenant = %+v, %v; want ErrNotFound", del, err)
	}
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), []store.Customer{storetest.Customer("c-1", "Ada")})
}

func testDeleteAPIToken(t *testing.T, st store.Store) {
	storetest.MustToken(t, st, "tok-1", "t-1")
	storetest.MustToken(t, st, "tok-2", "t-1")
	if err := st.DeleteAPIToken(t.Context(), "tok-1"); err != nil {
		t.Fatalf("DeleteAPIToken: %v", err)
	}
	if _, err := st.APIToken(t.Context(), "tok-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("APIToken after its deletion: %v, want ErrNotFound", err)
	}
	if _, err := st.APIToken(t.Context(), "tok-2"); err != nil {
		t.Errorf("the other token: %v", err)
	}
	if err := st.DeleteAPIToken(t.Context(), "tok-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAPIToken again: %v, want ErrNotFound", err)
	}
}

func testMigrateUpCurrent(t *testing.T, st store.Store) {
	applied, err := st.MigrateUp(t.Context())
	if err != nil || len(applied) != 0 {
		t.Errorf("MigrateUp of a current schema = %v, %v; want nothing applied", applied, err)
	}
}
