package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// importWorkMem is the work_mem of an import's transaction: enough to sort a batch of
// DefaultImportBatchSize documents of a few KB each in memory.
const importWorkMem = "32MB"

// Statements of an import that run once per transaction.
const (
	upsertTenantSQL = `INSERT INTO tenants (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`
	upsertOrgSQL    = `INSERT INTO organizations (tenant_id, id) VALUES ($1, $2) ON CONFLICT (tenant_id, id) DO NOTHING`
)

// mergeBatchSQL writes one batch of customers in one statement and counts what it did. The
// batch arrives as parallel arrays ($3 to $8, one element per customer, no id twice), so the
// statement has a fixed text and every value is a bind parameter.
//
//   - incoming classifies each customer against the stored row: created when the tenant does not
//     have it, unchanged when the stored document (as text, byte for byte, as SQLite compares)
//     and the stored secrets equal the new ones (store.Secrets.Equal, said in SQL so that a
//     batch is one statement), updated otherwise. A missing secrets row equals "no secret"
//     (empty hashes, no answers): the Go side sends every all-empty set of secrets that way,
//     and never stores one.
//   - Documents travel as text and become json (which checks that they are JSON) only where they
//     are written: an unchanged document equals one that was checked when it was stored, and
//     parsing is most of the server's work for a batch.
//   - The data-modifying CTEs then write only what changed, in id order so that concurrent
//     imports lock rows in the same order; each touches rows the others do not, as one statement
//     may not change a row twice. Foreign keys are checked at the end of the statement, when the
//     customers they refer to exist.
//   - Every customer joins the organization, unchanged ones included, with its number (doc,
//     migration 00005): the stored one, or the one the insert gave a new customer.
const mergeBatchSQL = `
WITH batch AS (
    SELECT b.id COLLATE "C" AS id,
           b.document,
           b.has_secrets,
           b.password_hash,
           b.pin_hash,
           ARRAY(SELECT a.hash
                 FROM json_array_elements_text(b.answer_hashes::json) WITH ORDINALITY AS a (hash, n)
                 ORDER BY a.n) AS answer_hashes
    FROM unnest($3::text[], $4::text[], $5::bool[], $6::text[], $7::text[], $8::text[])
         AS b (id, document, has_secrets, password_hash, pin_hash, answer_hashes)
),
incoming AS (
    SELECT b.*,
           c.doc,
           CASE
               WHEN c.id IS NULL THEN 'created'
               WHEN c.document::text = b.document
                AND coalesce(s.password_hash, '') = b.password_hash
                AND coalesce(s.pin_hash, '') = b.pin_hash
                AND coalesce(s.secret_answer_hashes, '{}') = b.answer_hashes THEN 'unchanged'
               ELSE 'updated'
           END AS outcome
    FROM batch AS b
    LEFT JOIN customers AS c ON c.tenant_id = $1 AND c.id = b.id
    LEFT JOIN customer_secrets AS s ON s.tenant_id = $1 AND s.customer_id = b.id
),
written AS (
    INSERT INTO customers AS c (tenant_id, id, document)
    SELECT $1, id, document::json FROM incoming WHERE outcome <> 'unchanged' ORDER BY id
    ON CONFLICT (tenant_id, id) DO UPDATE SET document = excluded.document, updated_at = now()
    RETURNING c.id, c.doc
),
secrets_kept AS (
    INSERT INTO customer_secrets AS s (tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes)
    SELECT $1, id, password_hash, pin_hash, answer_hashes
    FROM incoming WHERE outcome <> 'unchanged' AND has_secrets ORDER BY id
    ON CONFLICT (tenant_id, customer_id) DO UPDATE SET
        password_hash = excluded.password_hash,
        pin_hash = excluded.pin_hash,
        secret_answer_hashes = excluded.secret_answer_hashes
),
secrets_dropped AS (
    DELETE FROM customer_secrets AS s
    USING incoming AS i
    WHERE s.tenant_id = $1 AND s.customer_id = i.id AND i.outcome <> 'unchanged' AND NOT i.has_secrets
),
joined AS (
    INSERT INTO organization_customers (tenant_id, organization_id, customer_id, doc)
    SELECT $1, $2, i.id, coalesce(i.doc, w.doc)
    FROM incoming AS i LEFT JOIN written AS w ON w.id = i.id
    ORDER BY i.id
    ON CONFLICT DO NOTHING
)
SELECT count(*) FILTER (WHERE outcome = 'created'),
       count(*) FILTER (WHERE outcome = 'updated'),
       count(*) FILTER (WHERE outcome = 'unchanged')
FROM incoming`

