package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// readOrganizationQuery reads the version and the members in one statement, hence one WAL
// snapshot: a row per member, one NULL row for none, no row for an unknown organization. The
// members come in id order from the primary key, each document by its rowid (doc, migration
// 00005), so there is no sort; the BLOB cast saves the driver a copy.
const readOrganizationQuery = `
SELECT o.version, oc.customer_id, CAST(c.document AS BLOB)
FROM organizations AS o
LEFT JOIN organization_customers AS oc
       ON oc.tenant_id = o.tenant_id AND oc.organization_id = o.id
LEFT JOIN customers AS c
       ON c.doc = oc.doc AND c.tenant_id = oc.tenant_id AND c.id = oc.customer_id
WHERE o.tenant_id = ? AND o.id = ?
ORDER BY oc.customer_id`

// OrganizationVersion returns the organization's version, or store.ErrNotFound.
func (s *Store) OrganizationVersion(ctx context.Context, tenantID, organizationID string) (string, error) {
	var version string
	err := s.lookup(ctx, sqlstore.OrganizationVersionSQL, tenantID, organizationID).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return "", sqlstore.OrganizationNotFound(tenantID, organizationID)
	}
	if err != nil {
		return "", s.fail(err, "read the version of organization %q of tenant %q", organizationID, tenantID)
	}
	return version, nil
}

// ReadOrganization starts one consistent read of the organization, holding a connection until
// the customers are read or the snapshot is closed.
func (s *Store) ReadOrganization(ctx context.Context, tenantID, organizationID string) (store.Snapshot, error) {
	rows, err := s.db.QueryContext(ctx, readOrganizationQuery, tenantID, organizationID)
	if err != nil {
		return nil, s.fail(err, "read organization %q of tenant %q", organizationID, tenantID)
	}
	snap := &snapshot{s: s, ctx: ctx, rows: rows, tenantID: tenantID, organizationID: organizationID}
	// The first row carries the version; its customer is yielded first.
	if found, err := snap.next(); err != nil || !found {
		rows.Close()
		if err != nil {
			return nil, s.fail(err, "read organization %q of tenant %q", organizationID, tenantID)
		}
		return nil, sqlstore.OrganizationNotFound(tenantID, organizationID)
	}
	snap.version = string(snap.scratch)
	return snap, nil
}

// snapshot is a store.Snapshot over the rows of readOrganizationQuery.
type snapshot struct {
	s                        *Store
	ctx                      context.Context
	rows                     *sql.Rows
	tenantID, organizationID string
	version                  string
	read                     bool // Customers has been called

	// The current row; RawBytes take the driver's values without a copy.
	id           sql.NullString
	doc, scratch sql.RawBytes // scratch: the version every row repeats
}

func (sn *snapshot) Version() string { return sn.version }

func (sn *snapshot) Customers() iter.Seq2[store.Customer, error] {
	return func(yield func(store.Customer, error) bool) {
		if sn.read {
			yield(store.Customer{}, fmt.Errorf("read organization %q of tenant %q: the customers were already read", sn.organizationID, sn.tenantID))
			return
		}
		sn.read = true
		defer sn.rows.Close()
		if !sn.id.Valid { // an organization without customers: one row of NULLs
			return
		}
		var err error
		for more := true; more && err == nil; more, err = sn.next() {
			if sn.doc == nil { // a membership whose customer is not where it says
				yield(store.Customer{}, fmt.Errorf("read customers of organization %q of tenant %q: no document for member %q", sn.organizationID, sn.tenantID, sn.id.String))
				return
			}
			if !yield(store.Customer{ID: sn.id.String, Document: sn.doc}, nil) {
				return
			}
			// database/sql notices a cancelled context a few rows late.
			if err = sn.ctx.Err(); err != nil {
				break
			}
		}
		if err != nil {
			yield(store.Customer{}, sn.s.fail(err, "read customers of organization %q of tenant %q", sn.organizationID, sn.tenantID))
		}
	}
}

// next scans the next row, if there is one.
func (sn *snapshot) next() (bool, error) {
	if !sn.rows.Next() {
		return false, sn.rows.Err()
	}
	return true, sn.rows.Scan(&sn.scratch, &sn.id, &sn.doc)
}

func (sn *snapshot) Close() error {
	if err := sn.rows.Close(); err != nil {
		return sn.s.fail(err, "close the read of organization %q of tenant %q", sn.organizationID, sn.tenantID)
	}
	return nil
}

// CustomerSecrets returns a customer's stored hashes (zero for none), or store.ErrNotFound.
func (s *Store) CustomerSecrets(ctx context.Context, tenantID, customerID string) (store.Secrets, error) {
	const q = `
SELECT s.password_hash, s.pin_hash, s.secret_answer_hashes
FROM customers AS c
LEFT JOIN customer_secrets AS s ON s.tenant_id = c.tenant_id AND s.customer_id = c.id
WHERE c.tenant_id = ? AND c.id = ?`
	var password, pin, answers sql.NullString
	err := s.db.QueryRowContext(ctx, q, tenantID, customerID).Scan(&password, &pin, &answers)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Secrets{}, fmt.Errorf("customer %q of tenant %q: %w", customerID, tenantID, store.ErrNotFound)
	}
	if err != nil {
		return store.Secrets{}, s.fail(err, "load secrets of customer %q of tenant %q", customerID, tenantID)
	}
	sec, err := scanSecrets(password, pin, answers)
	if err != nil {
		return store.Secrets{}, fmt.Errorf("load secrets of customer %q of tenant %q: %w", customerID, tenantID, err)
	}
	return sec, nil
}

// scanSecrets builds Secrets from a LEFT JOIN on customer_secrets; NULL is no secret.
func scanSecrets(password, pin, answers sql.NullString) (store.Secrets, error) {
	sec := store.Secrets{PasswordHash: password.String, PINHash: pin.String}
	if answers.Valid {
		if err := json.Unmarshal([]byte(answers.String), &sec.SecretAnswerHashes); err != nil {
			return store.Secrets{}, fmt.Errorf("decode secret answer hashes: %w", err)
		}
	}
	if len(sec.SecretAnswerHashes) == 0 {
		sec.SecretAnswerHashes = nil
	}
	return sec, nil
}
