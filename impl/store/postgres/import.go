package postgres

import (
	"context"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// importWorkMem lets an import sort a batch of documents in memory.
const importWorkMem = "32MB"

// mergeBatchSQL writes one batch, bound as parallel arrays (no id twice), and counts what it did.
// incoming classifies each customer as store.Secrets.Equal and a byte comparison of documents
// would; documents become json (parsed) only where written; the CTEs write in id order so that
// concurrent imports lock alike; every customer joins the organization with its doc number.
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

// ImportCustomers implements store.Store.ImportCustomers (see sqlstore.Import), writing each
// batch while the sequence yields the next.
func (s *Store) ImportCustomers(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[store.Customer, error], opts store.ImportOptions) (store.ImportSummary, error) {
	return sqlstore.Import(ctx, tenantID, organizationID, customers, opts, s.batchSize, s.beginImport)
}

// beginImport takes an import slot (End gives it back), opens the transaction and creates the
// tenant and the organization.
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
	setup.Queue(`SELECT set_config('work_mem', $1, true)`, importWorkMem)
	setup.Queue(sqlstore.UpsertTenantSQL, tenantID)
	setup.Queue(sqlstore.UpsertOrganizationSQL, tenantID, organizationID)
	if err := tx.SendBatch(ctx, setup).Close(); err != nil {
		tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // the first error is the one that matters
		return nil, s.fail(err, "create tenant and organization")
	}
	return &importTx{s: s, ctx: ctx, tx: tx, tenantID: tenantID, organizationID: organizationID,
		cur: &batch{}, other: &batch{}}, nil
}

// importTx is an import's transaction (see sqlstore.ImportTx). One batch at most is in flight
// on its own goroutine, so tx has one user at a time and memory holds two batches.
type importTx struct {
	s                        *Store
	ctx                      context.Context
	tx                       pgx.Tx
	tenantID, organizationID string

	cur, other *batch              // cur fills; other is in flight or idle
	inFlight   chan error          // nil when no batch is in flight
	sum        store.ImportSummary // added to by the batch in flight
}

// Flush waits for the batch in flight, then starts writing the current one.
func (t *importTx) Flush() error {
	if err := t.wait(); err != nil {
		return err
	}
	if len(t.cur.ids) == 0 {
		return nil
	}
	full := t.cur
	t.cur, t.other = t.other, t.cur
	t.cur.reset()
	done := make(chan error, 1)
	t.inFlight = done
	go func() { done <- t.write(full) }()
	return nil
}

// wait waits for the batch in flight, if any.
func (t *importTx) wait() error {
	if t.inFlight == nil {
		return nil
	}
	err := <-t.inFlight
	t.inFlight = nil
	return err
}

func (t *importTx) Counts() (store.ImportSummary, error) {
	err := t.Flush()
	if err == nil {
		err = t.wait()
	}
	return t.sum, err
}

// write writes b and counts what it did.
func (t *importTx) write(b *batch) error {
	var created, updated, unchanged int
	err := t.tx.QueryRow(t.ctx, mergeBatchSQL, t.tenantID, t.organizationID, b.ids, b.documents, b.hasSecrets, b.passwords, b.pins, b.answers).
		Scan(&created, &updated, &unchanged)
	if err != nil {
		return t.s.fail(err, "write %d customers from %q on", len(b.ids), b.ids[0])
	}
	t.sum.Created += created
	t.sum.Updated += updated
	t.sum.Unchanged += unchanged
	return nil
}

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

// End waits for the batch in flight, ends tx and gives the import slot back.
func (t *importTx) End(commit bool) error {
	defer func() { <-t.s.importSlots }()
	t.wait() //nolint:errcheck // a batch is in flight only when the import failed already
	if commit {
		if err := t.tx.Commit(t.ctx); err != nil {
			return t.s.fail(err, "commit")
		}
		return nil
	}
	if err := t.tx.Rollback(context.WithoutCancel(t.ctx)); err != nil {
		return t.s.fail(err, "roll back")
	}
	return nil
}

// batch holds the parallel arrays of one merge statement, reused from batch to batch.
type batch struct {
	ids, documents, passwords, pins, answers []string
	hasSecrets                               []bool
}

// Put appends c to the current batch; no secrets are sent as empty hashes and no answers, like
// a missing row.
func (t *importTx) Put(c store.Customer) {
	b, sec := t.cur, c.Secrets
	b.ids = append(b.ids, c.ID)
	b.documents = append(b.documents, string(c.Document))
	b.hasSecrets = append(b.hasSecrets, !sec.IsZero())
	b.passwords = append(b.passwords, sec.PasswordHash)
	b.pins = append(b.pins, sec.PINHash)
	b.answers = append(b.answers, sqlstore.JSONArray(sec.SecretAnswerHashes))
}

func (b *batch) reset() {
	b.ids, b.documents, b.passwords, b.pins, b.answers = b.ids[:0], b.documents[:0], b.passwords[:0], b.pins[:0], b.answers[:0]
	b.hasSecrets = b.hasSecrets[:0]
}
