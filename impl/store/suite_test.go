// The conformance suite: every store.Store implementation passes the same tests.
package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// backends open a fresh, empty, unmigrated store of each kind, each on a database of its own.
var backends = []struct {
	name, migrations string
	open             func(tb testing.TB) store.Store
}{
	{"sqlite", "sqlite/migrations", func(tb testing.TB) store.Store {
		st, err := sqlite.Open(filepath.Join(tb.TempDir(), "customers.db"))
		if err != nil {
			tb.Fatalf("Open: %v", err)
		}
		return st
	}},
	{"postgres", "postgres/migrations", func(tb testing.TB) store.Store { return openPostgres(tb, postgres.Options{}, "") }},
	// Batches of two customers, so that every import spans several statements, on the smallest
	// pool; and no prepared statements, as behind PgBouncer in transaction mode.
	{"postgres with small batches, a small pool and no prepared statements", "postgres/migrations", func(tb testing.TB) store.Store {
		return openPostgres(tb, postgres.Options{ImportBatchSize: 2, MaxConns: 2}, "exec")
	}},
}

func openPostgres(tb testing.TB, opts postgres.Options, execMode string) store.Store {
	tb.Helper()
	u, err := url.Parse(pgtest.New(tb).URL)
	if err != nil {
		tb.Fatal(err)
	}
	if execMode != "" {
		q := u.Query()
		q.Set("default_query_exec_mode", execMode)
		u.RawQuery = q.Encode()
	}
	st, err := postgres.Open(tb.Context(), u.String(), opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return st
}

// TestConformance runs the suite against every backend; each subtest has a store of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, mustOpen(t, b.open))
				})
			}
			t.Run("API tokens", func(t *testing.T) {
				runTokens(t, func(t *testing.T) store.Store { return mustOpen(t, b.open) })
			})
			t.Run("a new database gets every migration in order, and a second run none", func(t *testing.T) {
				t.Parallel()
				files, err := filepath.Glob(b.migrations + "/*.sql")
				if err != nil || len(files) == 0 {
					t.Fatalf("no migrations found: %v", err)
				}
				st := b.open(t)
				t.Cleanup(func() { st.Close() })
				applied, err := st.MigrateUp(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if len(applied) != len(files) || applied[0] != 1 || !slices.IsSorted(applied) {
					t.Errorf("MigrateUp of a new database applied %v; want the %d versions of %v, in order", applied, len(files), files)
				}
				if again, err := st.MigrateUp(t.Context()); err != nil || len(again) != 0 {
					t.Errorf("MigrateUp again = %v, %v; want nothing applied", again, err)
				}
			})
		})
	}
}

