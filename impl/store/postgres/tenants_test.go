package postgres_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

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
