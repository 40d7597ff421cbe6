package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strings"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// importBatch is how many customers one statement writes: at most 4 parameters each, far below
// SQLite's limit.
const importBatch = 256

// Statements of one batch: ids travel as a JSON array, rows as multi-row VALUES lists.
const (
	storedSQL = `
SELECT c.id, c.doc, CAST(c.document AS BLOB), s.password_hash, s.pin_hash, s.secret_answer_hashes
FROM customers AS c
LEFT JOIN customer_secrets AS s ON s.tenant_id = c.tenant_id AND s.customer_id = c.id
WHERE c.tenant_id = ? AND c.id IN (SELECT value FROM json_each(?))`
	insertCustomersSQL = `INSERT INTO customers (tenant_id, id, document) VALUES %s RETURNING id, doc`
	updateCustomerSQL  = `
UPDATE customers SET document = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE tenant_id = ? AND id = ?`
	upsertSecretsSQL = `
INSERT INTO customer_secrets (tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes)
VALUES %s
ON CONFLICT (tenant_id, customer_id) DO UPDATE SET
    password_hash = excluded.password_hash,
    pin_hash = excluded.pin_hash,
    secret_answer_hashes = excluded.secret_answer_hashes`
	deleteSecretsSQL = `DELETE FROM customer_secrets WHERE tenant_id = ? AND customer_id IN (SELECT value FROM json_each(?))`
	addMembersSQL    = `
INSERT INTO organization_customers (tenant_id, organization_id, customer_id, doc) VALUES %s
ON CONFLICT DO NOTHING`
)

// values returns a VALUES list of rows tuples of columns parameters.
func values(rows, columns int) string {
	tuple := "(" + strings.Repeat("?, ", columns-1) + "?)"
	return strings.Repeat(tuple+", ", rows-1) + tuple
}

// ImportCustomers implements store.Store.ImportCustomers (see sqlstore.Import); a replacing
// import then erases as DeleteCustomers does, even when it deleted nothing.
func (s *Store) ImportCustomers(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[store.Customer, error], opts store.ImportOptions) (store.ImportSummary, error) {
	sum, err := sqlstore.Import(ctx, tenantID, organizationID, customers, opts, importBatch, s.beginImport)
	if err == nil && opts.Replace && !opts.DryRun {
		if err := s.checkpoint(ctx); err != nil {
			return sum, fmt.Errorf("import customers into organization %q of tenant %q: %w", organizationID, tenantID, err)
		}
	}
	return sum, err
}

// importTx is an import's transaction (see sqlstore.ImportTx), writing batches of importBatch
// customers with a few multi-row statements.
type importTx struct {
	s                        *Store
	ctx                      context.Context
	conn                     *sql.Conn
	tx                       *sql.Tx
	tenantID, organizationID string
	sum                      store.ImportSummary

	batch []store.Customer
	stmts map[string]*sql.Stmt // prepared for a full batch, by query
}

// beginImport opens an import's transaction and creates the tenant and the organization.
func (s *Store) beginImport(ctx context.Context, tenantID, organizationID string) (_ sqlstore.ImportTx, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.fail(err, "begin")
	}
	// A large page cache keeps the pages an import rewrites from spilling to the log repeatedly.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", importCacheKiB)); err != nil {
		conn.Close()
		return nil, s.fail(err, "begin")
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		endImportConn(ctx, conn)
		return nil, s.fail(err, "begin")
	}
	defer func() {
		if err != nil {
			tx.Rollback() //nolint:errcheck // the first error is the one that matters
			endImportConn(ctx, conn)
		}
	}()
	if _, err := tx.ExecContext(ctx, sqlstore.UpsertTenantSQL, tenantID); err != nil {
		return nil, s.fail(err, "create tenant")
	}
	if _, err := tx.ExecContext(ctx, sqlstore.UpsertOrganizationSQL, tenantID, organizationID); err != nil {
		return nil, s.fail(err, "create organization")
	}
	return &importTx{s: s, ctx: ctx, conn: conn, tx: tx, tenantID: tenantID, organizationID: organizationID,
		stmts: map[string]*sql.Stmt{}}, nil
}

// importCacheKiB is the page cache of an import's connection; others keep SQLite's 2 MB.
const importCacheKiB = 32 << 10

// endImportConn gives the page cache back and pools the connection, or closes it.
func endImportConn(ctx context.Context, conn *sql.Conn) {
	restore(ctx, conn, "PRAGMA cache_size = -2000")
	conn.Close()
}

func (t *importTx) Counts() (store.ImportSummary, error) {
	err := t.Flush()
	return t.sum, err
}

func (t *importTx) End(commit bool) error {
	for _, st := range t.stmts {
		st.Close()
	}
	defer endImportConn(t.ctx, t.conn)
	end, what := t.tx.Commit, "commit"
	if !commit {
		end, what = t.tx.Rollback, "roll back"
	}
	if err := end(); err != nil {
		return t.s.fail(err, "%s", what)
	}
	return nil
}

// Statements of a replacing import.
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

func (t *importTx) Replace(imported []string) (left, deleted int, err error) {
	leavers, err := queryIDs(t.ctx, t.tx, leaveSQL, t.tenantID, t.organizationID, sqlstore.JSONArray(imported))
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

// deleteOrphans deletes the customers of ids that belong to no organization.
func (s *Store) deleteOrphans(ctx context.Context, tx *sql.Tx, tenantID string, ids []string) ([]string, error) {
	gone, err := queryIDs(ctx, tx, deleteOrphansSQL, tenantID, sqlstore.JSONArray(ids))
	if err != nil {
		return nil, s.fail(err, "delete customers left in no organization")
	}
	return gone, nil
}

// queryIDs runs a statement that returns one text column and collects it.
func queryIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	return queryAll(ctx, tx, query, func(rows *sql.Rows) (id string, err error) {
		err = rows.Scan(&id)
		return id, err
	}, args...)
}

