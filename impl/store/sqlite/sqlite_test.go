package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// MustOpen opens a store on a new database file in a temporary directory, closing it when the
// test ends. The schema is not migrated.
func MustOpen(tb testing.TB) *sqlite.Store {
	tb.Helper()
	return mustOpenAt(tb, filepath.Join(tb.TempDir(), "customers.db"))
}

// mustOpenAt opens a store on the database file at path, closing it when the test ends.
func mustOpenAt(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(path)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// MustMigrate migrates st or fails the test.
func MustMigrate(tb testing.TB, st *sqlite.Store) {
	tb.Helper()
	if err := st.Migrate(tb.Context()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
}

func TestOpenRefusesNonFilePaths(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?_pragma=foreign_keys(0)"} {
		if st, err := sqlite.Open(path); err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestOpenFailsWhereNoFileCanBeCreated(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "customers.db")
	st, err := sqlite.Open(path)
	if err == nil {
		st.Close()
		t.Fatalf("Open(%q) succeeded", path)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open error = %v, want it to wrap ErrUnavailable", err)
	}
}

func TestDataOutlivesTheStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "customers.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	MustMigrate(t, st)
	want := []store.Customer{storetest.Customer("c-1", "Ada")}
	storetest.MustImport(t, st, "t-1", "o-1", want...)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	st, err = sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	MustMigrate(t, st)
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), want)
	storetest.MustEmpty(t, st, false)
}

// BenchmarkReadOrganization reads an organization through ReadOrganization as the read path
// streams it: one document at a time, none kept.
func BenchmarkReadOrganization(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("customers=%d", n), func(b *testing.B) {
			st := MustOpen(b)
			MustMigrate(b, st)
			cs := make([]store.Customer, n)
			for i := range cs {
				id := fmt.Sprintf("c-%06d", (i*7919)%n) // not in id order
				cs[i] = storetest.WithSecrets(storetest.Customer(id, strings.Repeat("x", 200)), store.Secrets{PasswordHash: "hash"})
			}
			storetest.MustImport(b, st, "t-1", "o-1", cs...)
			storetest.MustImport(b, st, "t-1", "o-other", storetest.Customer("c-other", "other"))
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				snap, err := st.ReadOrganization(ctx, "t-1", "o-1")
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for _, err := range snap.Customers() {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				snap.Close()
				if got != n {
					b.Fatalf("got %d customers, want %d", got, n)
				}
			}
		})
	}
}

// TestVersionTriggers checks the versions against writes the store itself never makes, as an
// operator's SQL would: deleting a customer (its memberships go by ON DELETE CASCADE) changes
// the version of each organization that held it, and an organization deleted and imported again
// gets a version it never had.
func TestVersionTriggers(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "customers.db")
	st := mustOpenAt(t, path)
	MustMigrate(t, st)
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	ada, grace := storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")
	storetest.MustImport(t, st, "t-1", "o-a", ada, grace)
	storetest.MustImport(t, st, "t-1", "o-b", grace)
	storetest.MustImport(t, st, "t-1", "o-c", ada)

	t.Run("deleting a customer changes the versions of its organizations", func(t *testing.T) {
		a, b, c := storetest.MustVersion(t, st, "t-1", "o-a"), storetest.MustVersion(t, st, "t-1", "o-b"), storetest.MustVersion(t, st, "t-1", "o-c")
		exec(`DELETE FROM customers WHERE tenant_id = 't-1' AND id = 'c-2'`)
		if storetest.MustVersion(t, st, "t-1", "o-a") == a || storetest.MustVersion(t, st, "t-1", "o-b") == b {
			t.Error("an organization that held the deleted customer kept its version")
		}
		if storetest.MustVersion(t, st, "t-1", "o-c") != c {
			t.Error("an organization that did not hold the deleted customer changed its version")
		}
	})

	t.Run("an organization deleted and created again gets a new version", func(t *testing.T) {
		seen := map[string]bool{}
		for range 3 {
			v := storetest.MustVersion(t, st, "t-1", "o-c")
			if seen[v] {
				t.Errorf("version %q came back", v)
			}
			seen[v] = true
			exec(`DELETE FROM organizations WHERE tenant_id = 't-1' AND id = 'o-c'`)
			storetest.WantNotFound(t, st, "t-1", "o-c")
			storetest.MustImport(t, st, "t-1", "o-c", ada)
		}
	})
}

// TestDatabaseFilesAreTheServicesUsersOnly opens a new database under a permissive umask (not in
// parallel: the umask is the process's) and checks the mode of the database and its -wal and
// -shm files.
func TestDatabaseFilesAreTheServicesUsersOnly(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	path := filepath.Join(t.TempDir(), "customers.db")
	st := mustOpenAt(t, path)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(name), err)
		}
		if mode := info.Mode().Perm(); mode != sqlite.FileMode {
			t.Errorf("%s has mode %v, want %v", filepath.Base(name), mode, fs.FileMode(sqlite.FileMode))
		}
	}
}

// TestUpgradeKeepsData writes data at schema version 4 and migrates it in place: reads,
// versions, secrets and the erasure count hold, the store goes on working, and a customer
// deleted after the upgrade is in no file, the copies the upgrade made included.
func TestUpgradeKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := mustOpenAt(t, filepath.Join(dir, "customers.db"))
	if err := sqlite.MigrateTo(st, 4); err != nil {
		t.Fatalf("migrate to 4: %v", err)
	}
	seed := append(storetest.Upgrade, `INSERT INTO customer_secrets (tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes)
		VALUES ('t-1', 'c-1', '$argon2id$pw', '$argon2id$pin', '["$argon2id$a1",""]')`)
	if err := sqlite.Exec(st, seed...); err != nil {
		t.Fatal(err)
	}
	storetest.CheckUpgrade(t, st, func() {
		if versions, err := st.MigrateUp(t.Context()); err != nil || len(versions) != 1 || versions[0] != 5 {
			t.Fatalf("MigrateUp = %v, %v; want [5]", versions, err)
		}
	})
	// Operators' SQL may add a membership without the document's number: a trigger fills it.
	if err := sqlite.Exec(st, `INSERT INTO organization_customers (tenant_id, organization_id, customer_id) VALUES ('t-1', 'o-empty', 'c-3')`); err != nil {
		t.Fatal(err)
	}
	if got := storetest.MustCustomers(t, st, "t-1", "o-empty"); len(got) != 1 || got[0].ID != "c-3" {
		t.Errorf("o-empty after an operator's insert: %+v", got)
	}
	if files := filesHolding(t, dir, []byte("upgrade-mark-one")); len(files) != 0 {
		t.Errorf("the deleted customer is still in %v", files)
	}
}
