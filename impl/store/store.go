// Package store defines how customer data is kept: the Store interface, its records and its
// errors. The implementations are the sub-packages sqlite and postgres.
package store

import (
	"context"
	"errors"
	"iter"
	"slices"
)

// ErrNotFound is returned when the tenant has no organization with the requested id.
var ErrNotFound = errors.New("not found")

// ErrUnavailable wraps failures to reach the database: the API answers 503, not 500.
var ErrUnavailable = errors.New("store unavailable")

// Customer is one customer: its public JSON document (no writeOnly field) and, on the import
// path only, the hashes of its secrets.
type Customer struct {
	ID       string
	Document []byte
	Secrets  Secrets
}

// Secrets are a customer's hashed credentials (PHC or bcrypt strings); "" for none.
type Secrets struct {
	PasswordHash string
	PINHash      string
	// SecretAnswerHashes has one hash per SecretQuestion, in order; "" for no answer.
	SecretAnswerHashes []string
}

// IsZero reports whether the customer has no secret at all.
func (s Secrets) IsZero() bool {
	return s.PasswordHash == "" && s.PINHash == "" &&
		!slices.ContainsFunc(s.SecretAnswerHashes, func(h string) bool { return h != "" })
}

// Equal reports whether s and t hold the same hashes (nil and empty answer lists are equal): what
// makes a re-imported customer unchanged, said again in SQL by the PostgreSQL store.
func (s Secrets) Equal(t Secrets) bool {
	return s.PasswordHash == t.PasswordHash && s.PINHash == t.PINHash &&
		slices.Equal(s.SecretAnswerHashes, t.SecretAnswerHashes)
}

// Snapshot is one consistent read of an organization, open until Close.
type Snapshot interface {
	// Version is the organization's version at the moment of the read.
	Version() string
	// Customers yields the customers by id (byte order), or an error, once; a Document is
	// valid until the next iteration only.
	Customers() iter.Seq2[Customer, error]
	// Close ends the read; it is safe to call more than once and after Customers finished.
	Close() error
}

// ImportSummary counts what an import did.
type ImportSummary struct {
	Created   int
	Updated   int
	Unchanged int
	// Left counts the members a replacing import dropped; Deleted those of them no other
	// organization held, deleted with their secrets.
	Left    int
	Deleted int
}

// ImportOptions change what ImportCustomers does.
type ImportOptions struct {
	// Replace makes the membership exactly the imported customers; a leaver that no other
	// organization holds is deleted, so that no customer outlives its last organization.
	Replace bool
	// DryRun counts what the import would do and rolls it back.
	DryRun bool
}

// CustomerDeletion is what DeleteCustomers did.
type CustomerDeletion struct {
	// Deleted and Unknown (the ids the tenant has no customer with) are in byte order.
	Deleted []string
	Unknown []string
}

// OrganizationDeletion is what DeleteOrganization did.
type OrganizationDeletion struct {
	// Deleted are the members no other organization held; Kept the others; both in byte order.
	Deleted []string
	Kept    []string
}

// ErrNotErased is wrapped by the error of a committed deletion whose values may still be in the
// database's files (SQLite readers held up the checkpoint); a later deletion finishes the erasure.
var ErrNotErased = errors.New("deleted, but not yet erased from the database's files")

// Store keeps tenants, their organizations, their customers and the tenants' API tokens. Every
// method that reads customers names a tenant. Failures to reach the database wrap ErrUnavailable.
type Store interface {
	TokenStore

	// OrganizationVersion returns the organization's version, an opaque token that changes
	// whenever its membership or a member's document changes, or ErrNotFound. Like APIToken,
	// ErasureCount and Ping it reads one row on connections of its own, never waiting behind reads.
	OrganizationVersion(ctx context.Context, tenantID, organizationID string) (string, error)

	// ReadOrganization starts one consistent read of the organization (its version and its
	// customers by id, without secrets), streamed from the database, or returns ErrNotFound.
	// The caller must Close the snapshot; ctx bounds the whole read.
	ReadOrganization(ctx context.Context, tenantID, organizationID string) (Snapshot, error)

	// CustomerSecrets returns a customer's stored hashes, or ErrNotFound; an import keeps a
	// hash whose plaintext did not change with it.
	CustomerSecrets(ctx context.Context, tenantID, customerID string) (Secrets, error)

	// ImportCustomers creates the tenant and the organization if needed and upserts every
	// customer the sequence yields into it, in one transaction; an error from the sequence writes
	// nothing and is returned. A replacing import may return its summary with ErrNotErased.
	ImportCustomers(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[Customer, error], opts ImportOptions) (ImportSummary, error)

	// DeleteCustomers deletes the tenant's customers with their secrets and memberships in one
	// transaction; unknown ids are reported, not an error. On SQLite it then erases the data from
	// the files, and returns ErrNotErased when readers held that up past a bounded wait; every
	// call finishes earlier erasures too.
	DeleteCustomers(ctx context.Context, tenantID string, customerIDs []string) (CustomerDeletion, error)

	// DeleteOrganization deletes the organization and those of its customers no other
	// organization holds, or returns ErrNotFound; ErrNotErased as DeleteCustomers.
	DeleteOrganization(ctx context.Context, tenantID, organizationID string) (OrganizationDeletion, error)

	// ErasureCount returns a number that grows whenever customers are deleted (by any means)
	// and never otherwise, so that a reading process learns cheaply that it must drop what it keeps.
	ErasureCount(ctx context.Context) (int64, error)

	// Tenants returns every tenant holding data or API tokens, by id, with its counts.
	Tenants(ctx context.Context) ([]TenantSummary, error)

	// Organizations returns the tenant's organizations by id with their numbers of customers,
	// or ErrNotFound when the tenant holds no data.
	Organizations(ctx context.Context, tenantID string) ([]OrganizationSummary, error)

	// DeleteTenant deletes everything of the tenant in one transaction, or returns ErrNotFound;
	// ErrNotErased as DeleteCustomers.
	DeleteTenant(ctx context.Context, tenantID string) (TenantDeletion, error)

	// DeleteAPIToken deletes an API token, or returns ErrNotFound.
	DeleteAPIToken(ctx context.Context, id string) error

	// Empty reports whether the store holds no tenant.
	Empty(ctx context.Context) (bool, error)

	// MigrateUp brings the schema to the newest version, returning the versions it applied;
	// safe on every start.
	MigrateUp(ctx context.Context) ([]int64, error)

	// Ping checks that the database answers, on the lookups' connections.
	Ping(ctx context.Context) error

	// Close releases the database.
	Close() error
}
