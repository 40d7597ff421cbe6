package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

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

// deletions are the three ways of erasing customer c-erase, the only member of organization o-1
// of tenant t-1.
var deletions = []struct {
	name   string
	delete func(ctx context.Context, st *sqlite.Store) error
}{
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
				dir := t.TempDir()
				st := mustOpenAt(t, filepath.Join(dir, "customers.db"))
				MustMigrate(t, st)
				mark := "Zebulon-Quaxley-7f3a9c"
				storetest.MustImport(t, st, "t-1", "o-1", personal(t, "c-erase", mark))
				storetest.MustImport(t, st, "t-1", "o-2", storetest.Customer("c-other", "Ada"))
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

// mustHoldErasable opens a store on a new database and imports a customer, c-erase of o-1, whose
// values hold mark into the database file (not only into the write-ahead log), and another, of
// o-2, that stays.
func mustHoldErasable(t *testing.T, mark string) (st *sqlite.Store, dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "customers.db")
	st = mustOpenAt(t, path)
	MustMigrate(t, st)
	storetest.MustImport(t, st, "t-1", "o-1", personal(t, "c-erase", mark))
	storetest.MustImport(t, st, "t-1", "o-2", storetest.Customer("c-other", "Ada"))
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
	t.Parallel()
	for _, tc := range deletions {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mark := "Wilhelmina-Oberkofler-51c2"
			st, dir, path := mustHoldErasable(t, mark)
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
}

// TestErasureHeldUpTooLong checks a deletion that readers hold up longer than it waits: it is
// done, and reported as not erased, naming the files that may still hold the values; running
// the command again once the readers have gone (which finds nothing left to delete) finishes
// the erasure.
func TestErasureHeldUpTooLong(t *testing.T) {
	t.Parallel()
	for _, tc := range deletions {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mark := "Zebulon-Quaxley-7f3a9c"
			st, dir, path := mustHoldErasable(t, mark)
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
}

// TestDeletedTenantIsInNoFile checks the erasure of a whole tenant on disk, as
// TestDeletedDataIsInNoFile does for customers and organizations.
func TestDeletedTenantIsInNoFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := mustOpenAt(t, filepath.Join(dir, "customers.db"))
	MustMigrate(t, st)
	mark := "Philippa-Vandersteen-c41d"
	storetest.MustImport(t, st, "t-erase", "o-1", personal(t, "c-erase", mark))
	storetest.MustImport(t, st, "t-keep", "o-1", storetest.Customer("c-other", "Ada"))
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
