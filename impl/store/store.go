// Package store defines how customer data is kept: the Store interface, the records it holds and
// the errors it returns. Implementations live in sub-packages (sqlite, postgres); storetest holds
// the one conformance suite they all pass.
package store

import (
	"context"
	"errors"
	"iter"
	"slices"
)

// ErrNotFound is returned when the tenant has no organization with the requested id.
var ErrNotFound = errors.New("not found")

// ErrUnavailable wraps failures to reach the database, so the API can answer 503 instead of 500.
var ErrUnavailable = errors.New("store unavailable")

// Customer is one customer as the store keeps it.
//
// Document is the customer's public JSON document (the API's Customer object) with every
// writeOnly field already removed. Secrets hold only hashes and travel on the import path only:
// the read path never loads them.
type Customer struct {
	ID       string
	Document []byte
	Secrets  Secrets
}

// Secrets are the hashed credentials of a customer, as PHC strings (argon2id) or bcrypt hashes.
// An empty string means the customer has no such secret.
type Secrets struct {
	PasswordHash string
	PINHash      string
	// SecretAnswerHashes holds one hash per entry of the customer's SecretQuestion list, in order;
	// "" where that question has no answer.
	SecretAnswerHashes []string
}

// IsZero reports whether the customer has no secret at all.
func (s Secrets) IsZero() bool {
	if s.PasswordHash != "" || s.PINHash != "" {
		return false
	}
	for _, h := range s.SecretAnswerHashes {
		if h != "" {
			return false
		}
	}
	return true
}

// Equal reports whether s and t hold the same hashes; a nil and an empty list of answer hashes
// are equal. A store keeps a customer without secrets as the zero value, and an import hands it
// that form (see IsZero), so this is also what makes a re-imported customer unchanged; the
// PostgreSQL store says the same in SQL.
func (s Secrets) Equal(t Secrets) bool {
	return s.PasswordHash == t.PasswordHash && s.PINHash == t.PINHash &&
		slices.Equal(s.SecretAnswerHashes, t.SecretAnswerHashes)
}

// Snapshot is one consistent read of an organization, open until Close.
type Snapshot interface {
	// Version is the organization's version at the moment of the read (see
	// Store.OrganizationVersion).
	Version() string
	// Customers yields the organization's customers ordered by id (byte order), then stops; a
	// read that fails yields the error and stops. It may be ranged over once. The Document of a
	// yielded customer is valid until the next iteration only: copy it to keep it.
	Customers() iter.Seq2[Customer, error]
	// Close ends the read; it is safe to call more than once and after Customers finished.
	Close() error
}

// ImportSummary counts what an import did.
type ImportSummary struct {
	Created   int
	Updated   int
	Unchanged int
	// Left counts the members that left the organization because a replacing import did not
	// name them; Deleted counts those of them that no other organization of the tenant held,
	// and that were therefore deleted with their secrets (see ImportOptions.Replace).
	Left    int
	Deleted int
}

// ImportOptions change what ImportCustomers does.
type ImportOptions struct {
	// Replace makes the organization's membership exactly the imported customers: members the
	// sequence does not yield leave the organization (an empty sequence empties it), and a
	// customer that leaves and belongs to no other organization of the tenant is deleted with
	// its secrets, as DeleteOrganization does, so that no customer outlives its last
	// organization.
	Replace bool
	// DryRun runs the whole import, counts what it would do, and rolls it back: nothing is
	// written.
	DryRun bool
}

// CustomerDeletion is what DeleteCustomers did.
type CustomerDeletion struct {
	// Deleted are the ids of the customers deleted, in byte order.
	Deleted []string
	// Unknown are the requested ids the tenant has no customer with, in byte order.
	Unknown []string
}

// OrganizationDeletion is what DeleteOrganization did.
type OrganizationDeletion struct {
	// Deleted are the ids of the organization's customers that no other organization of the
	// tenant held, deleted with the organization; Kept are those another organization holds.
	// Both in byte order.
	Deleted []string
	Kept    []string
}

// ErrNotErased is wrapped by the error of a deletion that committed but whose deleted values may
// still be in the database's files. On SQLite, erasing means copying the write-ahead log into the
// database file and truncating the log, which readers of older snapshots can hold up; the error
// that wraps ErrNotErased says which files may still hold the values. Any later deletion
// finishes the erasure once those readers are gone, as does closing the database's last
// connection.
var ErrNotErased = errors.New("deleted, but not yet erased from the database's files")

