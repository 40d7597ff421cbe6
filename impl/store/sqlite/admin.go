package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// Deleting a customer cascades to its secrets and memberships, whose triggers change the
// versions. A list of ids travels as a JSON array that json_each turns into a set.
const (
	deleteCustomersSQL = `
DELETE FROM customers WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))
RETURNING id`
)

// DeleteCustomers deletes the customers in one transaction, then erases them from the files
// (see checkpoint).
func (s *Store) DeleteCustomers(ctx context.Context, tenantID string, customerIDs []string) (store.CustomerDeletion, error) {
	ids := sqlstore.DistinctIDs(customerIDs)
	var deleted []string
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		deleted, err = queryIDs(ctx, tx, deleteCustomersSQL, tenantID, sqlstore.JSONArray(ids))
		return err
	})
	if err != nil {
		return store.CustomerDeletion{}, s.fail(err, "delete customers of tenant %q", tenantID)
	}
	var del store.CustomerDeletion
	del.Deleted, del.Unknown = sqlstore.Partition(ids, deleted)
	// Always, so that a deletion of nothing finishes earlier erasures.
	return del, s.checkpoint(ctx)
}

// DeleteOrganization deletes the organization and its customers no other organization holds,
// then erases; an unknown organization still finishes earlier erasures.
func (s *Store) DeleteOrganization(ctx context.Context, tenantID, organizationID string) (store.OrganizationDeletion, error) {
	var del store.OrganizationDeletion
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		members, err := queryIDs(ctx, tx, sqlstore.OrganizationMembersSQL, tenantID, organizationID)
		if err != nil {
			return s.fail(err, "read members")
		}
		n, err := affected(tx.ExecContext(ctx, sqlstore.DeleteOrganizationSQL, tenantID, organizationID))
		if err != nil {
			return s.fail(err, "delete organization")
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if len(members) == 0 {
			return nil
		}
		deleted, err := s.deleteOrphans(ctx, tx, tenantID, members)
		del.Deleted, del.Kept = sqlstore.Partition(members, deleted) // dropped on error
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		err = errors.Join(err, s.checkpoint(ctx))
	}
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

// EraseWait bounds a deletion's wait for older readers: longer than the HTTP write timeout
// (60 s) that bounds the service's reads; a longer reader is another program's.
const EraseWait = 90 * time.Second

// A checkpoint attempt holds the write lock while it waits: short attempts with pauses let
// other writers through.
const (
	checkpointAttempt = 250 * time.Millisecond
	checkpointPause   = 100 * time.Millisecond
)

// checkpoint copies the write-ahead log into the database file (zeroed by secure_delete) and
// truncates it, so deleted rows are in neither file. Older readers hold it up: it tries until
// they finish, at most eraseWait, then returns an error wrapping store.ErrNotErased.
func (s *Store) checkpoint(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.notErased(s.fail(err, "checkpoint"), -1, -1)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", checkpointAttempt.Milliseconds())); err != nil {
		return s.notErased(s.fail(err, "checkpoint"), -1, -1)
	}
	defer restore(ctx, conn, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds()))
	deadline := time.Now().Add(s.eraseWait)
	for {
		// busy is 1 when readers held it up; copied of logFrames frames reached the file.
		var busy, logFrames, copied int
		err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &copied)
		switch {
		case err != nil:
			return s.notErased(s.fail(err, "checkpoint"), -1, -1)
		case busy == 0:
			return nil
		}
		if s.checkpointBusy != nil {
			s.checkpointBusy()
		}
		if time.Now().After(deadline) {
			return s.notErased(fmt.Errorf("readers of an older snapshot held the write-ahead log for %s", s.eraseWait), logFrames, copied)
		}
		select {
		case <-ctx.Done():
			return s.notErased(fmt.Errorf("waiting for readers of an older snapshot: %w", ctx.Err()), logFrames, copied)
		case <-time.After(checkpointPause):
		}
	}
}

// notErased wraps store.ErrNotErased with why and the files that may still hold the values.
func (s *Store) notErased(why error, logFrames, copied int) error {
	where := fmt.Sprintf("%s (pages the log has not yet overwritten) and in %s-wal (frames from before the deletion)", s.path, s.path)
	if copied >= 0 && copied == logFrames {
		where = fmt.Sprintf("%s-wal (frames from before the deletion; the database file is overwritten)", s.path)
	}
	return fmt.Errorf("%w: %w; the deleted values may still be in %s", store.ErrNotErased, why, where)
}

const tenantsSQL = `
WITH ids AS (SELECT id FROM tenants UNION SELECT tenant_id FROM api_tokens)
SELECT ids.id,
       (SELECT count(*) FROM organizations AS o WHERE o.tenant_id = ids.id),
       (SELECT count(*) FROM customers AS c WHERE c.tenant_id = ids.id),
       (SELECT count(*) FROM api_tokens AS t WHERE t.tenant_id = ids.id)
FROM ids ORDER BY ids.id`

