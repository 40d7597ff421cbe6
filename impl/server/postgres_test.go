package server_test

import (
	"testing"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

// mustStartPostgres starts the service on a PostgreSQL database of its own; it skips the test
// when CUSTOMER_API_TEST_POSTGRES is unset.
func mustStartPostgres(t *testing.T) *apitest.Env {
	t.Helper()
	d := pgtest.New(t)
	st, err := postgres.Open(t.Context(), d.URL, postgres.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return apitest.MustStartWith(t, apitest.MustContract(t), st)
}
