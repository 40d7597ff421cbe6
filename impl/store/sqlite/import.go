package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// Statements of an import, prepared once per transaction.
const (
	upsertTenantSQL = `INSERT INTO tenants (id) VALUES (?) ON CONFLICT (id) DO NOTHING`
	upsertOrgSQL    = `INSERT INTO organizations (tenant_id, id) VALUES (?, ?) ON CONFLICT (tenant_id, id) DO NOTHING`
	getCustomerSQL  = `
SELECT c.document, s.password_hash, s.pin_hash, s.secret_answer_hashes
FROM customers AS c
LEFT JOIN customer_secrets AS s ON s.tenant_id = c.tenant_id AND s.customer_id = c.id
WHERE c.tenant_id = ? AND c.id = ?`
	insertCustomerSQL = `INSERT INTO customers (tenant_id, id, document) VALUES (?, ?, ?)`
	updateCustomerSQL = `
UPDATE customers SET document = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE tenant_id = ? AND id = ?`
	upsertSecretsSQL = `
INSERT INTO customer_secrets (tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (tenant_id, customer_id) DO UPDATE SET
    password_hash = excluded.password_hash,
    pin_hash = excluded.pin_hash,
    secret_answer_hashes = excluded.secret_answer_hashes`
	deleteSecretsSQL = `DELETE FROM customer_secrets WHERE tenant_id = ? AND customer_id = ?`
	addMemberSQL     = `
INSERT INTO organization_customers (tenant_id, organization_id, customer_id) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING`
)

// ImportCustomers implements store.Store.ImportCustomers (see sqlstore.Import), writing the
// customers one by one with statements prepared once per transaction. A replacing import then
// truncates the write-ahead log, as DeleteCustomers does, even when it deleted nothing: running
// it again finishes the erasure that readers held up.
func (s *Store) ImportCustomers(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[store.Customer, error], opts store.ImportOptions) (store.ImportSummary, error) {
	sum, err := sqlstore.Import(ctx, tenantID, organizationID, customers, opts, func(ctx context.Context) (sqlstore.ImportTx, error) {
		return s.beginImport(ctx, tenantID, organizationID)
	})
	if err == nil && opts.Replace && !opts.DryRun {
		if err := s.checkpoint(ctx); err != nil {
			return sum, fmt.Errorf("import customers into organization %q of tenant %q: %w", organizationID, tenantID, err)
		}
	}
	return sum, err
}

// importTx is an import's transaction (see sqlstore.ImportTx).
type importTx struct {
	s                        *Store
	ctx                      context.Context
	tx                       *sql.Tx
	st                       *importStmts
	tenantID, organizationID string
	sum                      store.ImportSummary
}

// beginImport opens the transaction of an import, creates the tenant and the organization, and
// prepares the statements that write each customer.
func (s *Store) beginImport(ctx context.Context, tenantID, organizationID string) (_ sqlstore.ImportTx, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.fail(err, "begin")
	}
	defer func() {
		if err != nil {
			tx.Rollback() //nolint:errcheck // the first error is the one that matters
		}
	}()
	if _, err := tx.ExecContext(ctx, upsertTenantSQL, tenantID); err != nil {
		return nil, s.fail(err, "create tenant")
	}
	if _, err := tx.ExecContext(ctx, upsertOrgSQL, tenantID, organizationID); err != nil {
		return nil, s.fail(err, "create organization")
	}
	st, err := s.prepareImport(ctx, tx)
	if err != nil {
		return nil, err
	}
	return &importTx{s: s, ctx: ctx, tx: tx, st: st, tenantID: tenantID, organizationID: organizationID}, nil
}

// Counts returns what Put counted: SQLite writes each customer at once.
func (t *importTx) Counts() (store.ImportSummary, error) { return t.sum, nil }

// End closes the statements, then commits or rolls back.
func (t *importTx) End(commit bool) error {
	t.st.close()
	if !commit {
		if err := t.tx.Rollback(); err != nil {
			return t.s.fail(err, "roll back")
		}
		return nil
	}
	if err := t.tx.Commit(); err != nil {
		return t.s.fail(err, "commit")
	}
	return nil
}

// Statements of a replacing import. The imported ids travel as one JSON array, which json_each
// turns into a set that SQLite indexes for the NOT IN.
const (
	leaveSQL = `
DELETE FROM organization_customers
WHERE tenant_id = ? AND organization_id = ? AND customer_id NOT IN (SELECT value FROM json_each(?))
RETURNING customer_id`
	deleteOrphansSQL = `
DELETE FROM customers
WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))
  AND NOT EXISTS (SELECT 1 FROM organization_customers AS oc WHERE oc.tenant_id = customers.tenant_id AND oc.customer_id = customers.id)
RETURNING id`
)

