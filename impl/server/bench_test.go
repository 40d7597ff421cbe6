package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/customer"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/server"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

// benchCustomers returns n customers with every public field filled, made from the demo data
// with new ids. Write-only fields are left out: they never reach a response, and hashing them
// would only slow the set-up.
func benchCustomers(n int) gen.CustomerList {
	var pool []gen.Customer
	for _, org := range apitest.DemoDataset() {
		pool = append(pool, org.Customers...)
	}
	list := make(gen.CustomerList, n)
	for i := range list {
		c := customer.StripWriteOnly(pool[i%len(pool)])
		id := fmt.Sprintf("cus-bench-%06d", i)
		c.Id = &id
		list[i] = gen.CustomerEntry{Customer: &c}
	}
	return list
}

// discardWriter is a ResponseWriter that keeps the status and counts the bytes, so that the
// benchmark measures the service and not a recorder's buffer.
type discardWriter struct {
	header http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// BenchmarkGetCustomers measures the whole path in-process (routing, request validation,
// verification of both credentials, handler, store, writing and response validation) for
// organizations of 1 to 1 000 customers, with response validation enforced and off, with and
// without the cache of encoded bodies, and enforced with no memory of validated documents.
//
// On SQLite, and on PostgreSQL when CUSTOMER_API_TEST_POSTGRES is set. -cpu 1,2 shows what
// validating on every core does for documents not validated before (enforce-nocache).
//
//	go test -run '^$' -bench BenchmarkGetCustomers -benchmem -count 6 ./impl/server
func BenchmarkGetCustomers(b *testing.B) {
	c := apitest.MustContract(b)
	b.Run("db=sqlite", func(b *testing.B) {
		st, _ := apitest.MustSQLite(b)
		benchGetCustomers(b, c, st)
	})
	b.Run("db=postgres", func(b *testing.B) {
		if os.Getenv("CUSTOMER_API_TEST_POSTGRES") == "" {
			b.Skip("CUSTOMER_API_TEST_POSTGRES is not set")
		}
		st, err := postgres.Open(b.Context(), pgtest.New(b).URL, postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		if _, err := st.MigrateUp(b.Context()); err != nil {
			b.Fatal(err)
		}
		benchGetCustomers(b, c, st)
	})
}

func benchGetCustomers(b *testing.B, c *contract.Contract, st store.Store) {
	sizes := []int{1, 10, 100, 1000}
	for _, n := range sizes {
		raw, _ := json.Marshal(benchCustomers(n))
		if _, err := importer.Import(context.Background(), st, c, "tenant-bench", fmt.Sprintf("org-%d", n), bytes.NewReader(raw), importer.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	authenticator, issuer := apitest.MustAuthenticator(b, st, slog.New(slog.DiscardHandler))
	apiToken, _, err := authenticator.Tokens.Issue(context.Background(), "tenant-bench", "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	bearer := issuer.MustToken(b, issuer.Claims("tenant-bench"))
	noBodies := listing.Options{CacheBytes: -1}
	modes := []struct {
		name  string
		mode  contract.Mode
		cache int // validated documents remembered
		lists listing.Options
	}{
		{"enforce", contract.Enforce, contract.DefaultCacheEntries, listing.Options{}},
		{"enforce-nobodycache", contract.Enforce, contract.DefaultCacheEntries, noBodies},
		{"enforce-nocache", contract.Enforce, 0, noBodies},
		{"off", contract.Off, 0, listing.Options{}},
		{"off-nobodycache", contract.Off, 0, noBodies},
	}
	for _, n := range sizes {
		for _, m := range modes {
			b.Run(fmt.Sprintf("customers=%d/validation=%s", n, m.name), func(b *testing.B) {
				handler, err := server.New(server.Deps{Contract: c, Store: st, Logger: slog.New(slog.DiscardHandler),
					Metrics: server.NewMetrics(), Auth: authenticator, ResponseValidation: m.mode, ValidationCacheEntries: m.cache, Lists: m.lists})
				if err != nil {
					b.Fatal(err)
				}
				req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("%s/organization/getCustomers/org-%d", contract.BasePath, n), nil)
				req.Header.Set("Authorization", "Bearer "+bearer)
				req.Header.Set("token", apiToken)
				req.Header.Set("tenantId", "tenant-bench")
				w := &discardWriter{}
				b.ReportAllocs()
				for b.Loop() {
					w.header, w.status, w.n = http.Header{}, 0, 0
					handler.ServeHTTP(w, req)
					if w.status != http.StatusOK {
						b.Fatalf("status %d", w.status)
					}
				}
				b.SetBytes(int64(w.n))
			})
		}
	}
}

// BenchmarkNotFound compares the 404 for an organization that exists only in another tenant with
// the 404 for one that exists nowhere: the two must not be told apart by their timing either.
//
//	go test -run '^$' -bench BenchmarkNotFound -count 6 ./impl/server
func BenchmarkNotFound(b *testing.B) {
	c := apitest.MustContract(b)
	st, _ := apitest.MustSQLite(b)
	raw, _ := json.Marshal(benchCustomers(100))
	if _, err := importer.Import(context.Background(), st, c, "tenant-other", "org-other", bytes.NewReader(raw), importer.Options{}); err != nil {
		b.Fatal(err)
	}
	authenticator, issuer := apitest.MustAuthenticator(b, st, slog.New(slog.DiscardHandler))
	apiToken, _, err := authenticator.Tokens.Issue(context.Background(), "tenant-bench", "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := importer.Import(context.Background(), st, c, "tenant-bench", "org-own", bytes.NewReader([]byte("[]")), importer.Options{}); err != nil {
		b.Fatal(err)
	}
	handler, err := server.New(server.Deps{Contract: c, Store: st, Logger: slog.New(slog.DiscardHandler),
		Metrics: server.NewMetrics(), Auth: authenticator})
	if err != nil {
		b.Fatal(err)
	}
	bearer := issuer.MustToken(b, issuer.Claims("tenant-bench"))
	for _, org := range []string{"org-other", "org-nowhere"} {
		b.Run("organization="+org, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, contract.BasePath+"/organization/getCustomers/"+org, nil)
			req.Header.Set("Authorization", "Bearer "+bearer)
			req.Header.Set("token", apiToken)
			req.Header.Set("tenantId", "tenant-bench")
			w := &discardWriter{}
			for b.Loop() {
				w.header, w.status = http.Header{}, 0
				handler.ServeHTTP(w, req)
				if w.status != http.StatusNotFound {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

// BenchmarkReadAfterOneChange compares, for an organization of 1 000 customers, a read right
// after one of its customers changed (the service as deployed: a new version, so the body cache
// misses and one document is validated anew) with a read of documents all validated before, by
// a service without the body cache. The import between reads is not timed.
//
//	go test -run '^$' -bench BenchmarkReadAfterOneChange -count 6 ./impl/server
func BenchmarkReadAfterOneChange(b *testing.B) {
	c := apitest.MustContract(b)
	st, _ := apitest.MustSQLite(b)
	list := benchCustomers(1000)
	raw, _ := json.Marshal(list)
	ctx := context.Background()
	if _, err := importer.Import(ctx, st, c, "tenant-bench", "org-1000", bytes.NewReader(raw), importer.Options{}); err != nil {
		b.Fatal(err)
	}
	authenticator, issuer := apitest.MustAuthenticator(b, st, slog.New(slog.DiscardHandler))
	apiToken, _, err := authenticator.Tokens.Issue(ctx, "tenant-bench", "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	bearer := issuer.MustToken(b, issuer.Claims("tenant-bench"))
	serve := func(lists listing.Options) func(b *testing.B) {
		handler, err := server.New(server.Deps{Contract: c, Store: st, Logger: slog.New(slog.DiscardHandler),
			Metrics: server.NewMetrics(), Auth: authenticator, ValidationCacheEntries: contract.DefaultCacheEntries, Lists: lists})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, contract.BasePath+"/organization/getCustomers/org-1000", nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("token", apiToken)
		req.Header.Set("tenantId", "tenant-bench")
		return func(b *testing.B) {
			w := &discardWriter{header: http.Header{}}
			handler.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		}
	}
	deployed, noBodies := serve(listing.Options{}), serve(listing.Options{CacheBytes: -1})
	deployed(b) // every document validated once
	noBodies(b)
	b.Run("read=after-one-change", func(b *testing.B) {
		i := 0
		for b.Loop() {
			b.StopTimer()
			name := fmt.Sprintf("Changed %d", i)
			one := gen.CustomerList{list[500]}
			changed := *one[0].Customer
			changed.CustomerName = &name
			one[0].Customer = &changed
			raw, _ := json.Marshal(one)
			if _, err := importer.Import(ctx, st, c, "tenant-bench", "org-1000", bytes.NewReader(raw), importer.Options{}); err != nil {
				b.Fatal(err)
			}
			i++
			b.StartTimer()
			deployed(b)
		}
	})
	b.Run("read=all-validated-no-body-cache", func(b *testing.B) {
		for b.Loop() {
			noBodies(b)
		}
	})
}