// ImportCustomers implements store.Store.ImportCustomers (see sqlstore.Import). It reads the
// sequence in batches of Options.ImportBatchSize and writes each batch with one statement while
// the sequence yields the next, so memory does not grow with the number of customers and the
// server's work overlaps the caller's.
//
// The sequence may call the store (the import path reads stored secrets) while the transaction
// is open: at most MaxConns-1 imports run at once, so such reads always find a connection.
func (s *Store) ImportCustomers(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[store.Customer, error], opts store.ImportOptions) (store.ImportSummary, error) {
	return sqlstore.Import(ctx, tenantID, organizationID, customers, opts, func(ctx context.Context) (sqlstore.ImportTx, error) {
		return s.beginImport(ctx, tenantID, organizationID)
	})
}

// beginImport takes an import slot (given back by End), opens the transaction, scopes it to the
// tenant and creates the tenant and the organization.
func (s *Store) beginImport(ctx context.Context, tenantID, organizationID string) (_ sqlstore.ImportTx, err error) {
	select {
	case s.importSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for another import to finish: %w", ctx.Err())
	}
	defer func() {
		if err != nil {
			<-s.importSlots
		}
	}()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return nil, s.fail(err, "begin")
	}
	setup := &pgx.Batch{}
	setup.Queue(setTenantSQL, tenantID)
	// The merge sorts a batch's documents by id; keep that sort in memory.
	setup.Queue(`SELECT set_config('work_mem', $1, true)`, importWorkMem)
	setup.Queue(upsertTenantSQL, tenantID)
	setup.Queue(upsertOrgSQL, tenantID, organizationID)
	if err := tx.SendBatch(ctx, setup).Close(); err != nil {
		tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // the first error is the one that matters
		return nil, s.fail(err, "create tenant and organization")
	}
	return &importTx{s: s, ctx: ctx, tx: tx, tenantID: tenantID, organizationID: organizationID,
		cur: newBatch(s.batchSize), other: newBatch(s.batchSize)}, nil
}

// importTx is an import's transaction (see sqlstore.ImportTx). It collects the customers into
// batches and writes each batch with one statement on its own goroutine, so that the sequence
// yields (reads, validates) the next batch while the server writes this one: on a machine with
// two cores the two overlap instead of taking turns. At most one batch is in flight, so tx is
// used by one goroutine at a time, and memory holds two batches whatever the size of the import.
type importTx struct {
	s                        *Store
	ctx                      context.Context
	tx                       pgx.Tx
	tenantID, organizationID string

	cur, other *batch            // cur fills; other is in flight or idle
	inFlight   chan writeOutcome // nil when no batch is in flight
	sum        store.ImportSummary
}

// writeOutcome is what writing one batch did.
type writeOutcome struct {
	sum store.ImportSummary
	err error
}

// Put appends c to the current batch, sending the batch first when it is full or already holds
// c's id. One statement cannot write a customer twice: a repeated id starts a new batch, so the
// later record wins, as it would one by one.
func (t *importTx) Put(c store.Customer) error {
	if t.cur.len() == t.s.batchSize || t.cur.has(c.ID) {
		if err := t.send(); err != nil {
			return err
		}
	}
	if err := t.cur.add(c); err != nil {
		return fmt.Errorf("customer %q: %w", c.ID, err)
	}
	return nil
}

// send waits for the batch in flight, then starts writing the current one.
func (t *importTx) send() error {
	if err := t.wait(); err != nil {
		return err
	}
	if t.cur.len() == 0 {
		return nil
	}
	full := t.cur
	t.cur, t.other = t.other, t.cur
	t.cur.reset()
	done := make(chan writeOutcome, 1)
	t.inFlight = done
	go func() { done <- t.write(full) }()
	return nil
}

// wait waits for the batch in flight, if any, and counts what it did.
func (t *importTx) wait() error {
	if t.inFlight == nil {
		return nil
	}
	out := <-t.inFlight
	t.inFlight = nil
	if out.err != nil {
		return out.err
	}
	t.sum.Created += out.sum.Created
	t.sum.Updated += out.sum.Updated
	t.sum.Unchanged += out.sum.Unchanged
	return nil
}