// Replace removes from the organization the members not in imported and deletes those of them
// that no other organization holds.
func (t *importTx) Replace(imported []string) (left, deleted int, err error) {
	keep, err := json.Marshal(imported)
	if err != nil {
		return 0, 0, fmt.Errorf("encode imported ids: %w", err)
	}
	leavers, err := queryIDs(t.ctx, t.tx, leaveSQL, t.tenantID, t.organizationID, string(keep))
	if err != nil {
		return 0, 0, t.s.fail(err, "remove members not imported")
	}
	if len(leavers) == 0 {
		return 0, 0, nil
	}
	gone, err := t.s.deleteOrphans(t.ctx, t.tx, t.tenantID, leavers)
	if err != nil {
		return 0, 0, err
	}
	return len(leavers), len(gone), nil
}

// deleteOrphans deletes those of the tenant's customers ids that belong to no organization, and
// returns their ids.
func (s *Store) deleteOrphans(ctx context.Context, tx *sql.Tx, tenantID string, ids []string) ([]string, error) {
	arg, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("encode customer ids: %w", err)
	}
	gone, err := queryIDs(ctx, tx, deleteOrphansSQL, tenantID, string(arg))
	if err != nil {
		return nil, s.fail(err, "delete customers left in no organization")
	}
	return gone, nil
}

// queryIDs runs a statement that returns one text column and collects it.
func queryIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// importStmts are the per-customer statements of an import transaction.
type importStmts struct {
	get, insert, update, upsertSecrets, deleteSecrets, addMember *sql.Stmt
}

func (s *Store) prepareImport(ctx context.Context, tx *sql.Tx) (*importStmts, error) {
	st := &importStmts{}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&st.get, getCustomerSQL},
		{&st.insert, insertCustomerSQL},
		{&st.update, updateCustomerSQL},
		{&st.upsertSecrets, upsertSecretsSQL},
		{&st.deleteSecrets, deleteSecretsSQL},
		{&st.addMember, addMemberSQL},
	} {
		stmt, err := tx.PrepareContext(ctx, p.query)
		if err != nil {
			st.close()
			return nil, s.fail(err, "prepare import statements")
		}
		*p.dst = stmt
	}
	return st, nil
}

func (st *importStmts) close() {
	for _, stmt := range []*sql.Stmt{st.get, st.insert, st.update, st.upsertSecrets, st.deleteSecrets, st.addMember} {
		if stmt != nil {
			stmt.Close()
		}
	}
}

// Put writes one customer and its membership, and counts what it did.
func (t *importTx) Put(c store.Customer) error {
	if err := t.put(c); err != nil {
		return fmt.Errorf("customer %q: %w", c.ID, err)
	}
	return nil
}

func (t *importTx) put(c store.Customer) error {
	var (
		doc                    []byte
		password, pin, answers sql.NullString
	)
	err := t.st.get.QueryRowContext(t.ctx, t.tenantID, c.ID).Scan(&doc, &password, &pin, &answers)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := t.st.insert.ExecContext(t.ctx, t.tenantID, c.ID, string(c.Document)); err != nil {
			return t.s.fail(err, "insert")
		}
		if err := t.putSecrets(c); err != nil {
			return err
		}
		t.sum.Created++
	case err != nil:
		return t.s.fail(err, "read stored customer")
	default:
		stored, err := scanSecrets(password, pin, answers)
		if err != nil {
			return err
		}
		if bytes.Equal(doc, c.Document) && stored.Equal(c.Secrets) {
			t.sum.Unchanged++
			break // out of the switch: it still joins the organization
		}
		if _, err := t.st.update.ExecContext(t.ctx, string(c.Document), t.tenantID, c.ID); err != nil {
			return t.s.fail(err, "update")
		}
		if err := t.putSecrets(c); err != nil {
			return err
		}
		t.sum.Updated++
	}
	if _, err := t.st.addMember.ExecContext(t.ctx, t.tenantID, t.organizationID, c.ID); err != nil {
		return t.s.fail(err, "add to organization")
	}
	return nil
}

// putSecrets stores the customer's secrets, or removes the row when it has none.
func (t *importTx) putSecrets(c store.Customer) error {
	if c.Secrets.IsZero() {
		if _, err := t.st.deleteSecrets.ExecContext(t.ctx, t.tenantID, c.ID); err != nil {
			return t.s.fail(err, "delete secrets")
		}
		return nil
	}
	answers, err := encodeAnswers(c.Secrets.SecretAnswerHashes)
	if err != nil {
		return err
	}
	if _, err := t.st.upsertSecrets.ExecContext(t.ctx, t.tenantID, c.ID, c.Secrets.PasswordHash, c.Secrets.PINHash, answers); err != nil {
		return t.s.fail(err, "store secrets")
	}
	return nil
}
