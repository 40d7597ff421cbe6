package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/cyrexa/customer-api/impl/store"
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

// ImportCustomers creates the tenant and the organization when they do not exist, then upserts
// every customer the sequence yields and adds it to the organization, all in one transaction.
// A customer counts as created when the tenant did not have it, unchanged when its document
// (byte for byte) and its secrets equal the stored ones, and updated otherwise; joining the
// organization alone does not make it updated. If the sequence yields an error, nothing is
// written and that error is returned (wrapped). With opts.Replace, members the sequence did not
// yield leave the organization and those left in no organization are deleted (then the
// write-ahead log is truncated, as DeleteCustomers does); with opts.DryRun the transaction is
// rolled back.
func (s *Store) ImportCustomers(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[store.Customer, error], opts store.ImportOptions) (store.ImportSummary, error) {
	sum, err := s.importCustomers(ctx, tenantID, organizationID, customers, opts)
	if err == nil && sum.Deleted > 0 && !opts.DryRun {
		err = s.checkpoint(ctx)
		if err != nil {
			return sum, fmt.Errorf("import customers into organization %q of tenant %q: %w", organizationID, tenantID, err)
		}
	}
	if err != nil {
		return store.ImportSummary{}, fmt.Errorf("import customers into organization %q of tenant %q: %w", organizationID, tenantID, err)
	}
	return sum, nil
}

func (s *Store) importCustomers(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[store.Customer, error], opts store.ImportOptions) (store.ImportSummary, error) {
	var sum store.ImportSummary
	if tenantID == "" || organizationID == "" {
		return sum, errors.New("empty tenant or organization id")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return sum, s.fail(err, "begin")
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit; the first error is the one that matters

	if _, err := tx.ExecContext(ctx, upsertTenantSQL, tenantID); err != nil {
		return sum, s.fail(err, "create tenant")
	}
	if _, err := tx.ExecContext(ctx, upsertOrgSQL, tenantID, organizationID); err != nil {
		return sum, s.fail(err, "create organization")
	}
	st, err := s.prepareImport(ctx, tx)
	if err != nil {
		return sum, err
	}
	defer st.close()

	var imported []string // ids, for Replace
	for c, err := range customers {
		if err != nil {
			return store.ImportSummary{}, err
		}
		if c.ID == "" {
			return sum, errors.New("customer with an empty id")
		}
		res, err := s.importCustomer(ctx, st, tenantID, organizationID, c)
		if err != nil {
			return sum, fmt.Errorf("customer %q: %w", c.ID, err)
		}
		if opts.Replace {
			imported = append(imported, c.ID)
		}
		switch res {
		case created:
			sum.Created++
		case updated:
			sum.Updated++
		default:
			sum.Unchanged++
		}
	}
	if opts.Replace {
		left, deleted, err := s.replaceMembers(ctx, tx, tenantID, organizationID, imported)
		if err != nil {
			return sum, err
		}
		sum.Left, sum.Deleted = left, deleted
	}
	if opts.DryRun {
		if err := tx.Rollback(); err != nil {
			return sum, s.fail(err, "roll the dry run back")
		}
		return sum, nil
	}
	if err := tx.Commit(); err != nil {
		return sum, s.fail(err, "commit")
	}
	return sum, nil
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

// replaceMembers removes from the organization the members not in imported and deletes those of
// them that no other organization holds; it returns how many left and how many were deleted.
func (s *Store) replaceMembers(ctx context.Context, tx *sql.Tx, tenantID, organizationID string, imported []string) (left, deleted int, err error) {
	if imported == nil {
		imported = []string{}
	}
	keep, err := json.Marshal(imported)
	if err != nil {
		return 0, 0, fmt.Errorf("encode imported ids: %w", err)
	}
	leavers, err := queryIDs(ctx, tx, leaveSQL, tenantID, organizationID, string(keep))
	if err != nil {
		return 0, 0, s.fail(err, "remove members not imported")
	}
	if len(leavers) == 0 {
		return 0, 0, nil
	}
	gone, err := s.deleteOrphans(ctx, tx, tenantID, leavers)
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

// outcome is what importing one customer did.
type outcome int

const (
	unchanged outcome = iota
	created
	updated
)

// importCustomer writes one customer and its membership and reports what it did.
func (s *Store) importCustomer(ctx context.Context, st *importStmts, tenantID, organizationID string, c store.Customer) (outcome, error) {
	var (
		doc                    []byte
		password, pin, answers sql.NullString
	)
	res := unchanged
	err := st.get.QueryRowContext(ctx, tenantID, c.ID).Scan(&doc, &password, &pin, &answers)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := st.insert.ExecContext(ctx, tenantID, c.ID, string(c.Document)); err != nil {
			return 0, s.fail(err, "insert")
		}
		if err := s.putSecrets(ctx, st, tenantID, c); err != nil {
			return 0, err
		}
		res = created
	case err != nil:
		return 0, s.fail(err, "read stored customer")
	default:
		stored, err := scanSecrets(password, pin, answers)
		if err != nil {
			return 0, err
		}
		if !bytes.Equal(doc, c.Document) || !secretsEqual(stored, c.Secrets) {
			if _, err := st.update.ExecContext(ctx, string(c.Document), tenantID, c.ID); err != nil {
				return 0, s.fail(err, "update")
			}
			if err := s.putSecrets(ctx, st, tenantID, c); err != nil {
				return 0, err
			}
			res = updated
		}
	}
	if _, err := st.addMember.ExecContext(ctx, tenantID, organizationID, c.ID); err != nil {
		return 0, s.fail(err, "add to organization")
	}
	return res, nil
}

// putSecrets stores the customer's secrets, or removes the row when it has none.
func (s *Store) putSecrets(ctx context.Context, st *importStmts, tenantID string, c store.Customer) error {
	if c.Secrets.IsZero() {
		if _, err := st.deleteSecrets.ExecContext(ctx, tenantID, c.ID); err != nil {
			return s.fail(err, "delete secrets")
		}
		return nil
	}
	answers, err := encodeAnswers(c.Secrets.SecretAnswerHashes)
	if err != nil {
		return err
	}
	if _, err := st.upsertSecrets.ExecContext(ctx, tenantID, c.ID, c.Secrets.PasswordHash, c.Secrets.PINHash, answers); err != nil {
		return s.fail(err, "store secrets")
	}
	return nil
}

// secretsEqual reports whether two sets of secrets store the same; all zero values are equal.
func secretsEqual(a, b store.Secrets) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() && b.IsZero()
	}
	return a.PasswordHash == b.PasswordHash && a.PINHash == b.PINHash &&
		slices.Equal(a.SecretAnswerHashes, b.SecretAnswerHashes)
}
