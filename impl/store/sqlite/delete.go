package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// Statements of the deletions. Deleting a customer cascades to its secrets and memberships, and
// the membership triggers give every organization that held it a new version. The PostgreSQL
// store runs the same statements; they differ in SQL only: a list of ids travels here as one
// JSON array that json_each turns into a set, there as a text[].
const (
	deleteCustomersSQL = `
DELETE FROM customers WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))
RETURNING id`
	organizationMembersSQL = `
SELECT customer_id FROM organization_customers WHERE tenant_id = ? AND organization_id = ?`
	deleteOrganizationSQL = `DELETE FROM organizations WHERE tenant_id = ? AND id = ?`
)

// DeleteCustomers deletes the tenant's customers with the given ids, with their secrets and
// memberships, in one transaction, then truncates the write-ahead log: with secure_delete on,
// the deleted rows are overwritten in the pages the log writes back, so the data is in no file.
func (s *Store) DeleteCustomers(ctx context.Context, tenantID string, customerIDs []string) (store.CustomerDeletion, error) {
	ids := sqlstore.DistinctIDs(customerIDs)
	arg, err := json.Marshal(ids)
	if err != nil {
		return store.CustomerDeletion{}, fmt.Errorf("encode customer ids: %w", err)
	}
	var deleted []string
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		deleted, err = queryIDs(ctx, tx, deleteCustomersSQL, tenantID, string(arg))
		return err
	})
	if err != nil {
		return store.CustomerDeletion{}, s.fail(err, "delete customers of tenant %q", tenantID)
	}
	var del store.CustomerDeletion
	del.Deleted, del.Unknown = sqlstore.Partition(ids, deleted)
	// Always, so that a deletion of nothing finishes the erasure of an earlier one whose
	// checkpoint readers held up.
	return del, s.checkpoint(ctx)
}

// DeleteOrganization deletes the tenant's organization and those of its customers that no other
// organization holds, in one transaction, then truncates the write-ahead log.
func (s *Store) DeleteOrganization(ctx context.Context, tenantID, organizationID string) (store.OrganizationDeletion, error) {
	var del store.OrganizationDeletion
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		members, err := queryIDs(ctx, tx, organizationMembersSQL, tenantID, organizationID)
		if err != nil {
			return s.fail(err, "read members")
		}
		res, err := tx.ExecContext(ctx, deleteOrganizationSQL, tenantID, organizationID)
		if err != nil {
			return s.fail(err, "delete organization")
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.fail(err, "delete organization")
		} else if n == 0 {
			return store.ErrNotFound
		}
		if len(members) == 0 {
			return nil
		}
		deleted, err := s.deleteOrphans(ctx, tx, tenantID, members)
		if err != nil {
			return err
		}
		del.Deleted, del.Kept = sqlstore.Partition(members, deleted)
		return nil
	})
	if err != nil {
		return store.OrganizationDeletion{}, fmt.Errorf("delete organization %q of tenant %q: %w", organizationID, tenantID, err)
	}
	return del, s.checkpoint(ctx)
}

// inTx runs fn in a write transaction and commits it when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, "begin")
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit; the first error is the one that matters
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, "commit")
	}
	return nil
}

// checkpoint copies the write-ahead log into the database and truncates it to zero bytes, so
// that the frames holding rows as they were before a deletion are gone from the disk's files.
// It waits (up to the busy timeout) for readers of older snapshots; when they still hold the
// log, it returns an error wrapping store.ErrNotErased.
func (s *Store) checkpoint(ctx context.Context) error {
	var busy, logFrames, checkpointed int
	err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed)
	if err != nil {
		return fmt.Errorf("%w: checkpoint: %w", store.ErrNotErased, s.fail(err, "sqlite %s", s.path))
	}
	if busy != 0 {
		return fmt.Errorf("%w: checkpoint of sqlite %s: readers hold the log", store.ErrNotErased, s.path)
	}
	return nil
}