// mustOpen opens a store, migrates it and closes it when the test ends.
func mustOpen(t *testing.T, open func(testing.TB) store.Store) store.Store {
	t.Helper()
	st := open(t)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if _, err := st.MigrateUp(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

// suiteTest is one test of the suite, run on a fresh, migrated store.
type suiteTest struct {
	name string
	run  func(t *testing.T, st store.Store)
}

var tests = []suiteTest{
	{"a new store is empty", testEmpty},
	{"an import creates the tenant, the organization and the customers", testImportCreates},
	{"importing the same data again leaves every customer unchanged", testReimportUnchanged},
	{"a changed document counts as updated", testChangedDocument},
	{"changed secrets count as updated", testChangedSecrets},
	{"customers come ordered by id in byte order", testOrderByID},
	{"an unknown organization is not found", testUnknownOrganization},
	{"tenants see only their own organizations and customers", testTenantIsolation},
	{"an organization without customers has a version and no customers", testEmptyOrganization},
	{"a customer can belong to two organizations of a tenant", testTwoOrganizations},
	{"an error from the sequence writes nothing", testSequenceError},
	{"invalid customers are refused and nothing is written", testInvalidCustomers},
	{"a cancelled import writes nothing", testCancelledImport},
	{"customers are read without their secrets", testReadWithoutSecrets},
	{"customer secrets come back as stored", testCustomerSecrets},
	{"the sequence can read the store while the import runs", testReadDuringImport},
	{"concurrent imports and reads all succeed", testConcurrency},
	{"migrating again is harmless", testMigrateTwice},
	{"an organization's version is stable while nothing changes", testVersionStable},
	{"a re-import that changes nothing keeps the version", testVersionNoopReimport},
	{"a changed document changes the version of every organization holding the customer", testVersionChangedDocument},
	{"a new member changes the version of its organization only", testVersionNewMember},
	{"organizations have versions of their own", testVersionsDiffer},
	{"a read stopped early and closed releases its connection", testReadStoppedEarly},
	{"a read whose context is cancelled stops with an error", testReadCancelled},
	{"a read sees the organization as it was when the read started", testReadConsistent},
	{"ping answers", testPing},
	{"a closed store is unavailable", testClosedStoreIsUnavailable},
	{"deleting customers removes them, their secrets and their memberships", testDeleteCustomers},
	{"deleting customers reports unknown ids and leaves other tenants alone", testDeleteCustomersUnknown},
	{"deleting an organization deletes the customers no other organization holds", testDeleteOrganization},
	{"deleting an unknown organization is not found", testDeleteOrganizationUnknown},
	{"a replacing import makes the membership exactly the imported set", testReplaceImport},
	{"a replacing import of nothing empties the organization", testReplaceEmpty},
	{"a replacing import that fails writes nothing", testReplaceFails},
	{"a dry run counts what an import would do and writes nothing", testDryRun},
	{"lookups answer while reads hold every connection they may use", testLookupsBesideReads},
	{"the erasure count grows with every deletion of customers and only then", testErasureCount},
	{"tenants are listed with their organizations, customers and API tokens", testTenants},
	{"a tenant's organizations are listed with their customers", testOrganizations},
	{"deleting a tenant deletes its data and its API tokens, and nothing of other tenants", testDeleteTenant},
	{"deleting a tenant that holds only API tokens deletes them", testDeleteTenantTokensOnly},
	{"deleting an unknown tenant is not found", testDeleteTenantUnknown},
	{"deleting an API token removes it", testDeleteAPIToken},
	{"migrating a current schema applies nothing", testMigrateUpCurrent},
}

func testEmpty(t *testing.T, st store.Store) {
	storetest.MustEmpty(t, st, true)
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"))
	storetest.MustEmpty(t, st, false)
}

func testImportCreates(t *testing.T, st store.Store) {
	in := []store.Customer{storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace"), storetest.Customer("c-3", "Edsger")}
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", in...), store.ImportSummary{Created: 3})
	storetest.MustEmpty(t, st, false)
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), withoutSecrets(in))
}

func testReimportUnchanged(t *testing.T, st store.Store) {
	in := []store.Customer{
		storetest.Customer("c-1", "Ada"),
		storetest.WithSecrets(storetest.Customer("c-2", "Grace"), store.Secrets{PasswordHash: "hash-pw", PINHash: "hash-pin", SecretAnswerHashes: []string{"hash-a1", "", "hash-a3"}}),
		storetest.WithSecrets(storetest.Customer("c-3", "Edsger"), store.Secrets{SecretAnswerHashes: []string{"", ""}}), // all empty: no secret
	}
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", in...), store.ImportSummary{Unchanged: 3})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), withoutSecrets(in))
}

func testChangedDocument(t *testing.T, st store.Store) {
	in := []store.Customer{storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")}
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	in[1] = storetest.Customer("c-2", "Grace Hopper")
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", in...), store.ImportSummary{Updated: 1, Unchanged: 1})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), in)
}

func testChangedSecrets(t *testing.T, st store.Store) {
	base := store.Secrets{PasswordHash: "hash-pw", PINHash: "hash-pin", SecretAnswerHashes: []string{"hash-a1", "hash-a2"}}
	changes := []struct {
		name    string
		secrets store.Secrets
	}{
		{"new password", store.Secrets{PasswordHash: "hash-pw-2", PINHash: "hash-pin", SecretAnswerHashes: []string{"hash-a1", "hash-a2"}}},
		{"new PIN", store.Secrets{PasswordHash: "hash-pw", PINHash: "hash-pin-2", SecretAnswerHashes: []string{"hash-a1", "hash-a2"}}},
		{"PIN removed", store.Secrets{PasswordHash: "hash-pw", SecretAnswerHashes: []string{"hash-a1", "hash-a2"}}},
		{"answer changed", store.Secrets{PasswordHash: "hash-pw", PINHash: "hash-pin", SecretAnswerHashes: []string{"hash-a1", "hash-a2-new"}}},
		{"answer added", store.Secrets{PasswordHash: "hash-pw", PINHash: "hash-pin", SecretAnswerHashes: []string{"hash-a1", "hash-a2", "hash-a3"}}},
		{"answers reordered", store.Secrets{PasswordHash: "hash-pw", PINHash: "hash-pin", SecretAnswerHashes: []string{"hash-a2", "hash-a1"}}},
		{"answers removed", store.Secrets{PasswordHash: "hash-pw", PINHash: "hash-pin"}},
		{"every secret removed", store.Secrets{}},
	}
	for i, ch := range changes {
		// One customer per change, all in the same store: the others must stay unchanged.
		id := fmt.Sprintf("c-%02d", i)
		c := storetest.WithSecrets(storetest.Customer(id, "Ada"), base)
		storetest.MustImport(t, st, "t-1", "o-1", c)
		c.Secrets = ch.secrets
		storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", c), store.ImportSummary{Updated: 1})
		storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-1", id), ch.secrets)
		storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", c), store.ImportSummary{Unchanged: 1})
	}
	// Secrets added to a customer that had none.
	c := storetest.Customer("c-new", "Grace")
	storetest.MustImport(t, st, "t-1", "o-1", c)
	c.Secrets = store.Secrets{PINHash: "hash-pin"}
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", c), store.ImportSummary{Updated: 1})
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-1", "c-new"), c.Secrets)
}

func testOrderByID(t *testing.T, st store.Store) {
	ids := []string{"b", "a2", "B", "a10", "a", "é", "Z", "0", "a-1", "a_1"}
	var in []store.Customer
	for _, id := range ids {
		in = append(in, storetest.Customer(id, "name of "+id))
	}
	// Two imports, so that insertion order is not id order either way.
	storetest.MustImport(t, st, "t-1", "o-1", in[5:]...)
	storetest.MustImport(t, st, "t-1", "o-1", in[:5]...)
	want := slices.Clone(in)
	slices.SortFunc(want, func(a, b store.Customer) int { return bytes.Compare([]byte(a.ID), []byte(b.ID)) })
	for range 2 { // and stable from one read to the next
		storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), want)
	}
}