// Store keeps tenants, their organizations and their customers, and the tenants' API tokens.
// Every method that reads customers is scoped by a tenant: there is no way to read customers
// without naming one.
type Store interface {
	TokenStore

	// OrganizationVersion returns the version of the tenant's organization: an opaque token
	// that changes whenever the organization's membership or any of its customers' documents
	// change (and differs between an organization and one re-created with the same id). It
	// returns ErrNotFound when the tenant has no such organization, and errors wrapping
	// ErrUnavailable when the database cannot answer. It reads one row: the read path answers
	// If-None-Match and finds cached bodies with it. It never waits behind reads of
	// organizations or imports: the lookups of the request path (this, TokenStore.APIToken,
	// ErasureCount and Ping) have database connections of their own.
	OrganizationVersion(ctx context.Context, tenantID, organizationID string) (string, error)

	// ReadOrganization starts one consistent read of the tenant's organization: its version and
	// its customers (ordered by id, without secrets) as they were at one moment, whatever
	// imports commit meanwhile. It returns ErrNotFound when the tenant has no such organization
	// (even if another tenant has). The customers are yielded as they are read from the
	// database, so memory does not grow with the organization's size. The caller must Close
	// the snapshot; ctx bounds the whole read.
	ReadOrganization(ctx context.Context, tenantID, organizationID string) (Snapshot, error)

	// CustomerSecrets returns the stored secret hashes of one customer of the tenant, or
	// ErrNotFound. The import path uses it to keep a hash whose plaintext did not change.
	CustomerSecrets(ctx context.Context, tenantID, customerID string) (Secrets, error)

	// ImportCustomers creates the tenant and the organization when they do not exist, then
	// upserts every customer the sequence yields (by id within the tenant) and adds it to the
	// organization, all in one transaction. If the sequence yields an error, nothing is written
	// and that error is returned. A customer whose document and secrets equal the stored ones
	// counts as unchanged. opts may replace the membership or make it a dry run (see
	// ImportOptions). A replacing import that committed erases as DeleteCustomers does, and may
	// return its summary with an error wrapping ErrNotErased; failures to reach the database
	// wrap ErrUnavailable.
	ImportCustomers(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[Customer, error], opts ImportOptions) (ImportSummary, error)

	// DeleteCustomers deletes the tenant's customers with the given ids, with their secrets and
	// their memberships (which changes the version of every organization that held one), in one
	// transaction. Ids the tenant has no customer with are reported in Unknown, not an error;
	// repeated ids count once. Other tenants' customers with the same ids are untouched. On
	// SQLite, the deleted data is then overwritten in the database file and the write-ahead log
	// is truncated, waiting a bounded time for readers of older snapshots; if they held it
	// longer, the deletion is returned with an error wrapping ErrNotErased. Every call finishes
	// the erasure of earlier deletions too, even one that deletes nothing. Failures to reach the
	// database wrap ErrUnavailable.
	DeleteCustomers(ctx context.Context, tenantID string, customerIDs []string) (CustomerDeletion, error)

	// DeleteOrganization deletes the tenant's organization and, in the same transaction, those
	// of its customers that no other organization of the tenant holds (with their secrets); the
	// others stay, and leave only this organization. It returns ErrNotFound when the tenant has
	// no such organization, and ErrNotErased or ErrUnavailable as DeleteCustomers does (a call
	// that finds no organization still finishes earlier erasures, and may wrap both).
	DeleteOrganization(ctx context.Context, tenantID, organizationID string) (OrganizationDeletion, error)

	// ErasureCount returns a number that grows whenever customers are deleted, whichever way
	// (DeleteCustomers, DeleteOrganization, a replacing import, an operator's SQL), and never
	// otherwise: a process that serves reads learns with it, in one primary-key lookup, that
	// another process erased customers since it last looked, and drops what it keeps of them.
	// It counts the customers deleted since the schema has had it. Failures to reach the
	// database wrap ErrUnavailable. Like OrganizationVersion, APIToken and Ping, it never waits
	// behind reads of organizations or imports.
	ErasureCount(ctx context.Context) (int64, error)

	// Tenants returns every tenant that holds data or API tokens, ordered by id (byte order),
	// with how many organizations, customers and API tokens each has.
	Tenants(ctx context.Context) ([]TenantSummary, error)

	// Organizations returns the tenant's organizations ordered by id (byte order), each with its
	// number of customers, or ErrNotFound when the tenant holds no data.
	Organizations(ctx context.Context, tenantID string) ([]OrganizationSummary, error)

	// DeleteTenant deletes everything of the tenant in one transaction: its customers with their
	// secrets, its organizations, its API tokens and the tenant itself. It returns ErrNotFound
	// when the store holds nothing of the tenant, and ErrNotErased or ErrUnavailable as
	// DeleteCustomers does.
	DeleteTenant(ctx context.Context, tenantID string) (TenantDeletion, error)

	// DeleteAPIToken deletes an API token (RevokeAPIToken keeps it, revoked), or returns
	// ErrNotFound.
	DeleteAPIToken(ctx context.Context, id string) error

	// Empty reports whether the store holds no tenant at all.
	Empty(ctx context.Context) (bool, error)

	// Migrate brings the schema to the newest version. It is safe to call on every start.
	Migrate(ctx context.Context) error

	// MigrateUp is Migrate, returning the versions it applied, in order: none when the schema
	// was up to date already.
	MigrateUp(ctx context.Context) ([]int64, error)

	// Ping checks that the database answers, on the connections of the lookups (see
	// OrganizationVersion); failures wrap ErrUnavailable.
	Ping(ctx context.Context) error

	// Close releases the database.
	Close() error
}
