package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// TestWhatVacuumLeaves checks what docs/data.md says PostgreSQL keeps of a deleted customer, by
// searching every page of every table and index of the schema (pageinspect's get_raw_page): VACUUM
// makes the rows' space free without overwriting it, so the deleted id stays in the pages of the
// indexes and the deleted values in those of the table; REINDEX rewrites the indexes, and VACUUM
// FULL the tables with their indexes, after which no page holds them. It skips when the test's
// server user cannot install pageinspect or read raw pages (both need a superuser).
func TestWhatVacuumLeaves(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, d.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pageinspect`); err != nil {
		t.Skipf("pageinspect is not available to %s: %v", pgtest.EnvURL, err)
	}
	if _, err := admin.Exec(ctx, `SELECT get_raw_page('pg_class', 0)`); err != nil {
		t.Skipf("%s may not read raw pages: %v", pgtest.EnvURL, err)
	}

	st := MustOpen(t, d.URL, postgres.Options{})
	MustMigrate(t, st)
	kept := []store.Customer{storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")}
	for i := range kept { // rows beside the deleted one's, so that VACUUM does not truncate its pages away
		kept[i].Secrets = store.Secrets{PasswordHash: "$argon2id$" + kept[i].ID}
	}
	storetest.MustImport(t, st, "t-1", "o-1", kept...)
	// Imported last, so that no row or index entry lies below its bytes in a page: VACUUM moves
	// those up when it compacts a page, over the freed bytes.
	const id, value = "cus-Quaxley-51c2", "Zebulon Quaxley 7f3a9c"
	erased := storetest.WithSecrets(storetest.Customer(id, value), store.Secrets{PasswordHash: "$argon2id$" + value})
	storetest.MustImport(t, st, "t-1", "o-1", erased)
	if _, err := st.DeleteCustomers(ctx, "t-1", []string{id}); err != nil {
		t.Fatal(err)
	}

	// holding returns the relations of the schema one of whose pages holds s.
	holding := func(s string) []string {
		t.Helper()
		rows, err := admin.Query(ctx, `
SELECT c.oid::regclass::text
FROM pg_class AS c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'i')
  AND EXISTS (SELECT 1 FROM generate_series(0, pg_relation_size(c.oid) / current_setting('block_size')::bigint - 1) AS b
              WHERE position(convert_to($1, 'UTF8') IN get_raw_page(c.oid::regclass::text, b)) > 0)
`, s)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	want := func(when, s string, want ...string) {
		t.Helper()
		got := holding(s)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s, %q is in the pages of %q; want %q", when, s, got, want)
		}
	}
	indexes := []string{"customer_secrets_pkey", "customers_pkey", "organization_customers_by_customer", "organization_customers_pkey"}

	if _, err := admin.Exec(ctx, `VACUUM customers, customer_secrets, organization_customers`); err != nil {
		t.Fatal(err)
	}
	var live int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM bt_page_items('customers_pkey', 1) WHERE position(convert_to($1, 'UTF8') IN decode(replace(data, ' ', ''), 'hex')) > 0`, id).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live != 0 {
		t.Errorf("after VACUUM, customers_pkey still has %d entries for the deleted id", live)
	}
	want("after VACUUM", id, append([]string{"customer_secrets", "customers", "organization_customers"}, indexes...)...)
	want("after VACUUM", value, "customer_secrets", "customers")

	if _, err := admin.Exec(ctx, `REINDEX TABLE customers; REINDEX TABLE customer_secrets; REINDEX TABLE organization_customers`); err != nil {
		t.Fatal(err)
	}
	want("after REINDEX", id, "customer_secrets", "customers", "organization_customers")

	if _, err := admin.Exec(ctx, `VACUUM FULL customers, customer_secrets, organization_customers`); err != nil {
		t.Fatal(err)
	}
	want("after VACUUM FULL", id)
	want("after VACUUM FULL", value)
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), []store.Customer{storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")})
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-1", "c-1"), kept[0].Secrets)
}
