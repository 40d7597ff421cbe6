package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/server"
	"github.com/cyrexa/customer-api/impl/store"
)

// publicCustomers returns n customers with every public field filled (demo customers under new
// ids) and no write-only field, so importing them does not spend seconds hashing.
func publicCustomers(t *testing.T, n int) []gen.Customer {
	t.Helper()
	var pool []gen.Customer
	for _, org := range apitest.DemoDataset() {
		pool = append(pool, org.Customers...)
	}
	out := make([]gen.Customer, n)
	for i := range out {
		raw, err := json.Marshal(pool[i%len(pool)])
		if err != nil {
			t.Fatal(err)
		}
		var c gen.Customer
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("cus-%05d", i)
		c.Id = &id
		if p := c.Person; p != nil {
			p.Password, p.PinCode = nil, nil
			if p.SecretQuestion != nil {
				for j := range *p.SecretQuestion {
					(*p.SecretQuestion)[j].Answer = nil
				}
			}
		}
		if c.Twofa != nil {
			c.Twofa.TargetCode, c.Twofa.InputCode = nil, nil
		}
		out[i] = c
	}
	return out
}

// rawGet sends a GET of an organization's customers with the tenant's credentials and extra
// headers, through the test's validating client, and returns the response with its body read
// and not decoded (identity unless the headers ask for gzip).
func rawGet(t *testing.T, env *apitest.Env, organizationID string, header map[string]string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.URL+"/organization/getCustomers/"+organizationID, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env.Headers(t, tenant) {
		req.Header.Set(k, v)
	}
	// Without it, net/http asks for gzip and decodes the answer out of sight.
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func withGzip(on bool) gen.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if on {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		return nil
	}
}

func ifNoneMatch(tag string) gen.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("If-None-Match", tag)
		return nil
	}
}

func TestUnchangedOrganizationsAnswer304(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		in := publicCustomers(t, 3)
		env.MustImport(t, tenant, "org-1", in...)
		first := getCustomers(t, env, tenant, "org-1")
		etag := first.HTTPResponse.Header.Get("ETag")
		if first.StatusCode() != http.StatusOK || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 4 {
			t.Fatalf("status %d, ETag %q: want 200 with a strong ETag", first.StatusCode(), etag)
		}
		if v := first.HTTPResponse.Header.Get("Vary"); v != "Accept-Encoding" {
			t.Errorf("Vary = %q", v)
		}

		for _, tag := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			resp := getCustomers(t, env, tenant, "org-1", ifNoneMatch(tag))
			if resp.StatusCode() != http.StatusNotModified || len(resp.Body) != 0 {
				t.Errorf("If-None-Match %s: status %d, body %q; want 304 without a body", tag, resp.StatusCode(), resp.Body)
			}
			if got := resp.HTTPResponse.Header.Get("ETag"); got != etag {
				t.Errorf("If-None-Match %s: 304 ETag %q, want %q", tag, got, etag)
			}
		}
		if resp := getCustomers(t, env, tenant, "org-1", ifNoneMatch(`"stale"`)); resp.StatusCode() != http.StatusOK {
			t.Errorf("a stale tag answered %d, want 200", resp.StatusCode())
		}

		// Re-importing the same data changes nothing; changing one customer changes the version.
		env.MustImport(t, tenant, "org-1", in...)
		if resp := getCustomers(t, env, tenant, "org-1", ifNoneMatch(etag)); resp.StatusCode() != http.StatusNotModified {
			t.Errorf("after a re-import of the same data: %d, want 304", resp.StatusCode())
		}
		changed := "Changed Name"
		in[1].CustomerName = &changed
		env.MustImport(t, tenant, "org-other", in[1]) // the customer is in org-1 too
		resp := getCustomers(t, env, tenant, "org-1", ifNoneMatch(etag))
		if resp.StatusCode() != http.StatusOK || resp.HTTPResponse.Header.Get("ETag") == etag {
			t.Fatalf("after a change: status %d, ETag %q; want 200 with a new ETag", resp.StatusCode(), resp.HTTPResponse.Header.Get("ETag"))
		}
		if got := *(*resp.JSON200)[1].Customer.CustomerName; got != changed {
			t.Errorf("customer 1 is named %q, want %q", got, changed)
		}

		// The tag of one tenant's organization says nothing to another tenant.
		if resp := getCustomers(t, env, "tenant-b", "org-1", ifNoneMatch("*")); resp.StatusCode() != http.StatusNotFound {
			t.Errorf("another tenant: %d, want 404", resp.StatusCode())
		}
	})
}

