package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
	if _, err := st.MigrateUp(tb.Context()); err != nil {
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
	storetest.CheckVersionTriggers(t, st, func(tb testing.TB, statements ...string) {
		tb.Helper()
		for _, query := range statements {
			if _, err := db.ExecContext(t.Context(), query); err != nil {
				tb.Fatalf("%s: %v", query, err)
			}
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
	if _, err := st.MigrateUp(context.Background()); err != nil {
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

// filesHolding returns the files of dir whose bytes contain value.
func filesHolding(t *testing.T, dir string, value []byte) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var holding []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, value) {
			holding = append(holding, e.Name())
		}
	}
	return holding
}

// personal returns a customer whose document and password hash hold mark, the document big
// enough to need overflow pages.
func personal(t *testing.T, id, mark string) store.Customer {
	t.Helper()
	doc, err := json.Marshal(map[string]any{"id": id, "name": mark, "notes": strings.Repeat(mark+" ", 2000)})
	if err != nil {
		t.Fatal(err)
	}
	return store.Customer{ID: id, Document: doc, Secrets: store.Secrets{PasswordHash: "$argon2id$" + mark}}
}

type deletion struct {
	name   string
	delete func(ctx context.Context, st *sqlite.Store) error
}

// forEachDeletion runs check in parallel for every deletion, each on its own store from
// mustHoldErasable(mark).
func forEachDeletion(t *testing.T, mark string, check func(t *testing.T, tc deletion, st *sqlite.Store, dir, path string)) {
	t.Parallel()
	for _, tc := range deletions {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, dir, path := mustHoldErasable(t, mark)
			check(t, tc, st, dir, path)
		})
	}
}

// deletions are the three ways of erasing customer c-erase, the only member of organization o-1
// of tenant t-1.
var deletions = []deletion{
	{"a deleted customer", func(ctx context.Context, st *sqlite.Store) error {
		_, err := st.DeleteCustomers(ctx, "t-1", []string{"c-erase"})
		return err
	}},
	{"a deleted organization", func(ctx context.Context, st *sqlite.Store) error {
		_, err := st.DeleteOrganization(ctx, "t-1", "o-1")
		return err
	}},
	{"a customer a replacing import left in no organization", func(ctx context.Context, st *sqlite.Store) error {
		_, err := st.ImportCustomers(ctx, "t-1", "o-1", storetest.Seq(), store.ImportOptions{Replace: true})
		return err
	}},
}

// TestDeletedDataIsInNoFile checks erasure on disk: after a deletion, the deleted customer's
// values are in none of the database's files, neither in the write-ahead log nor in the free
// pages of the database file.
func TestDeletedDataIsInNoFile(t *testing.T) {
	t.Parallel()
	for _, tc := range deletions {
		for _, checkpointed := range []bool{false, true} {
			name := tc.name + ", still in the write-ahead log"
			if checkpointed {
				name = tc.name + ", already in the database file"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				mark := "Zebulon-Quaxley-7f3a9c"
				st, dir, _ := mustHold(t, "t-1", "t-1", mark)
				if checkpointed {
					// Any deletion checkpoints: the customer's pages move into the database file.
					if _, err := st.DeleteCustomers(t.Context(), "t-1", []string{"c-other"}); err != nil {
						t.Fatal(err)
					}
				}
				if got := filesHolding(t, dir, []byte(mark)); len(got) == 0 {
					t.Fatal("the imported value is in no file: the test would prove nothing")
				} else if checkpointed && !slices.Contains(got, "customers.db") {
					t.Fatalf("the imported value is in %q, not in the database file", got)
				}

				if err := tc.delete(t.Context(), st); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if got := filesHolding(t, dir, []byte(mark)); len(got) != 0 {
					t.Errorf("after the deletion, the deleted value is still in %q", got)
				}
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				if got := filesHolding(t, dir, []byte(mark)); len(got) != 0 {
					t.Errorf("after closing, the deleted value is in %q", got)
				}
			})
		}
	}
}

// serving opens a second store on the database file of st, as the serving process has it, with
// reads open: a read of each of the organizations of t-1 (left on their first row, as for a
// client that stops reading) and a read transaction of a plain *sql.DB (as another reader of the
// file). end ends them all, once.
func serving(t *testing.T, path string, orgs ...string) (end func()) {
	t.Helper()
	server := mustOpenAt(t, path)
	var snaps []store.Snapshot
	for _, org := range orgs {
		snap, err := server.ReadOrganization(t.Context(), "t-1", org)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, snap)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(t.Context(), "SELECT count(*) FROM customers").Scan(&n); err != nil {
		t.Fatal(err) // the read transaction holds its snapshot from here until Rollback
	}
	var once sync.Once
	end = func() {
		once.Do(func() {
			for _, snap := range snaps {
				snap.Close()
			}
			tx.Rollback()
		})
	}
	t.Cleanup(end)
	return end
}

// mustHold opens a migrated store in a new directory holding customer c-erase, whose document
// holds mark, in organization o-1 of tenant erased, and c-other in o-2 of tenant kept.
func mustHold(t *testing.T, erased, kept, mark string) (st *sqlite.Store, dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "customers.db")
	st = mustOpenAt(t, path)
	MustMigrate(t, st)
	storetest.MustImport(t, st, erased, "o-1", personal(t, "c-erase", mark))
	storetest.MustImport(t, st, kept, "o-2", storetest.Customer("c-other", "Ada"))
	return st, dir, path
}

