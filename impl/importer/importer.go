// Package importer loads customers from a JSON array in the API's own 200-response format into a
// store. It streams the array, so memory does not grow with the file; every record is checked
// against the contract before it is written, and one bad record writes nothing.
package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/customer"
	"github.com/cyrexa/customer-api/impl/store"
)

// Validator checks one record of the array against the contract.
type Validator interface {
	ValidateRecord(raw []byte) error
}

// RecordError names the record (by its index in the array) that stopped an import.
type RecordError struct {
	Index int
	Err   error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Index, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// Import reads a JSON array of {"customer": {...}} from r and upserts every customer into the
// tenant's organization, in one transaction.
func Import(ctx context.Context, st store.Store, v Validator, tenantID, organizationID string, r io.Reader) (store.ImportSummary, error) {
	return st.ImportCustomers(ctx, tenantID, organizationID, records(ctx, st, v, tenantID, r))
}

// Records yields the customers of the array, validated and with their credentials hashed.
func records(ctx context.Context, st store.Store, v Validator, tenantID string, r io.Reader) iter.Seq2[store.Customer, error] {
	return func(yield func(store.Customer, error) bool) {
		dec := json.NewDecoder(r)
		if err := expectDelim(dec, '['); err != nil {
			yield(store.Customer{}, err)
			return
		}
		seen := make(map[string]int)
		for index := 0; dec.More(); index++ {
			c, err := next(ctx, dec, st, v, tenantID, seen, index)
			if err != nil {
				yield(store.Customer{}, &RecordError{Index: index, Err: err})
				return
			}
			if !yield(c, nil) {
				return
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			yield(store.Customer{}, err)
			return
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			yield(store.Customer{}, errors.New("unexpected data after the JSON array"))
		}
	}
}

func next(ctx context.Context, dec *json.Decoder, st store.Store, v Validator, tenantID string, seen map[string]int, index int) (store.Customer, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return store.Customer{}, fmt.Errorf("not valid JSON: %w", err)
	}
	if err := v.ValidateRecord(raw); err != nil {
		return store.Customer{}, err
	}
	var entry gen.CustomerEntry
	if err := json.Unmarshal(raw, &entry); err != nil {
		return store.Customer{}, fmt.Errorf("decode: %w", err)
	}
	if entry.Customer == nil || entry.Customer.Id == nil {
		return store.Customer{}, errors.New("/customer/id: is required on import")
	}
	id := *entry.Customer.Id
	if first, dup := seen[id]; dup {
		return store.Customer{}, fmt.Errorf("/customer/id: repeats the id of record %d", first)
	}
	seen[id] = index

	document, creds, err := customer.Split(*entry.Customer)
	if err != nil {
		return store.Customer{}, err
	}
	var stored store.Secrets
	if creds.HasAny() {
		stored, err = st.CustomerSecrets(ctx, tenantID, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Customer{}, fmt.Errorf("read stored secrets: %w", err)
		}
	}
	hashed, err := customer.HashCredentials(creds, stored)
	if err != nil {
		return store.Customer{}, err
	}
	return store.Customer{ID: id, Document: document, Secrets: hashed}, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not a JSON array: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("not a JSON array of customers: expected %q", want)
	}
	return nil
}
