package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/cyrexa/customer-api/impl/store"
)

// ImportTx is one import's open transaction, the part each database writes its own way.
type ImportTx interface {
	// Put adds c, with a document and an id the batch does not hold yet, to the batch.
	Put(c store.Customer)
	// Flush writes the batch and adds its customers to the organization, now or before Counts
	// returns; the next Put starts a new batch.
	Flush() error
	// Counts flushes and returns how many customers were created, updated and left unchanged;
	// joining the organization alone does not make a customer updated.
	Counts() (store.ImportSummary, error)
	// Replace removes the members not in imported from the organization and deletes those that
	// no other organization holds; it returns how many left and how many were deleted.
	Replace(imported []string) (left, deleted int, err error)
	// End commits the transaction, or rolls it back when commit is false. It is called once,
	// last, whatever happened before.
	End(commit bool) error
}

// Import runs store.Store.ImportCustomers on the transaction begin opens, in batches of at most
// batchSize customers, committing unless it failed or opts.DryRun holds.
func Import(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[store.Customer, error], opts store.ImportOptions, batchSize int, begin func(ctx context.Context, tenantID, organizationID string) (ImportTx, error)) (sum store.ImportSummary, err error) {
	defer func() {
		if err != nil {
			sum, err = store.ImportSummary{}, fmt.Errorf("import customers into organization %q of tenant %q: %w", organizationID, tenantID, err)
		}
	}()
	if tenantID == "" || organizationID == "" {
		return sum, errors.New("empty tenant or organization id")
	}
	tx, err := begin(ctx, tenantID, organizationID)
	if err != nil {
		return sum, err
	}
	commit := false
	// Deferred, so that the transaction ends even when the sequence panics.
	defer func() {
		if endErr := tx.End(commit); err == nil {
			err = endErr // otherwise the first error is the one that matters
		}
	}()
	sum, err = fill(tx, customers, opts.Replace, batchSize)
	commit = err == nil && !opts.DryRun
	return sum, err
}

// fill writes the customers into tx and, with replace, makes them the whole membership.
func fill(tx ImportTx, customers iter.Seq2[store.Customer, error], replace bool, batchSize int) (store.ImportSummary, error) {
	var imported []string                         // ids, for replace
	batch := make(map[string]struct{}, batchSize) // the ids tx holds
	for c, err := range customers {
		if err != nil {
			return store.ImportSummary{}, err
		}
		if c.ID == "" {
			return store.ImportSummary{}, errors.New("customer with an empty id")
		}
		// A batch is written when full or when it holds c's id, so that the later record wins.
		if _, dup := batch[c.ID]; dup || len(batch) == batchSize {
			if err := tx.Flush(); err != nil {
				return store.ImportSummary{}, err
			}
			clear(batch)
		}
		if len(c.Document) == 0 {
			return store.ImportSummary{}, fmt.Errorf("customer %q: empty document", c.ID)
		}
		// "No secret" has one form, so that store.Secrets.Equal finds it unchanged.
		if c.Secrets.IsZero() {
			c.Secrets = store.Secrets{}
		}
		tx.Put(c)
		batch[c.ID] = struct{}{}
		if replace {
			imported = append(imported, c.ID)
		}
	}
	sum, err := tx.Counts()
	if err != nil || !replace {
		return sum, err
	}
	if imported == nil {
		imported = []string{} // a database takes it as an empty set
	}
	sum.Left, sum.Deleted, err = tx.Replace(imported)
	return sum, err
}