// mustHoldErasable opens a store on a new database and imports a customer, c-erase of o-1, whose
// values hold mark into the database file (not only into the write-ahead log), and another, of
// o-2, that stays.
func mustHoldErasable(t *testing.T, mark string) (st *sqlite.Store, dir, path string) {
	t.Helper()
	st, dir, path = mustHold(t, "t-1", "t-1", mark)
	if _, err := st.DeleteCustomers(t.Context(), "t-1", []string{"nobody"}); err != nil {
		t.Fatal(err) // a deletion of nothing checkpoints
	}
	if got := filesHolding(t, dir, []byte(mark)); !slices.Equal(got, []string{"customers.db"}) {
		t.Fatalf("the imported value is in %q, want it in customers.db only", got)
	}
	return st, dir, path
}

// TestErasureWaitsForReaders checks erasure while the service reads the same file: readers of
// older snapshots hold the checkpoint up, and the deletion waits for them rather than give up,
// while new reads come and go; once they end, the deleted values are in no file.
func TestErasureWaitsForReaders(t *testing.T) {
	const mark = "Wilhelmina-Oberkofler-51c2"
	forEachDeletion(t, mark, func(t *testing.T, tc deletion, st *sqlite.Store, dir, path string) {
		end := serving(t, path, "o-1", "o-2")
		busy := make(chan struct{}, 1)
		sqlite.OnCheckpointBusy(st, func() {
			select {
			case busy <- struct{}{}:
			default:
			}
		})
		done := make(chan error, 1)
		go func() { done <- tc.delete(t.Context(), st) }()

		// New reads, of the latest snapshot, come and go while the deletion waits.
		reader := mustOpenAt(t, path)
		for range 3 { // the deletion keeps trying
			select {
			case <-busy:
			case err := <-done:
				t.Fatalf("the deletion returned %v while older snapshots were open", err)
			}
			storetest.MustCustomers(t, reader, "t-1", "o-2")
		}
		if got := filesHolding(t, dir, []byte(mark)); !slices.Contains(got, "customers.db") {
			t.Errorf("while readers hold the log, the deleted value is in %q; want it still in customers.db", got)
		}
		end()
		if err := <-done; err != nil {
			t.Fatalf("%s once the readers ended: %v", tc.name, err)
		}
		if got := filesHolding(t, dir, []byte(mark)); len(got) != 0 {
			t.Errorf("after the deletion, the deleted value is still in %q", got)
		}
	})
}

// TestErasureHeldUpTooLong checks a deletion that readers hold up longer than it waits: it is
// done, and reported as not erased, naming the files that may still hold the values; running
// the command again once the readers have gone (which finds nothing left to delete) finishes
// the erasure.
func TestErasureHeldUpTooLong(t *testing.T) {
	const mark = "Zebulon-Quaxley-7f3a9c"
	forEachDeletion(t, mark, func(t *testing.T, tc deletion, st *sqlite.Store, dir, path string) {
		st.SetEraseWait(300 * time.Millisecond)
		end := serving(t, path, "o-1")

		err := tc.delete(t.Context(), st)
		if !errors.Is(err, store.ErrNotErased) {
			t.Fatalf("%s under a reader that stays: error %v, want ErrNotErased", tc.name, err)
		}
		if _, err := st.CustomerSecrets(t.Context(), "t-1", "c-erase"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the customer is not deleted: %v", err)
		}
		holding := filesHolding(t, dir, []byte(mark))
		if len(holding) == 0 {
			t.Error("the error says the values may still be on disk, but no file holds them")
		}
		for _, name := range holding {
			if !strings.Contains(err.Error(), filepath.Join(dir, name)+" ") {
				t.Errorf("%s holds the deleted value, but the error does not name it: %v", name, err)
			}
		}

		end()
		err = tc.delete(t.Context(), st) // again: there is nothing left to delete
		if errors.Is(err, store.ErrNotErased) {
			t.Fatalf("%s again once the readers ended: %v", tc.name, err)
		}
		if got := filesHolding(t, dir, []byte(mark)); len(got) != 0 {
			t.Errorf("after running the deletion again, the deleted value is still in %q", got)
		}
	})
}

// TestDeletedTenantIsInNoFile checks the erasure of a whole tenant on disk, as
// TestDeletedDataIsInNoFile does for customers and organizations.
func TestDeletedTenantIsInNoFile(t *testing.T) {
	t.Parallel()
	mark := "Philippa-Vandersteen-c41d"
	st, dir, _ := mustHold(t, "t-erase", "t-keep", mark)
	storetest.MustToken(t, st, "tok-erase", "t-erase")
	if got := filesHolding(t, dir, []byte(mark)); len(got) == 0 {
		t.Fatal("the imported value is in no file: the test would prove nothing")
	}
	if _, err := st.DeleteTenant(t.Context(), "t-erase"); err != nil {
		t.Fatalf("DeleteTenant: %v", err)
	}
	if got := filesHolding(t, dir, []byte(mark)); len(got) != 0 {
		t.Errorf("after the deletion, the deleted value is still in %q", got)
	}
}