func TestGzipBodiesDecodeToTheSameList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		env.MustImport(t, tenant, "org-1", publicCustomers(t, 40)...)
		_, identity, err := rawGet(t, env, "org-1", nil)
		if err != nil {
			t.Fatal(err)
		}
		// The first gzip read compresses the cached identity body, the second comes from the cache.
		for i := range 2 {
			resp, body, err := rawGet(t, env, "org-1", map[string]string{"Accept-Encoding": "gzip"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasSuffix(resp.Header.Get("ETag"), `-gzip"`) {
				t.Fatalf("read %d: %d, Content-Encoding %q, ETag %q", i, resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag"))
			}
			plain, err := apitest.Decoded(resp.Header, body)
			if err != nil || !bytes.Equal(plain, identity) {
				t.Fatalf("read %d: gzip body decodes to %d bytes (%v), identity is %d", i, len(plain), err, len(identity))
			}
			if len(body)*3 > len(identity) {
				t.Errorf("gzip body %d bytes for %d identity bytes", len(body), len(identity))
			}
			// Its tag is the gzip representation's, and it answers 304 for either.
			again := getCustomers(t, env, tenant, "org-1", withGzip(true), ifNoneMatch(resp.Header.Get("ETag")))
			if again.StatusCode() != http.StatusNotModified || again.HTTPResponse.Header.Get("ETag") != resp.Header.Get("ETag") {
				t.Errorf("If-None-Match of the gzip tag: %d %q", again.StatusCode(), again.HTTPResponse.Header.Get("ETag"))
			}
		}
	})
}

// startSmallWindow starts the service on env's store with the smallest window, no body cache and
// spool files in spoolDir, so every read of a few dozen customers is spooled.
func startSmallWindow(t *testing.T, st store.Store, spoolDir string) *apitest.Env {
	t.Helper()
	return apitest.MustStartWith(t, apitest.MustContract(t), st, apitest.WithDeps(func(d *server.Deps) {
		d.Lists = listing.Options{Window: 4 << 10, CacheBytes: -1, SpoolDir: spoolDir}
	}))
}

func TestListsLargerThanTheWindowAreSpooledAndSentWhole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		env.MustImport(t, tenant, "org-1", publicCustomers(t, 60)...)
		resp, whole, err := rawGet(t, env, "org-1", nil)
		if err != nil || resp.ContentLength != int64(len(whole)) || len(whole) < 128<<10 {
			t.Fatalf("read within the window: %v, Content-Length %d, %d bytes", err, resp.ContentLength, len(whole))
		}
		spool := t.TempDir()
		small := startSmallWindow(t, env.Store, spool)
		for _, enc := range []string{"identity", "gzip"} {
			resp, body, err := rawGet(t, small, "org-1", map[string]string{"Accept-Encoding": enc})
			if err != nil {
				t.Fatalf("%q: spooled read: %v", enc, err)
			}
			if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
				t.Fatalf("%q: status %d, Content-Length %d of %d bytes, Transfer-Encoding %v: want a 200 with its length", enc, resp.StatusCode, resp.ContentLength, len(body), resp.TransferEncoding)
			}
			plain, err := apitest.Decoded(resp.Header, body)
			if err != nil || !bytes.Equal(plain, whole) {
				t.Fatalf("%q: spooled body differs from the one held in memory (%d and %d bytes, %v)", enc, len(plain), len(whole), err)
			}
		}
		if n := testutil.ToFloat64(small.Metrics.ListBodies.WithLabelValues("spooled")); n != 2 {
			t.Errorf("spooled lists counted %v, want 2", n)
		}
		if left, _ := os.ReadDir(spool); len(left) != 0 {
			t.Errorf("the spool directory holds %d files; spool files are unlinked when made", len(left))
		}
	})
}

// memSnapshot is a store.Snapshot over customers in memory; with Err, it yields Err in place of
// customer FailAfter and stops.
type memSnapshot struct {
	V         string
	List      []store.Customer
	FailAfter int
	Err       error
}

