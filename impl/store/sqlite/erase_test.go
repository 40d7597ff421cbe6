package sqlite_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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

// TestDeletedDataIsInNoFile checks erasure on disk: after a deletion, the deleted customer's
// values are in none of the database's files, neither in the write-ahead log nor in the free
// pages of the database file.
func TestDeletedDataIsInNoFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		delete func(t *testing.T, st *sqlite.Store)
	}{
		{"a deleted customer", func(t *testing.T, st *sqlite.Store) {
			if _, err := st.DeleteCustomers(t.Context(), "t-1", []string{"c-erase"}); err != nil {
				t.Fatalf("DeleteCustomers: %v", err)
			}
		}},
		{"a deleted organization", func(t *testing.T, st *sqlite.Store) {
			if _, err := st.DeleteOrganization(t.Context(), "t-1", "o-1"); err != nil {
				t.Fatalf("DeleteOrganization: %v", err)
			}
		}},
		{"a customer a replacing import left in no organization", func(t *testing.T, st *sqlite.Store) {
			if _, err := st.ImportCustomers(t.Context(), "t-1", "o-1", storetest.Seq(), store.ImportOptions{Replace: true}); err != nil {
				t.Fatalf("replacing import: %v", err)
			}
		}},
	} {
		for _, checkpointed := range []bool{false, true} {
			name := tc.name + ", still in the write-ahead log"
			if checkpointed {
				name = tc.name + ", already in the database file"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				st, err := sqlite.Open(filepath.Join(dir, "customers.db"))
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer st.Close()
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

				tc.delete(t, st)
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

// TestDeletionHeldUpByAReader checks the case erasure cannot finish at once: a read of an older
// snapshot keeps the write-ahead log, so the deletion is done but reported as not erased; once
// the read ends, any deletion (of nothing, too) truncates the log.
func TestDeletionHeldUpByAReader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "customers.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	MustMigrate(t, st)
	mark := "Wilhelmina-Oberkofler-51c2"
	storetest.MustImport(t, st, "t-1", "o-1", personal(t, "c-erase", mark), storetest.Customer("c-other", "Ada"))
	snap, err := st.ReadOrganization(t.Context(), "t-1", "o-1")
	if err != nil {
		t.Fatal(err)
	}
	// The read is open, on its first row, and holds its snapshot until Close.

	del, err := st.DeleteCustomers(t.Context(), "t-1", []string{"c-erase"}) // waits out the busy timeout
	if !errors.Is(err, store.ErrNotErased) || !slices.Equal(del.Deleted, []string{"c-erase"}) {
		t.Fatalf("DeleteCustomers under a reader = %+v, %v; want the deletion and ErrNotErased", del, err)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteCustomers(t.Context(), "t-1", []string{"nobody"}); err != nil {
		t.Fatalf("DeleteCustomers once the reader is gone: %v", err)
	}
	if got := filesHolding(t, dir, []byte(mark)); len(got) != 0 {
		t.Errorf("after the second deletion, the deleted value is still in %q", got)
	}
}
