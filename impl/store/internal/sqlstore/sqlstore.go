// Package sqlstore holds what the SQLite and PostgreSQL stores share: the part of each
// store.Store method that does not depend on the database (argument checks, counting, error
// wrapping, the migration runner), so that each implementation keeps only its SQL and its
// transaction mechanics.
package sqlstore

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/cyrexa/customer-api/impl/store"
)

// ErasureCountSQL reads the one row of erasures, the count of customers ever deleted (migration
// 00004 of both stores, whose triggers keep it): a primary-key lookup, the same in both dialects.
const ErasureCountSQL = `SELECT customers FROM erasures WHERE id = 1`

// Fail wraps err with the context "format: err", and also with store.ErrUnavailable when
// unreachable says that the database could not be reached or could not serve, rather than that
// the statement was wrong. Each database classifies its own errors; an error already marked
// unavailable is not marked twice.
func Fail(err error, unreachable bool, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if unreachable && !errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%w: %s: %w", store.ErrUnavailable, msg, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// Migrator returns the goose provider that applies a store's schema: the SQL files of the
// folder migrations/ of embedded, one per version, in the dialect of the database. Both stores
// number their versions alike; their SQL differs and stays in their own folders.
func Migrator(dialect goose.Dialect, db *sql.DB, embedded embed.FS, opts ...goose.ProviderOption) (*goose.Provider, error) {
	migrations, err := fs.Sub(embedded, "migrations")
	if err != nil {
		return nil, err
	}
	opts = append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}, opts...)
	return goose.NewProvider(dialect, db, migrations, opts...)
}

// Versions returns the versions of the migrations goose applied, in order.
func Versions(results []*goose.MigrationResult) []int64 {
	versions := []int64{}
	for _, r := range results {
		versions = append(versions, r.Source.Version)
	}
	return versions
}
