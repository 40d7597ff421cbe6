// Package sqlstore holds what the SQLite and PostgreSQL stores share beyond their SQL and drivers.
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

// ErasureCountSQL reads the count of customers ever deleted (migration 00004).
const ErasureCountSQL = `SELECT customers FROM erasures WHERE id = 1`

// Fail wraps err as "format: err", and with store.ErrUnavailable (once) when unreachable says the
// database could not serve rather than that the statement was wrong.
func Fail(err error, unreachable bool, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if unreachable && !errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%w: %s: %w", store.ErrUnavailable, msg, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// Migrator returns the goose provider of the migrations/ folder of embedded.
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
