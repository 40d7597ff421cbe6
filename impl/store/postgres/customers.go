package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// readOrganizationQuery reads the version and the members in one statement, hence one snapshot:
// a row per member, one NULL row for none, no row for an unknown organization. Each document is a
// subquery on customers_by_doc, not a join, so no plan can hash and sort; the outer join has no
// clause and keeps the subquery's order, which an outer ORDER BY would sort again.
const readOrganizationQuery = `
SELECT o.version, m.customer_id, m.document
FROM organizations AS o
LEFT JOIN (
    SELECT oc.customer_id,
           (SELECT c.document FROM customers AS c WHERE c.doc = oc.doc AND c.tenant_id = oc.tenant_id) AS document
    FROM organization_customers AS oc
    WHERE oc.tenant_id = $1 AND oc.organization_id = $2
    ORDER BY oc.customer_id
) AS m ON true
WHERE o.tenant_id = $1 AND o.id = $2`

// OrganizationVersion returns the organization's version, or store.ErrNotFound, in one round trip.
func (s *Store) OrganizationVersion(ctx context.Context, tenantID, organizationID string) (string, error) {
	var version string
	err := s.inTenant(ctx, s.lookups, tenantID, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(&version)
	}, sqlstore.OrganizationVersionSQL, tenantID, organizationID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", sqlstore.OrganizationNotFound(tenantID, organizationID)
	}
	if err != nil {
		return "", s.fail(err, "read the version of organization %q of tenant %q", organizationID, tenantID)
	}
	return version, nil
}

// ReadOrganization starts one consistent read of the organization: it reads the first row (the
// version) and leaves the rest on the connection, decoded as the caller iterates.
func (s *Store) ReadOrganization(ctx context.Context, tenantID, organizationID string) (store.Snapshot, error) {
	conn, err := s.acquire(ctx, s.pool)
	if err != nil {
		return nil, s.fail(err, "read organization %q of tenant %q", organizationID, tenantID)
	}
	ctx, cancel := context.WithCancel(ctx)
	b := &pgx.Batch{}
	b.Queue(setTenantSQL, tenantID)
	b.Queue(readOrganizationQuery, tenantID, organizationID)
	sn := &snapshot{s: s, ctx: ctx, cancel: cancel, conn: conn, br: conn.SendBatch(ctx, b), tenantID: tenantID, organizationID: organizationID}
	failed := func(err error) (store.Snapshot, error) {
		sn.done = true // the query failed: nothing is left to cut off
		sn.Close()
		return nil, s.fail(err, "read organization %q of tenant %q", organizationID, tenantID)
	}
	if _, err := sn.br.Exec(); err != nil {
		return failed(err)
	}
	sn.rows, _ = sn.br.Query() // pgx: an error comes back through the rows
	if !sn.rows.Next() {
		if err := sn.rows.Err(); err != nil {
			return failed(err)
		}
		sn.done = true
		if err := sn.Close(); err != nil {
			return nil, err
		}
		return nil, sqlstore.OrganizationNotFound(tenantID, organizationID)
	}
	sn.version = string(sn.rows.RawValues()[0]) // NOT NULL
	return sn, nil
}

// snapshot is a store.Snapshot over the rows of readOrganizationQuery.
type snapshot struct {
	s                        *Store
	ctx                      context.Context    // the batch's context
	cancel                   context.CancelFunc // ends it
	conn                     *pgxpool.Conn      // released by Close
	br                       pgx.BatchResults
	rows                     pgx.Rows // nil until the query answered
	tenantID, organizationID string
	version                  string

	read     bool  // Customers has started
	done     bool  // every row has been read
	closed   bool  // Close has run
	closeErr error // what Close returned
}

func (sn *snapshot) Version() string { return sn.version }

// Customers yields the rows' bytes as pgx received them, without a copy.
func (sn *snapshot) Customers() iter.Seq2[store.Customer, error] {
	return func(yield func(store.Customer, error) bool) {
		if sn.read || sn.closed {
			yield(store.Customer{}, fmt.Errorf("read organization %q of tenant %q: the snapshot was already read or closed", sn.organizationID, sn.tenantID))
			return
		}
		sn.read = true
		defer sn.Close()
		for {
			// The id is NULL only in the one row of an organization without customers.
			if raw := sn.rows.RawValues(); raw[1] != nil {
				if !yield(store.Customer{ID: string(raw[1]), Document: raw[2]}, nil) {
					return
				}
			}
			// pgx notices a cancelled context only at its next network read.
			if err := sn.ctx.Err(); err != nil {
				yield(store.Customer{}, sn.s.fail(err, "read customers of organization %q of tenant %q", sn.organizationID, sn.tenantID))
				return
			}
			if !sn.rows.Next() {
				break
			}
		}
		if err := sn.rows.Err(); err != nil {
			yield(store.Customer{}, sn.s.fail(err, "read customers of organization %q of tenant %q", sn.organizationID, sn.tenantID))
			return
		}
		sn.done = true
		if err := sn.Close(); err != nil {
			yield(store.Customer{}, err)
		}
	}
}

// Close releases the connection. A read not finished is cut off by cancelling its context, which
// closes the connection rather than receive the rest.
func (sn *snapshot) Close() error {
	if sn.closed {
		return sn.closeErr
	}
	sn.closed = true
	defer sn.cancel()
	if !sn.done {
		sn.cancel()
	}
	if sn.rows != nil {
		sn.rows.Close()
	}
	if err := sn.br.Close(); err != nil && sn.done {
		// Errors of a read cut off are those of the cut, not worth reporting.
		sn.closeErr = sn.s.fail(err, "close the read of organization %q of tenant %q", sn.organizationID, sn.tenantID)
	}
	sn.conn.Release() // a connection whose read was cut off is closed, not reused
	return sn.closeErr
}

const customerSecretsQuery = `
SELECT coalesce(s.password_hash, ''), coalesce(s.pin_hash, ''), s.secret_answer_hashes
FROM customers AS c
LEFT JOIN customer_secrets AS s ON s.tenant_id = c.tenant_id AND s.customer_id = c.id
WHERE c.tenant_id = $1 AND c.id = $2`

// CustomerSecrets returns a customer's stored hashes (zero for none), or store.ErrNotFound.
func (s *Store) CustomerSecrets(ctx context.Context, tenantID, customerID string) (store.Secrets, error) {
	var sec store.Secrets
	err := s.inTenant(ctx, s.pool, tenantID, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(&sec.PasswordHash, &sec.PINHash, &sec.SecretAnswerHashes)
	}, customerSecretsQuery, tenantID, customerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Secrets{}, fmt.Errorf("customer %q of tenant %q: %w", customerID, tenantID, store.ErrNotFound)
	}
	if err != nil {
		return store.Secrets{}, s.fail(err, "load secrets of customer %q of tenant %q", customerID, tenantID)
	}
	if len(sec.SecretAnswerHashes) == 0 {
		sec.SecretAnswerHashes = nil
	}
	return sec, nil
}
