package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// FileMode is the mode of the database file and its -wal and -shm files: they hold personal
// data and credential hashes, for the service's user only.
const FileMode fs.FileMode = 0o600

// createPrivate creates the database file at path with FileMode when it does not exist yet,
// whatever the umask. An existing file is left as it is.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// The umask may have taken bits away; never added.
	if err := errors.Join(f.Chmod(FileMode), f.Close()); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

// privateSidecars gives the -wal and -shm files that exist FileMode. SQLite creates them with
// the database file's mode; this covers a database file made elsewhere with a wider one.
func privateSidecars(path string) error {
	for _, suffix := range []string{"-wal", "-shm"} {
		err := os.Chmod(path+suffix, FileMode)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restrict %s%s: %w", path, suffix, err)
		}
	}
	return nil
}