// Tenants returns every tenant holding data or API tokens, with its counts.
func (s *Store) Tenants(ctx context.Context) ([]store.TenantSummary, error) {
	tenants, err := queryAll(ctx, s.db, tenantsSQL, func(rows *sql.Rows) (t store.TenantSummary, err error) {
		err = rows.Scan(&t.ID, &t.Organizations, &t.Customers, &t.APITokens)
		return t, err
	})
	if err != nil {
		return nil, s.fail(err, "list tenants")
	}
	return tenants, nil
}

// Organizations returns the tenant's organizations with their numbers of customers.
func (s *Store) Organizations(ctx context.Context, tenantID string) ([]store.OrganizationSummary, error) {
	orgs, err := queryAll(ctx, s.db, sqlstore.OrganizationsSQL, func(rows *sql.Rows) (o store.OrganizationSummary, err error) {
		err = rows.Scan(&o.ID, &o.Customers)
		return o, err
	}, tenantID)
	if err != nil {
		return nil, s.fail(err, "list organizations of tenant %q", tenantID)
	}
	return sqlstore.Organizations(tenantID, orgs)
}

// DeleteTenant deletes everything of the tenant in one transaction, then erases (see checkpoint).
func (s *Store) DeleteTenant(ctx context.Context, tenantID string) (store.TenantDeletion, error) {
	var del store.TenantDeletion
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		del, err = sqlstore.DeleteTenant(tenantID, func(query string, args ...any) (int64, error) {
			n, err := affected(tx.ExecContext(ctx, query, args...))
			if err != nil {
				return 0, s.fail(err, "sqlite %s", s.path)
			}
			return n, nil
		})
		return err
	})
	if err != nil {
		return store.TenantDeletion{}, fmt.Errorf("delete tenant %q: %w", tenantID, err)
	}
	return del, s.checkpoint(ctx)
}

// DeleteAPIToken deletes the API token with the given id.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	n, err := affected(s.db.ExecContext(ctx, sqlstore.DeleteTokenSQL, id))
	return sqlstore.TokenChanged("delete", id, n, err, s.fail)
}

// queryAll runs query on q and scans every row with scan; the list is never nil.
func queryAll[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, scan func(*sql.Rows) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// affected returns the rows a statement affected.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// timeLayout stores times as sortable UTC text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// CreateAPIToken stores a new API token.
func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) error {
	_, err := s.db.ExecContext(ctx, sqlstore.CreateTokenSQL, t.ID, t.TenantID, t.Name, t.SecretHash, formatTime(t.CreatedAt),
		sql.NullString{String: formatTime(t.ExpiresAt), Valid: !t.ExpiresAt.IsZero()})
	if err != nil {
		return s.fail(err, "create API token of tenant %q", t.TenantID)
	}
	return nil
}

// APIToken returns the API token with the given id, or store.ErrNotFound.
func (s *Store) APIToken(ctx context.Context, id string) (store.APIToken, error) {
	t, err := scanToken(s.lookup(ctx, sqlstore.TokenSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIToken{}, sqlstore.TokenNotFound(id)
	}
	if err != nil {
		return store.APIToken{}, s.fail(err, "load API token %q", id)
	}
	return t, nil
}

// APITokens returns the tenant's API tokens, oldest first.
func (s *Store) APITokens(ctx context.Context, tenantID string) ([]store.APIToken, error) {
	tokens, err := queryAll(ctx, s.db, sqlstore.TokensSQL, func(rows *sql.Rows) (store.APIToken, error) { return scanToken(rows) }, tenantID)
	if err != nil {
		return nil, s.fail(err, "list API tokens of tenant %q", tenantID)
	}
	return tokens, nil
}

// RevokeAPIToken marks the token revoked, keeping the first revocation time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	n, err := affected(s.db.ExecContext(ctx, sqlstore.RevokeTokenSQL, formatTime(at), id))
	return sqlstore.TokenChanged("revoke", id, n, err, s.fail)
}

func scanToken(row interface{ Scan(...any) error }) (t store.APIToken, err error) {
	var created, expires, revoked sql.NullString // NULL: no time
	if err = row.Scan(&t.ID, &t.TenantID, &t.Name, &t.SecretHash, &created, &expires, &revoked); err == nil {
		err = errors.Join(parseTime("created_at", created, &t.CreatedAt),
			parseTime("expires_at", expires, &t.ExpiresAt), parseTime("revoked_at", revoked, &t.RevokedAt))
	}
	return t, err
}

// parseTime parses the stored form of a column's time into at.
func parseTime(column string, text sql.NullString, at *time.Time) (err error) {
	if text.Valid {
		if *at, err = time.Parse(timeLayout, text.String); err != nil {
			return fmt.Errorf("%s: %w", column, err)
		}
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }
