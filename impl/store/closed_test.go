package store_test

import (
	"errors"
	"testing"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// testClosedStoreIsUnavailable closes st, a migrated store, and checks that every method then fails
// with store.ErrUnavailable, which the API answers with 503.
func testClosedStoreIsUnavailable(t *testing.T, st store.Store) {
	t.Helper()
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"))
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	_, errRead := st.ReadOrganization(ctx, "t-1", "o-1")
	_, errVersion := st.OrganizationVersion(ctx, "t-1", "o-1")
	_, errSecrets := st.CustomerSecrets(ctx, "t-1", "c-1")
	_, errImport := st.ImportCustomers(ctx, "t-1", "o-1", storetest.Seq(storetest.Customer("c-1", "Ada")), store.ImportOptions{})
	_, errEmpty := st.Empty(ctx)
	_, errErasures := st.ErasureCount(ctx)
	for name, err := range map[string]error{
		"Ping":                st.Ping(ctx),
		"ReadOrganization":    errRead,
		"OrganizationVersion": errVersion,
		"CustomerSecrets":     errSecrets,
		"ImportCustomers":     errImport,
		"Empty":               errEmpty,
		"ErasureCount":        errErasures,
		"Migrate":             st.Migrate(ctx),
	} {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s on a closed store: error = %v, want it to wrap ErrUnavailable", name, err)
		}
	}
}
