package sqlite

import (
	"context"
	"fmt"
)

// OnCheckpointBusy makes st call f after every attempt of a checkpoint that readers held up.
func OnCheckpointBusy(st *Store, f func()) { st.checkpointBusy = f }

// MigrateTo applies the migrations of st up to version.
func MigrateTo(st *Store, version int64) error {
	_, err := st.migrator.UpTo(context.Background(), version)
	return err
}

// Exec runs statements on the database of st.
func Exec(st *Store, statements ...string) error {
	for _, s := range statements {
		if _, err := st.db.Exec(s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}
