package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// MigrateTo applies the migrations of st up to version.
func MigrateTo(st *Store, version int64) error {
	db := stdlib.OpenDBFromPool(st.pool)
	defer db.Close()
	p, err := sqlstore.Migrator(goose.DialectPostgres, db, migrations)
	if err != nil {
		return err
	}
	_, err = p.UpTo(context.Background(), version)
	return err
}