// Version implements store.Snapshot.
func (s *memSnapshot) Version() string { return s.V }

// Customers implements store.Snapshot.
func (s *memSnapshot) Customers() iter.Seq2[store.Customer, error] {
	return func(yield func(store.Customer, error) bool) {
		for i, c := range s.List {
			if s.Err != nil && i == s.FailAfter {
				yield(store.Customer{}, s.Err)
				return
			}
			if !yield(c, nil) {
				return
			}
		}
	}
}

// Close implements store.Snapshot.
func (s *memSnapshot) Close() error { return nil }

// snapshotStore is a real store whose reads of customers come from a test's snapshot.
type snapshotStore struct {
	store.Store
	snapshot func() store.Snapshot
}

func (s snapshotStore) OrganizationVersion(context.Context, string, string) (string, error) {
	return "v-test", nil
}

func (s snapshotStore) ReadOrganization(context.Context, string, string) (store.Snapshot, error) {
	return s.snapshot(), nil
}

func TestAListThatFailsIsAProblemAndNoPartOfIt(t *testing.T) {
	base := apitest.MustStart(t)
	var list []store.Customer
	for i, c := range publicCustomers(t, 40) {
		doc, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, store.Customer{ID: fmt.Sprintf("cus-%05d", i), Document: doc})
	}
	leak := store.Customer{ID: "cus-99999", Document: []byte(`{"id":"cus-99999","person":{"pinCode":"4711"}}`)}
	tests := []struct {
		name     string
		window   int
		snapshot *memSnapshot
		status   int
		reason   string // what the log line says
	}{
		{"a customer that breaks the contract, within the window", 0, &memSnapshot{V: "v-test", List: append(list[:2:2], leak)},
			http.StatusInternalServerError, `"pointer":"/2/customer/person/pinCode"`},
		{"a customer that breaks the contract, past the window", 4 << 10, &memSnapshot{V: "v-test", List: append(list[:40:40], leak)},
			http.StatusInternalServerError, `"pointer":"/40/customer/person/pinCode"`},
		{"a database that fails past the window", 4 << 10, &memSnapshot{V: "v-test", List: list, FailAfter: 35, Err: errors.Join(store.ErrUnavailable, errors.New("connection reset"))},
			http.StatusServiceUnavailable, "connection reset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spool := t.TempDir()
			env := apitest.MustStartWith(t, base.Contract, snapshotStore{Store: base.Store, snapshot: func() store.Snapshot { return tc.snapshot }},
				apitest.WithDeps(func(d *server.Deps) {
					d.Lists = listing.Options{Window: tc.window, CacheBytes: -1, SpoolDir: spool}
				}))
			env.AllowContractFailures()
			env.Sensitive("4711")
			resp, body, err := rawGet(t, env, "org-1", nil)
			if err != nil || resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != problem.ContentType {
				t.Fatalf("got %v, %v: want a %d problem", resp, err, tc.status)
			}
			if bytes.Contains(body, []byte("4711")) || bytes.Contains(body, []byte("pinCode")) || bytes.Contains(body, []byte("customerName")) {
				t.Errorf("the problem shows part of the list: %s", body)
			}
			if !eventually(func() bool { return strings.Contains(env.Logs.String(), tc.reason) }) {
				t.Errorf("no log line says why:\n%s", env.Logs.String())
			}
		})
	}
}

// blockingStore holds every read of customers until release is closed, and says when one began.
type blockingStore struct {
	store.Store
	began   chan struct{}
	release chan struct{}
}

func (b blockingStore) ReadOrganization(ctx context.Context, tenantID, organizationID string) (store.Snapshot, error) {
	b.began <- struct{}{}
	<-b.release
	return b.Store.ReadOrganization(ctx, tenantID, organizationID)
}