func testUnknownOrganization(t *testing.T, st store.Store) {
	storetest.WantNotFound(t, st, "t-1", "o-1") // nothing at all
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"))
	storetest.WantNotFound(t, st, "t-1", "o-2")  // known tenant, unknown organization
	storetest.WantNotFound(t, st, "t-2", "o-1")  // unknown tenant
	storetest.WantNotFound(t, st, "t-1", "c-1")  // a customer id is no organization id
	storetest.WantNotFound(t, st, "t-1", "o-1 ") // no trimming
	storetest.WantNotFound(t, st, "t-1", "O-1")  // no case folding
	storetest.WantNotFound(t, st, "", "")
}

func testTenantIsolation(t *testing.T, st store.Store) {
	// Both tenants have organization o-1 and customers c-1, c-2 with their own documents and
	// secrets; t-1 also has o-only-1.
	one := []store.Customer{
		storetest.WithSecrets(storetest.Customer("c-1", "Ada of tenant 1"), store.Secrets{PasswordHash: "hash-1"}),
		storetest.Customer("c-2", "Grace of tenant 1"),
	}
	two := []store.Customer{
		storetest.WithSecrets(storetest.Customer("c-1", "Ada of tenant 2"), store.Secrets{PasswordHash: "hash-2"}),
		storetest.Customer("c-2", "Grace of tenant 2"),
		storetest.Customer("c-3", "Edsger of tenant 2"),
	}
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", one...), store.ImportSummary{Created: 2})
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-2", "o-1", two...), store.ImportSummary{Created: 3})
	storetest.MustImport(t, st, "t-1", "o-only-1", storetest.Customer("c-9", "Barbara of tenant 1"))

	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), withoutSecrets(one))
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-2", "o-1"), withoutSecrets(two))
	storetest.WantNotFound(t, st, "t-2", "o-only-1")
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-1", "c-1"), store.Secrets{PasswordHash: "hash-1"})
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-2", "c-1"), store.Secrets{PasswordHash: "hash-2"})
	if _, err := st.CustomerSecrets(t.Context(), "t-1", "c-3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CustomerSecrets of another tenant's customer: error = %v, want ErrNotFound", err)
	}

	// Re-importing tenant 2's data does not touch tenant 1, and tenant 1's import is unchanged.
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-2", "o-1", two...), store.ImportSummary{Unchanged: 3})
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", one...), store.ImportSummary{Unchanged: 2})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), withoutSecrets(one))
}

