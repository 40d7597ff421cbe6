package postgres_test

import (
	"testing"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

func TestTokenStoreConformance(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) store.Store {
		st, err := postgres.Open(t.Context(), pgtest.New(t).URL, postgres.Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	})
}
