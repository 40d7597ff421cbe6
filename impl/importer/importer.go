// Package importer streams a JSON array in the API's response format into a store; every record
// is checked against the contract first, and one bad record writes nothing.
package importer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"

	gojson "github.com/goccy/go-json"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/customer"
	"github.com/cyrexa/customer-api/impl/secrets"
	"github.com/cyrexa/customer-api/impl/store"
)

// recordError names the record (its index from 0) that stopped an import.
type recordError struct {
	Index int
	Err   error
}

func (e *recordError) Error() string {
	return fmt.Sprintf("record %d (counting from 0): %v", e.Index, e.Err)
}

func (e *recordError) Unwrap() error { return e.Err }

// ErrEmpty is the error of an input that is empty or only white space.
var ErrEmpty = errors.New(`the input is empty: want a JSON array of {"customer": {...}} records ([] for none)`)

// Import upserts the customers of r's array into the tenant's organization, in one transaction.
func Import(ctx context.Context, st store.Store, c *contract.Contract, tenantID, organizationID string, r io.Reader, opts Options) (store.ImportSummary, error) {
	p := &preparer{store: st, contract: c, tenantID: tenantID, hasher: secrets.Hasher{Pepper: opts.Pepper}, progress: opts.Progress}
	return st.ImportCustomers(ctx, tenantID, organizationID, p.records(ctx, r), opts.Store)
}

// Options are the optional parts of an import.
type Options struct {
	// Pepper is mixed into new hashes of PINs and secret answers (nil: no pepper).
	Pepper *secrets.Pepper
	// Store is passed to the store's import (replace, dry run).
	Store store.ImportOptions
	// Progress, if set, is called with the number of records prepared after each, on the
	// writing goroutine; it must be quick.
	Progress func(records int)
}

// preparer turns raw records into store customers: validated, decoded, credentials hashed.
type preparer struct {
	store    store.Store
	contract *contract.Contract
	tenantID string
	hasher   secrets.Hasher
	progress func(records int)
}

// ahead is how many records may be in flight before the store takes them: a few MB.
const ahead = 1024

// pending is one record on its way through the pipeline; done receives its outcome.
type pending struct {
	index int
	raw   gojson.RawMessage
	done  chan prepared
}

type prepared struct {
	customer store.Customer
	err      error
}

// records yields the customers of the array in order. Preparing a record costs far more than
// reading it, so one worker per CPU prepares them; at most ahead are in flight, more than a
// store writes at once, so the workers go on while it writes a batch.
func (p *preparer) records(ctx context.Context, r io.Reader) iter.Seq2[store.Customer, error] {
	return func(yield func(store.Customer, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		workers := runtime.GOMAXPROCS(0)
		work := make(chan *pending, 2*workers) // to the workers
		order := make(chan *pending, ahead)    // to this goroutine, in the array's order
		var readErr error                      // set before order closes
		go func() {
			defer close(order)
			defer close(work)
			readErr = p.read(ctx, r, work, order)
		}()
		for range workers {
			go func() {
				for job := range work {
					c, err := p.prepare(ctx, job.raw)
					job.done <- prepared{c, err}
				}
			}()
		}

		seen := make(map[string]int)
		for job := range order {
			out := <-job.done
			if out.err == nil {
				if first, dup := seen[out.customer.ID]; dup {
					out.err = fmt.Errorf("/customer/id: repeats the id of record %d", first)
				}
				seen[out.customer.ID] = job.index
			}
			if out.err != nil {
				yield(store.Customer{}, &recordError{Index: job.index, Err: out.err})
				return
			}
			if p.progress != nil {
				p.progress(job.index + 1)
			}
			if !yield(out.customer, nil) {
				return
			}
		}
		if readErr != nil {
			yield(store.Customer{}, readErr)
		}
	}
}

// read splits the array into records; it returns the error that stopped it, if any.
func (p *preparer) read(ctx context.Context, r io.Reader, work, order chan<- *pending) error {
	// goccy reads in small pieces: a buffer turns thousands of reads of the file into one.
	dec := gojson.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for index := 0; dec.More(); index++ {
		job := &pending{index: index, done: make(chan prepared, 1)}
		if err := dec.Decode(&job.raw); err != nil {
			return &recordError{Index: index, Err: fmt.Errorf("not valid JSON: %w", err)}
		}
		for _, to := range []chan<- *pending{order, work} {
			select {
			case to <- job:
			case <-ctx.Done():
				return nil
			}
		}
	}
	if err := expectDelim(dec, ']'); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON array")
	}
	return nil
}

// prepare validates one record against the contract and turns it into a store customer.
func (p *preparer) prepare(ctx context.Context, raw gojson.RawMessage) (store.Customer, error) {
	if err := p.contract.ValidateRecord(raw); err != nil {
		if lacksWrapper(raw) {
			return store.Customer{}, fmt.Errorf(`%w; each record is {"customer": {...}}, as in the API's response, not a bare customer`, err)
		}
		return store.Customer{}, err
	}
	var entry gen.CustomerEntry
	if err := gojson.Unmarshal(raw, &entry); err != nil {
		return store.Customer{}, fmt.Errorf("decode: %w", err)
	}
	if entry.Customer == nil || entry.Customer.Id == nil {
		return store.Customer{}, errors.New("/customer/id: is required on import")
	}
	id := *entry.Customer.Id
	document, creds, err := customer.Split(*entry.Customer)
	if err != nil {
		return store.Customer{}, err
	}
	var stored store.Secrets
	if creds.HasAny() {
		stored, err = p.store.CustomerSecrets(ctx, p.tenantID, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Customer{}, fmt.Errorf("read stored secrets: %w", err)
		}
	}
	return store.Customer{ID: id, Document: document, Secrets: customer.HashCredentialsWith(p.hasher, creds, stored)}, nil
}

// lacksWrapper reports whether raw is a JSON object without a "customer" member.
func lacksWrapper(raw []byte) bool {
	var members map[string]gojson.RawMessage
	if err := gojson.Unmarshal(raw, &members); err != nil {
		return false
	}
	_, ok := members["customer"]
	return !ok
}

func expectDelim(dec *gojson.Decoder, want gojson.Delim) error {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) && want == '[' {
		return ErrEmpty
	}
	if err != nil {
		return fmt.Errorf("not a JSON array: %w", err)
	}
	if d, ok := tok.(gojson.Delim); !ok || d != want {
		return fmt.Errorf("not a JSON array of customers: expected %q", want)
	}
	return nil
}