func (t *importTx) Put(c store.Customer) { t.batch = append(t.batch, c) }

// stored is what the database holds of a customer of the batch.
type stored struct {
	doc      int64
	document []byte
	secrets  store.Secrets
}

// Flush writes the batch with a few multi-row statements and counts what it did.
func (t *importTx) Flush() error {
	if len(t.batch) == 0 {
		return nil
	}
	defer func() {
		clear(t.batch)
		t.batch = t.batch[:0]
	}()
	from := t.batch[0].ID
	old, err := t.stored()
	if err != nil {
		return t.s.fail(err, "read stored customers from %q on", from)
	}
	var created, changed []store.Customer
	docs := make(map[string]int64, len(t.batch))
	for _, c := range t.batch {
		o, ok := old[c.ID]
		switch {
		case !ok:
			created = append(created, c)
		case bytes.Equal(o.document, c.Document) && o.secrets.Equal(c.Secrets):
			t.sum.Unchanged++
			docs[c.ID] = o.doc
		default:
			changed = append(changed, c)
			docs[c.ID] = o.doc
		}
	}
	if err := t.insert(created, docs); err != nil {
		return t.s.fail(err, "insert customers from %q on", from)
	}
	for _, c := range changed {
		if _, err := t.tx.ExecContext(t.ctx, updateCustomerSQL, string(c.Document), t.tenantID, c.ID); err != nil {
			return t.s.fail(err, "update customer %q", c.ID)
		}
	}
	if err := t.putSecrets(created, changed); err != nil {
		return t.s.fail(err, "store secrets of customers from %q on", from)
	}
	if err := t.join(docs); err != nil {
		return t.s.fail(err, "add customers from %q on to the organization", from)
	}
	t.sum.Created += len(created)
	t.sum.Updated += len(changed)
	return nil
}

// stored reads what the database holds of the batch's customers, by id.
func (t *importTx) stored() (map[string]stored, error) {
	ids := make([]string, len(t.batch))
	for i, c := range t.batch {
		ids[i] = c.ID
	}
	rows, err := t.tx.QueryContext(t.ctx, storedSQL, t.tenantID, sqlstore.JSONArray(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	old := map[string]stored{}
	for rows.Next() {
		var (
			id                     string
			o                      stored
			password, pin, answers sql.NullString
		)
		if err := rows.Scan(&id, &o.doc, &o.document, &password, &pin, &answers); err != nil {
			return nil, err
		}
		if o.secrets, err = scanSecrets(password, pin, answers); err != nil {
			return nil, err
		}
		old[id] = o
	}
	return old, rows.Err()
}

// insert inserts the new customers with one statement and notes their row numbers in docs.
func (t *importTx) insert(created []store.Customer, docs map[string]int64) error {
	if len(created) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(created))
	for _, c := range created {
		args = append(args, t.tenantID, c.ID, string(c.Document))
	}
	rows, err := run(t, insertCustomersSQL, len(created), 3, args, (*sql.Stmt).QueryContext, (*sql.Tx).QueryContext)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var doc int64
		if err := rows.Scan(&id, &doc); err != nil {
			return err
		}
		docs[id] = doc
	}
	return rows.Err()
}

// putSecrets stores the new and changed customers' secrets, deleting those now none.
func (t *importTx) putSecrets(created, changed []store.Customer) error {
	var args []any // 5 a customer
	var cleared []string
	for _, list := range [][]store.Customer{created, changed} {
		for _, c := range list {
			if c.Secrets.IsZero() {
				cleared = append(cleared, c.ID)
				continue
			}
			args = append(args, t.tenantID, c.ID, c.Secrets.PasswordHash, c.Secrets.PINHash, sqlstore.JSONArray(c.Secrets.SecretAnswerHashes))
		}
	}
	if len(args) > 0 {
		if err := t.exec(upsertSecretsSQL, len(args)/5, 5, args); err != nil {
			return err
		}
	}
	if len(changed) > 0 && len(cleared) > 0 {
		if _, err := t.tx.ExecContext(t.ctx, deleteSecretsSQL, t.tenantID, sqlstore.JSONArray(cleared)); err != nil {
			return err
		}
	}
	return nil
}

// join adds every customer of the batch to the organization, in the batch's order.
func (t *importTx) join(docs map[string]int64) error {
	args := make([]any, 0, 4*len(t.batch))
	for _, c := range t.batch {
		args = append(args, t.tenantID, t.organizationID, c.ID, docs[c.ID])
	}
	return t.exec(addMembersSQL, len(t.batch), 4, args)
}

// run runs query with a VALUES list of rows tuples of columns parameters: through a statement
// prepared once per transaction for a full batch, as text for a shorter one.
func run[T any](t *importTx, query string, rows, columns int, args []any,
	prepared func(*sql.Stmt, context.Context, ...any) (T, error),
	text func(*sql.Tx, context.Context, string, ...any) (T, error)) (T, error) {
	q := fmt.Sprintf(query, values(rows, columns))
	if rows != importBatch {
		return text(t.tx, t.ctx, q, args...)
	}
	st, ok := t.stmts[query]
	if !ok {
		var err error
		if st, err = t.tx.PrepareContext(t.ctx, q); err != nil {
			var zero T
			return zero, err
		}
		t.stmts[query] = st
	}
	return prepared(st, t.ctx, args...)
}

func (t *importTx) exec(query string, rows, columns int, args []any) error {
	_, err := run(t, query, rows, columns, args, (*sql.Stmt).ExecContext, (*sql.Tx).ExecContext)
	return err
}