// Counts writes what is left and returns what the whole import did.
func (t *importTx) Counts() (store.ImportSummary, error) {
	if err := t.send(); err != nil {
		return store.ImportSummary{}, err
	}
	if err := t.wait(); err != nil {
		return store.ImportSummary{}, err
	}
	return t.sum, nil
}

// write runs the merge statement for b.
func (t *importTx) write(b *batch) writeOutcome {
	var out writeOutcome
	err := t.tx.QueryRow(t.ctx, mergeBatchSQL, b.args(t.tenantID, t.organizationID)...).
		Scan(&out.sum.Created, &out.sum.Updated, &out.sum.Unchanged)
	if err != nil {
		out.err = t.s.fail(err, "write %d customers from %q on", b.len(), b.ids[0])
	}
	return out
}

// Replace removes from the organization the members not in imported and deletes those of them
// that no other organization holds.
func (t *importTx) Replace(imported []string) (left, deleted int, err error) {
	leavers, err := collectIDs(t.ctx, t.tx, leaveSQL, t.tenantID, t.organizationID, imported)
	if err != nil {
		return 0, 0, t.s.fail(err, "remove members not imported")
	}
	gone, err := collectIDs(t.ctx, t.tx, deleteOrphansSQL, t.tenantID, leavers)
	if err != nil {
		return 0, 0, t.s.fail(err, "delete customers left in no organization")
	}
	return len(leavers), len(gone), nil
}

// End waits for the batch in flight, which must be done with tx before it ends, then commits or
// rolls back, and gives the import slot back.
func (t *importTx) End(commit bool) error {
	defer func() { <-t.s.importSlots }()
	t.wait() //nolint:errcheck // a batch is in flight only when the import failed already
	if commit {
		if err := t.tx.Commit(t.ctx); err != nil {
			return t.s.fail(err, "commit")
		}
		return nil
	}
	// The rollback must run even when ctx is already cancelled.
	if err := t.tx.Rollback(context.WithoutCancel(t.ctx)); err != nil {
		return t.s.fail(err, "roll back")
	}
	return nil
}

// batch holds the customers of one merge statement as the parallel arrays it binds. Its slices
// are reused from one batch to the next.
type batch struct {
	ids, documents, passwords, pins, answers []string
	hasSecrets                               []bool
	seen                                     map[string]struct{}
}

func newBatch(size int) *batch {
	return &batch{
		ids:        make([]string, 0, size),
		documents:  make([]string, 0, size),
		passwords:  make([]string, 0, size),
		pins:       make([]string, 0, size),
		answers:    make([]string, 0, size),
		hasSecrets: make([]bool, 0, size),
		seen:       make(map[string]struct{}, size),
	}
}

func (b *batch) len() int { return len(b.ids) }

func (b *batch) has(id string) bool {
	_, ok := b.seen[id]
	return ok
}

// add appends c. A customer without secrets arrives as the zero value (see sqlstore.Import) and
// is sent as empty hashes and no answers, the form that matches a customer without a secrets row.
func (b *batch) add(c store.Customer) error {
	if len(c.Document) == 0 {
		return errors.New("empty document")
	}
	sec := c.Secrets
	has := !sec.IsZero()
	hashes := sec.SecretAnswerHashes
	if hashes == nil {
		hashes = []string{}
	}
	answers, err := json.Marshal(hashes)
	if err != nil {
		return fmt.Errorf("encode secret answer hashes: %w", err)
	}
	b.ids = append(b.ids, c.ID)
	b.documents = append(b.documents, string(c.Document))
	b.hasSecrets = append(b.hasSecrets, has)
	b.passwords = append(b.passwords, sec.PasswordHash)
	b.pins = append(b.pins, sec.PINHash)
	b.answers = append(b.answers, string(answers))
	b.seen[c.ID] = struct{}{}
	return nil
}

// args are the bind parameters of mergeBatchSQL.
func (b *batch) args(tenantID, organizationID string) []any {
	return []any{tenantID, organizationID, b.ids, b.documents, b.hasSecrets, b.passwords, b.pins, b.answers}
}

func (b *batch) reset() {
	b.ids, b.documents, b.passwords, b.pins, b.answers = b.ids[:0], b.documents[:0], b.passwords[:0], b.pins[:0], b.answers[:0]
	b.hasSecrets = b.hasSecrets[:0]
	clear(b.seen)
}