func testEmptyOrganization(t *testing.T, st store.Store) {
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-empty"), store.ImportSummary{})
	storetest.MustEmpty(t, st, false)
	snap, err := st.ReadOrganization(t.Context(), "t-1", "o-empty")
	if err != nil {
		t.Fatalf("ReadOrganization of an empty organization: %v", err)
	}
	defer snap.Close()
	if snap.Version() == "" {
		t.Error("an empty organization has no version")
	}
	for c, err := range snap.Customers() {
		t.Errorf("an empty organization yielded %+v, %v", c, err)
	}
	if err := snap.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// Another organization's customers do not leak in.
	storetest.MustImport(t, st, "t-1", "o-full", storetest.Customer("c-1", "Ada"))
	if got := storetest.MustCustomers(t, st, "t-1", "o-empty"); got == nil || len(got) != 0 {
		t.Errorf("customers of an empty organization = %#v, want a non-nil empty slice", got)
	}
}

func testTwoOrganizations(t *testing.T, st store.Store) {
	ada, grace := storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-a", ada, grace), store.ImportSummary{Created: 2})
	// The same customer in a second organization is the same record: unchanged, not created.
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-b", ada), store.ImportSummary{Unchanged: 1})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-a"), []store.Customer{ada, grace})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-b"), []store.Customer{ada})
	// An update through one organization shows in both.
	ada = storetest.Customer("c-1", "Ada Lovelace")
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-b", ada), store.ImportSummary{Updated: 1})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-a"), []store.Customer{ada, grace})
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-b"), []store.Customer{ada})
}

func testSequenceError(t *testing.T, st store.Store) {
	ctx := t.Context()
	errBroken := errors.New("broken input")
	failing := func(cs ...store.Customer) iter.Seq2[store.Customer, error] {
		return func(yield func(store.Customer, error) bool) {
			for _, c := range cs {
				if !yield(c, nil) {
					return
				}
			}
			yield(store.Customer{}, errBroken)
		}
	}

	// Into an empty store: not even the tenant is created.
	sum, err := st.ImportCustomers(ctx, "t-1", "o-1", failing(storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")), store.ImportOptions{})
	if !errors.Is(err, errBroken) {
		t.Fatalf("ImportCustomers error = %v, want the sequence's error", err)
	}
	storetest.WantSummary(t, sum, store.ImportSummary{})
	storetest.MustEmpty(t, st, true)
	storetest.WantNotFound(t, st, "t-1", "o-1")

	// Into an existing tenant: no new organization, no new customer, no change, no new member.
	orig := []store.Customer{storetest.WithSecrets(storetest.Customer("c-1", "Ada"), store.Secrets{PasswordHash: "hash-pw"})}
	storetest.MustImport(t, st, "t-1", "o-1", orig...)
	_, err = st.ImportCustomers(ctx, "t-1", "o-2", failing(orig...), store.ImportOptions{})
	if !errors.Is(err, errBroken) {
		t.Fatalf("ImportCustomers error = %v, want the sequence's error", err)
	}
	storetest.WantNotFound(t, st, "t-1", "o-2")
	_, err = st.ImportCustomers(ctx, "t-1", "o-1", failing(
		storetest.WithSecrets(storetest.Customer("c-1", "Ada Lovelace"), store.Secrets{PasswordHash: "hash-pw-2"}),
		storetest.Customer("c-2", "Grace")), store.ImportOptions{})

	if !errors.Is(err, errBroken) {
		t.Fatalf("ImportCustomers error = %v, want the sequence's error", err)
	}
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), withoutSecrets(orig))
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-1", "c-1"), orig[0].Secrets)
	if _, err := st.CustomerSecrets(ctx, "t-1", "c-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CustomerSecrets of a customer from a failed import: error = %v, want ErrNotFound", err)
	}
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", orig...), store.ImportSummary{Unchanged: 1})

	// An error as the very first element.
	if _, err := st.ImportCustomers(ctx, "t-3", "o-1", failing(), store.ImportOptions{}); !errors.Is(err, errBroken) {
		t.Fatalf("ImportCustomers error = %v, want the sequence's error", err)
	}
	storetest.WantNotFound(t, st, "t-3", "o-1")
}

