package sqlite_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cyrexa/customer-api/impl/store/sqlite"
)

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
