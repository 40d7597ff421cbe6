package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cyrexa/customer-api/impl/store"
)

// organizationCustomersQuery reads the members of an organization with their documents, ordered
// by id. It starts from the primary key of organization_customers, whose order is the one
// wanted, so that the plan needs no sort: a nested loop over customers' primary key for a small
// organization, a merge join with it for a large one. It never touches customer_secrets.
const organizationCustomersQuery = `
SELECT oc.customer_id, c.document
FROM organization_customers AS oc
JOIN customers AS c ON c.tenant_id = oc.tenant_id AND c.id = oc.customer_id
WHERE oc.tenant_id = $1 AND oc.organization_id = $2
ORDER BY oc.customer_id`

// organizationExistsQuery tells an empty organization from an unknown one: a primary key probe
// that goes out in the same round trip as the members.
const organizationExistsQuery = `SELECT EXISTS (SELECT 1 FROM organizations WHERE tenant_id = $1 AND id = $2)`

// OrganizationCustomers returns the customers of the tenant's organization ordered by id (byte
// order), without secrets. It returns store.ErrNotFound when the tenant has no such
// organization, and an empty, non-nil slice for an organization without customers.
//
// It costs one round trip: whether the organization exists and its members go out as one
// pipelined batch (see inTenant).
func (s *Store) OrganizationCustomers(ctx context.Context, tenantID, organizationID string) ([]store.Customer, error) {
	var exists bool
	customers := []store.Customer{}
	err := s.inTenant(ctx, tenantID, func(b *pgx.Batch) {
		b.Queue(organizationExistsQuery, tenantID, organizationID)
		b.Queue(organizationCustomersQuery, tenantID, organizationID)
	}, func(br pgx.BatchResults) error {
		if err := br.QueryRow().Scan(&exists); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c store.Customer
			if err := rows.Scan(&c.ID, &c.Document); err != nil {
				return err
			}
			customers = append(customers, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail(err, "load customers of organization %q of tenant %q", organizationID, tenantID)
	}
	if !exists {
		return nil, fmt.Errorf("organization %q of tenant %q: %w", organizationID, tenantID, store.ErrNotFound)
	}
	return customers, nil
}

// customerSecretsQuery reads one customer's secrets: one row, all NULL when the customer has no
// secret, no row for an unknown customer.
const customerSecretsQuery = `
SELECT coalesce(s.password_hash, ''), coalesce(s.pin_hash, ''), s.secret_answer_hashes
FROM customers AS c
LEFT JOIN customer_secrets AS s ON s.tenant_id = c.tenant_id AND s.customer_id = c.id
WHERE c.tenant_id = $1 AND c.id = $2`

// CustomerSecrets returns the stored secret hashes of one customer of the tenant (the zero value
// when the customer has none), or store.ErrNotFound when the tenant has no such customer.
func (s *Store) CustomerSecrets(ctx context.Context, tenantID, customerID string) (store.Secrets, error) {
	var sec store.Secrets
	err := s.inTenant(ctx, tenantID, func(b *pgx.Batch) {
		b.Queue(customerSecretsQuery, tenantID, customerID)
	}, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(&sec.PasswordHash, &sec.PINHash, &sec.SecretAnswerHashes)
	})
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
