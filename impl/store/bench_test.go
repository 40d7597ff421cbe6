package store_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/customer"
	"github.com/cyrexa/customer-api/impl/store"
)

// The benchmarks here measure the stores side by side on realistic data (docs/performance.md,
// "The stores"). PostgreSQL runs when CUSTOMER_API_TEST_POSTGRES is set. The largest sizes
// take a while to set up, so they run only when CUSTOMER_API_BENCH_LARGE is set.

// envLarge adds organizations of 100 000 customers to the benchmarks.
const envLarge = "CUSTOMER_API_BENCH_LARGE"

// benchOpen opens a new, migrated, empty store of backend, closed when the benchmark ends.
func benchOpen(b *testing.B, backend int) store.Store {
	st := backends[backend].open(b)
	b.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(b.Context()); err != nil {
		b.Fatal(err)
	}
	return st
}

func sizes(b *testing.B, small ...int) []int {
	if os.Getenv(envLarge) != "" {
		return append(small, 100_000)
	}
	return small
}

// customers returns n customers with every field filled but the write-only ones, as the
// import path stores them: customer i is demo customer i mod 36 under the id c-<i>, in an order
// that is not id order.
func customers(b *testing.B, n int) []store.Customer {
	b.Helper()
	var templates []gen.Customer
	for _, org := range apitest.DemoDataset() {
		templates = append(templates, org.Customers...)
	}
	out := make([]store.Customer, n)
	for i := range out {
		k := (i * 7919) % n
		c := templates[k%len(templates)]
		c.Id = new("c-" + strconv.Itoa(1_000_000+k))
		doc, _, err := customer.Split(c)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = store.Customer{ID: *c.Id, Document: doc}
	}
	return out
}

// perCustomer reports time, bytes and allocations per customer of the loop just run.
func perCustomer(b *testing.B, n int, before runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	per := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/customer")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/per, "B/customer")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/per, "allocs/customer")
}

// BenchmarkReadOrganization reads one organization of n customers through ReadOrganization,
// the way the read path streams it (no document kept after its iteration); another
// organization of the tenant and another tenant hold customers too. B/op is what one whole read
// allocates; B/customer staying flat from 1 000 to 100 000 customers while far below the size
// of a document (doc-B/customer) shows that the read keeps no copy of the organization.
//
//	CUSTOMER_API_BENCH_LARGE=1 go test -run '^$' -bench BenchmarkReadOrganization -benchmem ./impl/store
func BenchmarkReadOrganization(b *testing.B) {
	for i, backend := range backends[:2] {
		for _, n := range sizes(b, 10, 1000) {
			b.Run(fmt.Sprintf("db=%s/customers=%d", backend.name, n), func(b *testing.B) {
				st := benchOpen(b, i)
				cs := customers(b, n)
				mustImport(b, st, "t-1", "o-1", cs)
				mustImport(b, st, "t-1", "o-other", customers(b, 10))
				mustImport(b, st, "t-2", "o-1", customers(b, 10))
				var docBytes int
				for _, c := range cs {
					docBytes += len(c.Document)
				}
				ctx := b.Context()
				b.ReportAllocs()
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				for b.Loop() {
					snap, err := st.ReadOrganization(ctx, "t-1", "o-1")
					if err != nil {
						b.Fatal(err)
					}
					got, size := 0, 0
					for c, err := range snap.Customers() {
						if err != nil {
							b.Fatal(err)
						}
						got++
						size += len(c.Document)
					}
					if err := snap.Close(); err != nil {
						b.Fatal(err)
					}
					if got != n || size != docBytes {
						b.Fatalf("got %d customers, %d bytes of documents; want %d, %d", got, size, n, docBytes)
					}
				}
				perCustomer(b, n, before)
				b.ReportMetric(float64(docBytes)/float64(n), "doc-B/customer")
			})
		}
	}
}

// BenchmarkImportCustomers imports n new customers into a new store per iteration: the store's
// share of an import, without the JSON decoding and contract validation of the import path.
//
//	CUSTOMER_API_BENCH_LARGE=1 go test -run '^$' -bench BenchmarkImportCustomers -benchmem ./impl/store
func BenchmarkImportCustomers(b *testing.B) {
	for i, backend := range backends[:2] {
		for _, n := range sizes(b, 1000) {
			b.Run(fmt.Sprintf("db=%s/customers=%d", backend.name, n), func(b *testing.B) {
				cs := customers(b, n)
				b.ReportAllocs()
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				for b.Loop() {
					b.StopTimer()
					st := benchOpen(b, i)
					b.StartTimer()
					if sum := mustImport(b, st, "t-1", "o-1", cs); sum.Created != n {
						b.Fatalf("import: %+v, want %d created", sum, n)
					}
				}
				perCustomer(b, n, before)
			})
		}
	}
}

func mustImport(b *testing.B, st store.Store, tenantID, organizationID string, cs []store.Customer) store.ImportSummary {
	b.Helper()
	sum, err := st.ImportCustomers(b.Context(), tenantID, organizationID, func(yield func(store.Customer, error) bool) {
		for _, c := range cs {
			if !yield(c, nil) {
				return
			}
		}
	}, store.ImportOptions{})
	if err != nil {
		b.Fatalf("import: %v", err)
	}
	return sum
}