func testCancelledImport(t *testing.T, st store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	seq := func(yield func(store.Customer, error) bool) {
		if !yield(storetest.Customer("c-1", "Ada"), nil) {
			return
		}
		cancel()
		yield(storetest.Customer("c-2", "Grace"), nil)
	}
	if _, err := st.ImportCustomers(ctx, "t-1", "o-1", seq, store.ImportOptions{}); err == nil {
		t.Fatal("ImportCustomers with a context cancelled midway succeeded")
	}
	storetest.MustEmpty(t, st, true)
	storetest.WantNotFound(t, st, "t-1", "o-1")
}

func testReadWithoutSecrets(t *testing.T, st store.Store) {
	in := []store.Customer{
		storetest.WithSecrets(storetest.Customer("c-1", "Ada"), store.Secrets{PasswordHash: "hash-pw", PINHash: "hash-pin", SecretAnswerHashes: []string{"hash-a"}}),
		storetest.WithSecrets(storetest.Customer("c-2", "Grace"), store.Secrets{PINHash: "hash-pin"}),
	}
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	for _, c := range storetest.MustCustomers(t, st, "t-1", "o-1") {
		if !reflect.DeepEqual(c.Secrets, store.Secrets{}) {
			t.Errorf("ReadOrganization returned secrets for %s: %+v", c.ID, c.Secrets)
		}
	}
}

func testCustomerSecrets(t *testing.T, st store.Store) {
	ctx := t.Context()
	full := store.Secrets{PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", PINHash: "$2b$04$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7q", SecretAnswerHashes: []string{"", "hash-a2", ""}}
	storetest.MustImport(t, st, "t-1", "o-1",
		storetest.WithSecrets(storetest.Customer("c-full", "Ada"), full),
		storetest.Customer("c-none", "Grace"),
	)
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-1", "c-full"), full)
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-1", "c-none"), store.Secrets{})
	for _, tc := range []struct{ tenant, customer string }{
		{"t-1", "c-unknown"},
		{"t-2", "c-full"},
		{"t-1", "o-1"},
		{"", ""},
	} {
		if s, err := st.CustomerSecrets(ctx, tc.tenant, tc.customer); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CustomerSecrets(%q, %q) = %+v, %v; want ErrNotFound", tc.tenant, tc.customer, s, err)
		}
	}
}

func testReadDuringImport(t *testing.T, st store.Store) {
	// The import path may look up stored hashes from inside the sequence, while the import's
	// transaction is open; that must neither deadlock nor fail.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	old := store.Secrets{PasswordHash: "hash-old"}
	storetest.MustImport(t, st, "t-1", "o-1", storetest.WithSecrets(storetest.Customer("c-1", "Ada"), old), storetest.Customer("c-2", "Grace"))
	seq := func(yield func(store.Customer, error) bool) {
		for _, id := range []string{"c-1", "c-2", "c-3"} {
			if _, _, err := storetest.Collect(ctx, st, "t-1", "o-1"); err != nil {
				yield(store.Customer{}, fmt.Errorf("read customers during the import: %w", err))
				return
			}
			sec, err := st.CustomerSecrets(ctx, "t-1", id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				yield(store.Customer{}, fmt.Errorf("read secrets during the import: %w", err))
				return
			}
			if !yield(storetest.WithSecrets(storetest.Customer(id, "name of "+id), sec), nil) {
				return
			}
		}
	}
	sum, err := st.ImportCustomers(ctx, "t-1", "o-1", seq, store.ImportOptions{})
	if err != nil {
		t.Fatalf("ImportCustomers: %v", err)
	}
	storetest.WantSummary(t, sum, store.ImportSummary{Created: 1, Updated: 2})
	storetest.WantSecrets(t, storetest.MustSecrets(t, st, "t-1", "c-1"), old)
}