func TestReadsBeyondTheBudgetGet503(t *testing.T) {
	base := apitest.MustStart(t)
	base.MustImport(t, tenant, "org-1", publicCustomers(t, 2)...)
	blocking := blockingStore{Store: base.Store, began: make(chan struct{}, 1), release: make(chan struct{})}
	env := apitest.MustStartWith(t, base.Contract, blocking, apitest.WithDeps(func(d *server.Deps) {
		d.Lists = listing.Options{MaxReads: 1, QueueTimeout: 50 * time.Millisecond, CacheBytes: -1}
	}))
	first := make(chan int, 1)
	go func() {
		resp, _, err := rawGet(t, env, "org-1", nil)
		if err != nil {
			first <- -1
			return
		}
		first <- resp.StatusCode
	}()
	<-blocking.began // the first read holds the only slot
	resp := getCustomers(t, env, tenant, "org-1")
	if resp.StatusCode() != http.StatusServiceUnavailable || resp.HTTPResponse.Header.Get("Retry-After") == "" {
		t.Errorf("second read: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode(), resp.HTTPResponse.Header.Get("Retry-After"))
	}
	close(blocking.release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("the admitted read answered %d", code)
	}
	if resp := getCustomers(t, env, tenant, "org-1"); resp.StatusCode() != http.StatusOK {
		t.Errorf("a read after the slot was freed: %d", resp.StatusCode())
	}
}

func TestEachCustomerIsValidatedOnceAcrossReads(t *testing.T) {
	base := apitest.MustStart(t)
	base.MustImport(t, tenant, "org-1", publicCustomers(t, 30)...)
	env := apitest.MustStartWith(t, base.Contract, base.Store, apitest.WithDeps(func(d *server.Deps) {
		d.Lists = listing.Options{CacheBytes: -1} // every read goes to the store
	}))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if resp := getCustomers(t, env, tenant, "org-1"); resp.StatusCode() != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode())
			}
		})
	}
	wg.Wait()
	misses := testutil.ToFloat64(env.Metrics.ResponseValidationCache.WithLabelValues("miss"))
	hits := testutil.ToFloat64(env.Metrics.ResponseValidationCache.WithLabelValues("hit"))
	if misses != 30 || hits+misses < 30*8-30 {
		t.Errorf("validations: %v misses, %v hits for 8 concurrent reads of 30 customers; want 30 misses", misses, hits)
	}

	// One changed customer costs one validation.
	changed := publicCustomers(t, 30)[7]
	name := "Renamed"
	changed.CustomerName = &name
	base.MustImport(t, tenant, "org-1", changed)
	if resp := getCustomers(t, env, tenant, "org-1"); resp.StatusCode() != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode())
	}
	if got := testutil.ToFloat64(env.Metrics.ResponseValidationCache.WithLabelValues("miss")); got != 31 {
		t.Errorf("after one change: %v misses, want 31", got)
	}
}

func TestHotReadsComeFromTheBodyCache(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, tenant, "org-1", publicCustomers(t, 5)...)
	for range 3 {
		if resp := getCustomers(t, env, tenant, "org-1"); resp.StatusCode() != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode())
		}
	}
	read := testutil.ToFloat64(env.Metrics.ListBodies.WithLabelValues("read"))
	cached := testutil.ToFloat64(env.Metrics.ListBodies.WithLabelValues("cached"))
	if read != 1 || cached != 2 {
		t.Errorf("lists read %v, cached %v; want 1 and 2", read, cached)
	}
}

func TestCachedBodiesAreDroppedWhenCustomersAreErased(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		env.MustImport(t, tenant, "org-1", publicCustomers(t, 3)...)
		erased := publicCustomers(t, 4)[3]
		env.MustImport(t, tenant, "org-2", erased)
		for range 2 {
			if resp := getCustomers(t, env, tenant, "org-1"); resp.StatusCode() != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode())
			}
		}
		if n := testutil.ToFloat64(env.Metrics.ListBodies.WithLabelValues("cached")); n != 1 {
			t.Fatalf("cached answers %v, want 1", n)
		}
		// Another process erases a customer (here: the store directly, as customers delete does).
		if _, err := env.Store.DeleteCustomers(t.Context(), tenant, []string{*erased.Id}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second) // the check runs every second; a failure, not a wait
		for testutil.ToFloat64(env.Metrics.ListBodies.WithLabelValues("dropped_erased")) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the body cache was not dropped after an erasure")
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Even org-1, whose version did not change, is read from the store again.
		if resp := getCustomers(t, env, tenant, "org-1"); resp.StatusCode() != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode())
		}
		if n := testutil.ToFloat64(env.Metrics.ListBodies.WithLabelValues("read")); n != 2 {
			t.Errorf("lists read from the store %v, want 2: the cache kept bodies after an erasure", n)
		}
	})
}
