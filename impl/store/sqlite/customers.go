package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cyrexa/customer-api/impl/store"
)

// organizationCustomersQuery reads an organization and its customers in one statement: one row
// with NULLs for an organization without customers, no row for an unknown one. The primary key
// of organization_customers yields the members in customer id order (BINARY collation), each
// joined to its customer by primary key. It never touches customer_secrets.
const organizationCustomersQuery = `
SELECT c.id, c.document
FROM organizations AS o
LEFT JOIN organization_customers AS oc
       ON oc.tenant_id = o.tenant_id AND oc.organization_id = o.id
LEFT JOIN customers AS c
       ON c.tenant_id = oc.tenant_id AND c.id = oc.customer_id
WHERE o.tenant_id = ? AND o.id = ?
ORDER BY oc.customer_id`

// OrganizationCustomers returns the customers of the tenant's organization ordered by id,
// without secrets. It returns store.ErrNotFound when the tenant has no such organization, and an
// empty, non-nil slice for an organization without customers.
func (s *Store) OrganizationCustomers(ctx context.Context, tenantID, organizationID string) ([]store.Customer, error) {
	rows, err := s.db.QueryContext(ctx, organizationCustomersQuery, tenantID, organizationID)
	if err != nil {
		return nil, s.fail(err, "load customers of organization %q of tenant %q", organizationID, tenantID)
	}
	defer rows.Close()
	found := false
	customers := []store.Customer{}
	for rows.Next() {
		found = true
		var (
			id  sql.NullString
			doc []byte
		)
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, s.fail(err, "load customers of organization %q of tenant %q", organizationID, tenantID)
		}
		if id.Valid {
			customers = append(customers, store.Customer{ID: id.String, Document: doc})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "load customers of organization %q of tenant %q", organizationID, tenantID)
	}
	if !found {
		return nil, fmt.Errorf("organization %q of tenant %q: %w", organizationID, tenantID, store.ErrNotFound)
	}
	return customers, nil
}

// CustomerSecrets returns the stored secret hashes of one customer of the tenant (the zero value
// when the customer has none), or store.ErrNotFound when the tenant has no such customer.
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

// scanSecrets builds Secrets from the nullable columns of a LEFT JOIN on customer_secrets; all
// NULL means no row, that is no secret.
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

// encodeAnswers is the stored form of SecretAnswerHashes: a JSON array, never null.
func encodeAnswers(hashes []string) (string, error) {
	if hashes == nil {
		hashes = []string{}
	}
	b, err := json.Marshal(hashes)
	if err != nil {
		return "", fmt.Errorf("encode secret answer hashes: %w", err)
	}
	return string(b), nil
}
