package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
	"github.com/cyrexa/customer-api/impl/store/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// MustOpen opens a store on dbURL, closing it when the test ends. The schema is not migrated.
func MustOpen(tb testing.TB, dbURL string, opts postgres.Options) *postgres.Store {
	tb.Helper()
	st, err := postgres.Open(tb.Context(), dbURL, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// MustMigrate migrates st or fails the test.
func MustMigrate(tb testing.TB, st store.Store) {
	tb.Helper()
	if _, err := st.MigrateUp(tb.Context()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
}

// MustNew opens and migrates a store on a database of its own.
func MustNew(tb testing.TB, opts postgres.Options) *postgres.Store {
	tb.Helper()
	st := MustOpen(tb, pgtest.New(tb).URL, opts)
	MustMigrate(tb, st)
	return st
}

// withParams returns dbURL with params added to its query.
func withParams(tb testing.TB, dbURL string, params url.Values) string {
	tb.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// TestConcurrentMigrate starts several instances at once against a fresh database: the
// migration lock lets one of them create the schema and the others find it done.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	const instances = 4
	stores := make([]*postgres.Store, instances)
	for i := range stores {
		stores[i] = MustOpen(t, d.URL, postgres.Options{})
	}
	var wg sync.WaitGroup
	errs := make([]error, instances)
	start := make(chan struct{})
	for i, st := range stores {
		wg.Go(func() {
			<-start
			_, errs[i] = st.MigrateUp(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate of instance %d: %v", i, err)
		}
	}
	// Every instance works on the one schema, and goose recorded each version once.
	for i, st := range stores {
		storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer(fmt.Sprintf("c-%d", i), "Ada"))
	}
	if got := len(storetest.MustCustomers(t, stores[0], "t-1", "o-1")); got != instances {
		t.Errorf("%d customers, want %d", got, instances)
	}
	var applied, distinct int
	d.QueryRow(t, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`, &applied, &distinct)
	if applied != distinct || applied == 0 {
		t.Errorf("goose_db_version holds %d applied versions, %d distinct; want each once", applied, distinct)
	}
}

func TestOpenChecksItsOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url string
		opts      postgres.Options
		want      string
	}{
		{"pool of one", "postgres://u@127.0.0.1:1/db", postgres.Options{MaxConns: 1}, "at least 2 connections"},
		{"pool of one in the URL", "postgres://u@127.0.0.1:1/db?pool_max_conns=1", postgres.Options{}, "at least 2 connections"},
		{"not a URL", "postgres://u:secret@[::1/db", postgres.Options{}, "cannot parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := postgres.Open(t.Context(), tc.url, tc.opts)
			if err == nil {
				st.Close()
				t.Fatalf("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
				t.Errorf("Open error = %v; want it to say %q and not show the password", err, tc.want)
			}
			if errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Open error = %v; a bad configuration is not unavailability", err)
			}
		})
	}
}

func TestOpenOnAClosedPortIsUnavailable(t *testing.T) {
	t.Parallel()
	p := pgtest.NewProxy(t, "127.0.0.1:1")
	p.Stop() // nothing listens on its port now
	start := time.Now()
	st, err := postgres.Open(t.Context(), "postgres://u:secret@"+p.Addr()+"/db?sslmode=disable", postgres.Options{ConnectTimeout: 2 * time.Second})
	if err == nil {
		st.Close()
		t.Fatal("Open succeeded")
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open error = %v, want it to wrap ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("Open error shows the password: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open took %v to fail", d)
	}
}

// TestLosingTheDatabase cuts the network between the store and the server, refusing or
// swallowing connections: every method fails with ErrUnavailable within the connect timeout,
// and the store works again once the network is back, without a restart.
func TestLosingTheDatabase(t *testing.T) {
	pgtest.ServerURL(t)
	t.Parallel()
	for _, outage := range pgtest.Outages {
		t.Run(outage.Name, func(t *testing.T) {
			t.Parallel()
			d := pgtest.New(t)
			proxy, viaProxy := pgtest.ProxyURL(t, d.URL)
			const connectTimeout = time.Second
			st := MustOpen(t, viaProxy, postgres.Options{ConnectTimeout: connectTimeout})
			MustMigrate(t, st)
			want := []store.Customer{storetest.Customer("c-1", "Ada")}
			storetest.MustImport(t, st, "t-1", "o-1", want...)

			if err := outage.Start(proxy); err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			for name, call := range map[string]func() error{
				"Ping": func() error { return st.Ping(ctx) },
				"ReadOrganization": func() error {
					snap, err := st.ReadOrganization(ctx, "t-1", "o-1")
					if err == nil {
						snap.Close()
					}
					return err
				},
				"OrganizationVersion": func() error {
					_, err := st.OrganizationVersion(ctx, "t-1", "o-1")
					return err
				},
				"CustomerSecrets": func() error {
					_, err := st.CustomerSecrets(ctx, "t-1", "c-1")
					return err
				},
				"ImportCustomers": func() error {
					_, err := st.ImportCustomers(ctx, "t-1", "o-1", storetest.Seq(want...), store.ImportOptions{})
					return err
				},
				"Empty": func() error {
					_, err := st.Empty(ctx)
					return err
				},
				"ErasureCount": func() error {
					_, err := st.ErasureCount(ctx)
					return err
				},
				"MigrateUp": func() error {
					_, err := st.MigrateUp(ctx)
					return err
				},
			} {
				start := time.Now()
				if err := call(); !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s without the database: error = %v, want it to wrap ErrUnavailable", name, err)
				}
				if took := time.Since(start); took > connectTimeout+5*time.Second {
					t.Errorf("%s without the database took %v to fail", name, took)
				}
			}

			if err := proxy.Start(); err != nil {
				t.Fatal(err)
			}
			// A pooled connection may have been cut mid-way; the pool drops it on first use, so
			// the store is back within a few calls.
			deadline := time.Now().Add(15 * time.Second)
			for st.Ping(ctx) != nil {
				if time.Now().After(deadline) {
					t.Fatalf("the store did not recover: %v", st.Ping(ctx))
				}
				time.Sleep(100 * time.Millisecond)
			}
			storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), want)
			storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-2", "Grace"))
		})
	}
}

// TestDocumentsComeBackAsStored checks what the json column keeps: the exact text, including
// what jsonb would refuse (\u0000) or rewrite (key order, duplicate keys, number spelling).
func TestDocumentsComeBackAsStored(t *testing.T) {
	t.Parallel()
	st := MustNew(t, postgres.Options{})
	docs := []string{
		`{"id":"c-1","name":"nul \u0000 inside"}`,
		`{"z":1,"a":2,"z":3}`,
		`{"latitude":48.2143712,"big":1e300,"small":-0.0}`,
		`{"text":"é ✓ 😀"}`,
	}
	var in []store.Customer
	for i, doc := range docs {
		in = append(in, store.Customer{ID: fmt.Sprintf("c-%d", i), Document: []byte(doc)})
	}
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", in...), store.ImportSummary{Created: len(in)})
	got := storetest.MustCustomers(t, st, "t-1", "o-1")
	for i, c := range got {
		if string(c.Document) != docs[i] {
			t.Errorf("document of %s = %s, want %s", c.ID, c.Document, docs[i])
		}
	}
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", in...), store.ImportSummary{Unchanged: len(in)})
}

// TestRepeatedIDsInOneImport checks that a sequence naming a customer twice behaves as if the
// records were written one by one (the importer refuses such files, but the store does not
// rely on it), within a batch and across batches.
func TestRepeatedIDsInOneImport(t *testing.T) {
	pgtest.ServerURL(t)
	t.Parallel()
	for _, size := range []int{1, 2, 3, 100} {
		t.Run(fmt.Sprintf("batches of %d", size), func(t *testing.T) {
			t.Parallel()
			st := MustNew(t, postgres.Options{ImportBatchSize: size})
			in := []store.Customer{
				storetest.Customer("c-1", "Ada"),
				storetest.Customer("c-2", "Grace"),
				storetest.WithSecrets(storetest.Customer("c-1", "Ada Lovelace"), store.Secrets{PINHash: "hash-pin"}),
				storetest.Customer("c-3", "Edsger"),
				storetest.Customer("c-1", "Ada Lovelace"),
			}
			// c-1 is created, updated with a secret, then updated again without it.
			storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", in...), store.ImportSummary{Created: 3, Updated: 2})
			storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"),
				[]store.Customer{in[4], in[1], in[3]})
			storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-1", "c-1"), store.Secrets{})
		})
	}
}

// TestImportsWaitForAConnection runs more imports at once than the pool has connections, each
// reading the store from its sequence as the importer does: none may deadlock.
func TestImportsWaitForAConnection(t *testing.T) {
	t.Parallel()
	st := MustNew(t, postgres.Options{MaxConns: 2})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range cap(errs) {
		wg.Go(func() {
			tenant := fmt.Sprintf("t-%d", i%2)
			seq := func(yield func(store.Customer, error) bool) {
				for j := range 20 {
					id := fmt.Sprintf("c-%d-%d", i, j)
					if _, err := st.CustomerSecrets(ctx, tenant, id); err != nil && !errors.Is(err, store.ErrNotFound) {
						yield(store.Customer{}, err)
						return
					}
					if !yield(storetest.Customer(id, "Ada"), nil) {
						return
					}
				}
			}
			if _, err := st.ImportCustomers(ctx, tenant, "o-1", seq, store.ImportOptions{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestVersionTriggers checks the versions against writes the store itself never makes, as an
// operator's SQL would, run as a superuser who sets no tenant: deleting a customer (its
// memberships go by ON DELETE CASCADE) changes the version of each organization that held it,
// an organization deleted and imported again gets a version it never had, and a statement that
// touches several tenants changes the versions of each.
func TestVersionTriggers(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	st := MustOpen(t, d.URL, postgres.Options{})
	MustMigrate(t, st)
	storetest.CheckVersionTriggers(t, st, d.Exec)

	t.Run("one statement changing documents of two tenants changes the versions of both", func(t *testing.T) {
		one, two := storetest.MustVersion(t, st, "t-1", "o-c"), storetest.MustVersion(t, st, "t-2", "o-a")
		d.Exec(t, `UPDATE customers SET document = '{"id":"c-1","name":"Ada Lovelace"}' WHERE id = 'c-1'`)
		if storetest.MustVersion(t, st, "t-1", "o-c") == one || storetest.MustVersion(t, st, "t-2", "o-a") == two {
			t.Error("an organization holding an updated customer kept its version")
		}
		// Rewriting the same document is no change.
		one, two = storetest.MustVersion(t, st, "t-1", "o-c"), storetest.MustVersion(t, st, "t-2", "o-a")
		d.Exec(t, `UPDATE customers SET updated_at = now(), document = document WHERE id = 'c-1'`)
		if storetest.MustVersion(t, st, "t-1", "o-c") != one || storetest.MustVersion(t, st, "t-2", "o-a") != two {
			t.Error("rewriting the same document changed a version")
		}
	})
}

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

// TestRowLevelSecurity checks the second wall on its own: connected as the tables' owner (not a
// superuser), a statement sees only the rows of the tenant its transaction names, none without
// one, and cannot write another tenant's rows.
func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	st := MustOpen(t, d.URL, postgres.Options{})
	MustMigrate(t, st)
	storetest.MustImport(t, st, "t-1", "o-1",
		storetest.WithSecrets(storetest.Customer("c-1", "Ada"), store.Secrets{PasswordHash: "hash-1"}),
		storetest.Customer("c-2", "Grace"))
	storetest.MustImport(t, st, "t-2", "o-2", storetest.WithSecrets(storetest.Customer("c-1", "Ada of t-2"), store.Secrets{PasswordHash: "hash-2"}))

	ctx := t.Context()
	conn, err := pgx.Connect(ctx, d.URL) // the owner: FORCE ROW LEVEL SECURITY applies to it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	// count returns how many rows of table the tenant's transaction sees; tenant "" sets none.
	count := func(tenant, table string) int {
		t.Helper()
		var n int
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if tenant != "" {
				if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenant); err != nil {
					return err
				}
			}
			return tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		})
		if err != nil {
			t.Fatalf("count %s for %q: %v", table, tenant, err)
		}
		return n
	}
	for _, tc := range []struct {
		table          string
		none, one, two int
	}{
		{"organizations", 0, 1, 1},
		{"customers", 0, 2, 1},
		{"organization_customers", 0, 2, 1},
		{"customer_secrets", 0, 1, 1},
		{"tenants", 2, 2, 2}, // ids only, and Empty needs them all
	} {
		if got := [3]int{count("", tc.table), count("t-1", tc.table), count("t-2", tc.table)}; got != [3]int{tc.none, tc.one, tc.two} {
			t.Errorf("%s: rows seen without a tenant, by t-1, by t-2 = %v, want %v", tc.table, got, [3]int{tc.none, tc.one, tc.two})
		}
	}
	// The setting ends with its transaction: a later statement sees nothing again.
	if n := count("", "customers"); n != 0 {
		t.Errorf("a statement after a tenant's transaction sees %d customers, want 0", n)
	}

	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', 't-1', true)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO customers (tenant_id, id, document) VALUES ('t-2', 'c-9', '{}')`)
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege: policy violation
		t.Errorf("writing another tenant's customer: error = %v, want a row-level security violation", err)
	}
}

// The grants of the least-privilege roles in docs/deployment.md; keep both in step. %s is the role.
const (
	runtimeGrants = `
GRANT USAGE ON SCHEMA public TO %[1]s;
GRANT SELECT ON goose_db_version TO %[1]s;
GRANT SELECT, INSERT ON tenants TO %[1]s;
GRANT SELECT, INSERT, DELETE ON organizations, organization_customers TO %[1]s;
GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO %[1]s;
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_secrets TO %[1]s;
GRANT SELECT, INSERT, UPDATE ON api_tokens TO %[1]s;
GRANT SELECT ON erasures TO %[1]s;`
	readOnlyGrants = `
GRANT USAGE ON SCHEMA public TO %[1]s;
GRANT SELECT ON goose_db_version, tenants, organizations, organization_customers, customers, api_tokens, erasures TO %[1]s;`
)

// TestLeastPrivilegeRoles runs the service's work as the roles docs/deployment.md describes: the
// runtime role imports and reads, the read-only role (for replicas) reads in read-only
// transactions, and both pass Migrate, which only checks the version once the schema is current.
func TestLeastPrivilegeRoles(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	MustMigrate(t, MustOpen(t, d.URL, postgres.Options{})) // as the owner, the migration role

	runtimeURL := d.MustRole(t, "runtime")
	readOnlyURL := d.MustRole(t, "readonly")
	d.Exec(t, fmt.Sprintf(runtimeGrants, d.Name+"_runtime"), fmt.Sprintf(readOnlyGrants, d.Name+"_readonly"))

	rt := MustOpen(t, runtimeURL, postgres.Options{})
	MustMigrate(t, rt)
	in := []store.Customer{
		storetest.WithSecrets(storetest.Customer("c-1", "Ada"), store.Secrets{PasswordHash: "hash-1"}),
		storetest.Customer("c-2", "Grace"),
	}
	storetest.WantSummary(t, storetest.MustImport(t, rt, "t-1", "o-1", in...), store.ImportSummary{Created: 2})
	in[0].Secrets = store.Secrets{} // a secret removed: the runtime role deletes it
	storetest.WantSummary(t, storetest.MustImport(t, rt, "t-1", "o-1", in...), store.ImportSummary{Updated: 1, Unchanged: 1})
	// The version triggers write organizations, which the runtime role may not update itself.
	version := storetest.MustVersion(t, rt, "t-1", "o-1")
	in[1] = storetest.Customer("c-2", "Grace Hopper")
	storetest.WantSummary(t, storetest.MustImport(t, rt, "t-1", "o-1", in...), store.ImportSummary{Updated: 1, Unchanged: 1})
	if storetest.MustVersion(t, rt, "t-1", "o-1") == version {
		t.Error("a document changed by the runtime role kept the organization's version")
	}
	storetest.WantSecrets(t, storetest.MustSecrets(t, rt, "t-1", "c-1"), store.Secrets{})
	storetest.MustEmpty(t, rt, false)
	// Erasure: the runtime role deletes customers, organizations and the members a replacing
	// import leaves out, and the count of erasures, which it may not write itself, follows.
	erasures := storetest.MustErasureCount(t, rt)
	storetest.MustImport(t, rt, "t-1", "o-2", storetest.Customer("c-3", "Edsger"), storetest.Customer("c-4", "Barbara"))
	if _, err := rt.ImportCustomers(t.Context(), "t-1", "o-2", storetest.Seq(storetest.Customer("c-4", "Barbara")), store.ImportOptions{Replace: true}); err != nil {
		t.Errorf("replacing import as the runtime role: %v", err)
	}
	if _, err := rt.DeleteCustomers(t.Context(), "t-1", []string{"c-4"}); err != nil {
		t.Errorf("delete a customer as the runtime role: %v", err)
	}
	if _, err := rt.DeleteOrganization(t.Context(), "t-1", "o-2"); err != nil {
		t.Errorf("delete an organization as the runtime role: %v", err)
	}
	if n := storetest.MustErasureCount(t, rt); n != erasures+2 {
		t.Errorf("erasure count after two customers deleted = %d, want %d", n, erasures+2)
	}
	// A role that could set the count back could hide an erasure from the serving processes.
	conn, err := pgx.Connect(t.Context(), runtimeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var pgErr *pgconn.PgError
	if _, err := conn.Exec(t.Context(), `UPDATE erasures SET customers = 0`); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("the runtime role writes the erasure count: error %v, want permission denied", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	token := store.APIToken{ID: "tok-1", TenantID: "t-1", SecretHash: make([]byte, 32), CreatedAt: now}
	if err := rt.CreateAPIToken(t.Context(), token); err != nil {
		t.Errorf("issue an API token as the runtime role: %v", err)
	}
	if err := rt.RevokeAPIToken(t.Context(), "tok-1", now); err != nil {
		t.Errorf("revoke an API token as the runtime role: %v", err)
	}

	// As on a replica, where every transaction is read-only.
	ro := MustOpen(t, withParams(t, readOnlyURL, url.Values{"default_transaction_read_only": {"on"}}), postgres.Options{})
	MustMigrate(t, ro)
	storetest.WantCustomers(t, storetest.MustCustomers(t, ro, "t-1", "o-1"), in)
	storetest.WantNotFound(t, ro, "t-1", "o-unknown")
	if v := storetest.MustVersion(t, ro, "t-1", "o-1"); v != storetest.MustVersion(t, rt, "t-1", "o-1") {
		t.Errorf("the read-only role sees version %q, the runtime role another", v)
	}
	storetest.MustEmpty(t, ro, false)
	if n := storetest.MustErasureCount(t, ro); n != erasures+2 {
		t.Errorf("the read-only role sees an erasure count of %d, want %d", n, erasures+2)
	}
	if _, err := ro.APIToken(t.Context(), "tok-1"); err != nil {
		t.Errorf("look an API token up as the read-only role: %v", err)
	}
	_, err = ro.ImportCustomers(t.Context(), "t-1", "o-1", storetest.Seq(in...), store.ImportOptions{})
	if err == nil || errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "read-only transaction") {
		t.Errorf("import as the read-only role: error = %v, want a refusal to write", err)
	}
	if _, err := ro.DeleteCustomers(t.Context(), "t-1", []string{"c-1"}); err == nil {
		t.Error("the read-only role deleted a customer")
	}
	if _, err := ro.CustomerSecrets(t.Context(), "t-1", "c-1"); err == nil {
		t.Error("the read-only role read customer secrets")
	}
}

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