func testConcurrency(t *testing.T, st store.Store) {
	ctx := t.Context()
	const workers, rounds = 4, 5
	storetest.MustImport(t, st, "t-shared", "o-1", storetest.Customer("c-1", "Ada"))
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*2)
	for w := range workers {
		wg.Go(func() {
			tenant := fmt.Sprintf("t-%d", w)
			for r := range rounds {
				cs := []store.Customer{storetest.Customer("c-1", fmt.Sprintf("Ada %d", r)), storetest.Customer(fmt.Sprintf("c-%d-%d", w, r), "Grace")}
				if _, err := st.ImportCustomers(ctx, tenant, "o-1", storetest.Seq(cs...), store.ImportOptions{}); err != nil {
					errs <- fmt.Errorf("import into %s: %w", tenant, err)
				}
				// All workers also write the shared tenant.
				if _, err := st.ImportCustomers(ctx, "t-shared", "o-1", storetest.Seq(storetest.Customer(fmt.Sprintf("c-%d-%d", w, r), "Edsger")), store.ImportOptions{}); err != nil {
					errs <- fmt.Errorf("import into t-shared: %w", err)
				}
				if _, _, err := storetest.Collect(ctx, st, "t-shared", "o-1"); err != nil {
					errs <- fmt.Errorf("read t-shared: %w", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := len(storetest.MustCustomers(t, st, "t-shared", "o-1")), 1+workers*rounds; got != want {
		t.Errorf("t-shared has %d customers, want %d", got, want)
	}
	for w := range workers {
		if got, want := len(storetest.MustCustomers(t, st, fmt.Sprintf("t-%d", w), "o-1")), 1+rounds; got != want {
			t.Errorf("t-%d has %d customers, want %d", w, got, want)
		}
	}
}

func testMigrateTwice(t *testing.T, st store.Store) {
	in := []store.Customer{storetest.Customer("c-1", "Ada")}
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	for range 2 {
		if _, err := st.MigrateUp(t.Context()); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), in)
}

func testPing(t *testing.T, st store.Store) {
	if err := st.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testInvalidCustomers(t *testing.T, st store.Store) {
	for _, c := range []store.Customer{
		{ID: "c-1"}, // no document
		{ID: "c-1", Document: []byte("{not json")},              // not JSON
		{ID: "", Document: storetest.Customer("", "").Document}, // no id
	} {
		_, err := st.ImportCustomers(t.Context(), "t-1", "o-1", storetest.Seq(storetest.Customer("c-0", "Ada"), c), store.ImportOptions{})
		if err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("ImportCustomers of %+v: error = %v, want a plain error", c, err)
		}
		if !strings.Contains(fmt.Sprint(err), `"t-1"`) {
			t.Errorf("error %q does not name the tenant", err)
		}
	}
	storetest.MustEmpty(t, st, true)
}

// withoutSecrets returns copies of cs with their secrets cleared, as the read path returns them.
func withoutSecrets(cs []store.Customer) []store.Customer {
	out := make([]store.Customer, len(cs))
	for i, c := range cs {
		c.Secrets = store.Secrets{}
		out[i] = c
	}
	return out
}

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

// saturated is how long holdReads waits for one more read to start before it takes the reads
// for holding every connection. It only decides when to stop opening reads: on a machine so
// slow that a free connection takes longer, the test holds fewer and proves less, but does not
// fail.
const saturated = 2 * time.Second

// holdReads opens reads of the tenant's organization and leaves them open, as clients that stop
// reading a list would, until one more read cannot start within a few seconds: then the reads
// hold every connection that reads may use. It returns how many it holds; they end with the
// test.
func holdReads(t *testing.T, st store.Store, tenantID, organizationID string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	type started struct {
		snap store.Snapshot
		err  error
	}
	var (
		snaps   []store.Snapshot
		waiting chan started // the read that found no connection
	)
	t.Cleanup(func() {
		cancel()
		if waiting == nil {
			return // the test failed before
		}
		if r := <-waiting; r.snap != nil {
			r.snap.Close()
		}
		for _, snap := range snaps {
			snap.Close()
		}
	})
	for len(snaps) < 1000 {
		next := make(chan started, 1)
		go func() {
			snap, err := st.ReadOrganization(ctx, tenantID, organizationID)
			next <- started{snap, err}
		}()
		select {
		case r := <-next:
			if r.err != nil {
				t.Fatalf("ReadOrganization with %d reads open: %v", len(snaps), r.err)
			}
			snaps = append(snaps, r.snap)
		case <-time.After(saturated):
			waiting = next
			return len(snaps)
		}
	}
	t.Fatal("1000 reads open, and another one started: the store has no limit to hold")
	return 0
}

func testLookupsBesideReads(t *testing.T, st store.Store) {
	ada := storetest.Customer("c-1", "Ada")
	storetest.MustImport(t, st, "t-1", "o-1", ada)
	token := store.APIToken{ID: "tok-1", TenantID: "t-1", SecretHash: bytes.Repeat([]byte{1}, 32), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := st.CreateAPIToken(t.Context(), token); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	version, erasures := storetest.MustVersion(t, st, "t-1", "o-1"), storetest.MustErasureCount(t, st)

	held := holdReads(t, st, "t-1", "o-1")
	t.Logf("%d reads hold their connections", held)
	// Held reads would make a lookup on their connections wait for ever; the deadline only
	// bounds the failure.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if v, err := st.OrganizationVersion(ctx, "t-1", "o-1"); err != nil || v != version {
		t.Errorf("OrganizationVersion beside the reads = %q, %v; want %q", v, err, version)
	}
	if got, err := st.APIToken(ctx, "tok-1"); err != nil || got.TenantID != "t-1" {
		t.Errorf("APIToken beside the reads = %+v, %v", got, err)
	}
	if n, err := st.ErasureCount(ctx); err != nil || n != erasures {
		t.Errorf("ErasureCount beside the reads = %d, %v; want %d", n, err, erasures)
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping beside the reads: %v", err)
	}
}

func testErasureCount(t *testing.T, st store.Store) {
	ctx := t.Context()
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace"), storetest.Customer("c-3", "Edsger"), storetest.Customer("c-4", "Barbara"))
	storetest.MustImport(t, st, "t-1", "o-2", storetest.Customer("c-4", "Barbara"))
	storetest.MustImport(t, st, "t-1", "o-3", storetest.Customer("c-5", "Alan"), storetest.Customer("c-6", "Frances"))
	storetest.MustImport(t, st, "t-2", "o-1", storetest.Customer("c-1", "Ada of t-2"))
	importing := func(org string, opts store.ImportOptions, cs ...store.Customer) func() error {
		return func() error { _, err := st.ImportCustomers(ctx, "t-1", org, storetest.Seq(cs...), opts); return err }
	}
	deleting := func(ids ...string) func() error {
		return func() error { _, err := st.DeleteCustomers(ctx, "t-1", ids); return err }
	}
	deletingOrganization := func(org string) func() error {
		return func() error { _, err := st.DeleteOrganization(ctx, "t-1", org); return err }
	}
	replace, dryRun := store.ImportOptions{Replace: true}, store.ImportOptions{Replace: true, DryRun: true}
	for _, step := range []struct {
		name  string
		do    func() error
		grows bool
	}{
		{"an import", importing("o-1", store.ImportOptions{}, storetest.Customer("c-7", "Kathleen")), false},
		{"deleting ids the tenant does not have", deleting("nobody"), false},
		{"deleting customers", deleting("c-1"), true},
		{"a replacing import whose leavers another organization holds", importing("o-2", replace), false},
		{"a replacing dry run that would delete", importing("o-1", dryRun), false},
		{"a replacing import that deletes", importing("o-1", replace, storetest.Customer("c-2", "Grace")), true},
		{"deleting an organization without customers", deletingOrganization("o-2"), false},
		{"deleting an organization with customers in no other", deletingOrganization("o-3"), true},
	} {
		before := storetest.MustErasureCount(t, st)
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		after := storetest.MustErasureCount(t, st)
		if step.grows && after <= before || !step.grows && after != before {
			t.Errorf("%s: the erasure count went from %d to %d", step.name, before, after)
		}
	}
}

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
	_, errMigrate := st.MigrateUp(ctx)
	for name, err := range map[string]error{
		"Ping":                st.Ping(ctx),
		"ReadOrganization":    errRead,
		"OrganizationVersion": errVersion,
		"CustomerSecrets":     errSecrets,
		"ImportCustomers":     errImport,
		"Empty":               errEmpty,
		"ErasureCount":        errErasures,
		"MigrateUp":           errMigrate,
	} {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s on a closed store: error = %v, want it to wrap ErrUnavailable", name, err)
		}
	}
}
