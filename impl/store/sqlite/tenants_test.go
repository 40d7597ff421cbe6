package sqlite_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// TestDeletedTenantIsInNoFile checks the erasure of a whole tenant on disk, as
// TestDeletedDataIsInNoFile does for customers and organizations.
func TestDeletedTenantIsInNoFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "customers.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
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

// TestMigrateUpReportsTheVersionsItApplied: a new database gets every migration, in order, and
// a second run none.
func TestMigrateUpReportsTheVersionsItApplied(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	st := MustOpen(t)
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
}
