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
	// Put writes c and adds it to the organization, now or before Counts returns.
	Put(c store.Customer) error
	// Counts writes what Put still holds and returns how many customers were created, updated
	// and left unchanged; joining the organization alone does not make a customer updated.
	Counts() (store.ImportSummary, error)
	// Replace removes the members not in imported from the organization and deletes those that
	// no other organization holds; it returns how many left and how many were deleted.
	Replace(imported []string) (left, deleted int, err error)
	// End commits the transaction, or rolls it back when commit is false. It is called once,
	// last, whatever happened before.
	End(commit bool) error
}

// Import runs store.Store.ImportCustomers on the transaction begin opens, committing unless it
// failed or opts.DryRun holds.
func Import(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[store.Customer, error], opts store.ImportOptions, begin func(context.Context) (ImportTx, error)) (store.ImportSummary, error) {
	sum, err := importCustomers(ctx, tenantID, organizationID, customers, opts, begin)
	if err != nil {
		return store.ImportSummary{}, fmt.Errorf("import customers into organization %q of tenant %q: %w", organizationID, tenantID, err)
	}
	return sum, nil
}

func importCustomers(ctx context.Context, tenantID, organizationID string, customers iter.Seq2[store.Customer, error], opts store.ImportOptions, begin func(context.Context) (ImportTx, error)) (sum store.ImportSummary, err error) {
	if tenantID == "" || organizationID == "" {
		return sum, errors.New("empty tenant or organization id")
	}
	tx, err := begin(ctx)
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
	sum, err = fill(tx, customers, opts.Replace)
	commit = err == nil && !opts.DryRun
	return sum, err
}

// fill writes the customers into tx and, with replace, makes them the whole membership.
func fill(tx ImportTx, customers iter.Seq2[store.Customer, error], replace bool) (store.ImportSummary, error) {
	var imported []string // ids, for replace
	for c, err := range customers {
		if err != nil {
			return store.ImportSummary{}, err
		}
		if c.ID == "" {
			return store.ImportSummary{}, errors.New("customer with an empty id")
		}
		// "No secret" has one form, so that store.Secrets.Equal finds it unchanged.
		if c.Secrets.IsZero() {
			c.Secrets = store.Secrets{}
		}
		if err := tx.Put(c); err != nil {
			return store.ImportSummary{}, err
		}
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
