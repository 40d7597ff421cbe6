// Package storetest holds the helpers of the stores' tests: test data, and reads and writes that
// fail the test themselves. The conformance suite itself is in impl/store's tests.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
)

// Customer returns a customer without secrets whose document holds id and name.
func Customer(id, name string) store.Customer {
	doc, _ := json.Marshal(map[string]any{"id": id, "name": name, "tags": []string{"a", "b"}}) // cannot fail for these types
	return store.Customer{ID: id, Document: doc}
}

// WithSecrets returns c with the given secrets.
func WithSecrets(c store.Customer, s store.Secrets) store.Customer {
	c.Secrets = s
	return c
}

// Seq yields the customers, as an import reads them.
func Seq(customers ...store.Customer) iter.Seq2[store.Customer, error] {
	return func(yield func(store.Customer, error) bool) {
		for _, c := range customers {
			if !yield(c, nil) {
				return
			}
		}
	}
}

// MustImport imports customers into the tenant's organization or fails the test.
func MustImport(t testing.TB, st store.Store, tenantID, organizationID string, customers ...store.Customer) store.ImportSummary {
	t.Helper()
	sum, err := st.ImportCustomers(t.Context(), tenantID, organizationID, Seq(customers...), store.ImportOptions{})
	if err != nil {
		t.Fatalf("ImportCustomers(%q, %q): %v", tenantID, organizationID, err)
	}
	return sum
}

// MustCustomers reads the customers of the tenant's organization or fails the test.
func MustCustomers(t testing.TB, st store.Store, tenantID, organizationID string) []store.Customer {
	t.Helper()
	_, cs := MustRead(t, st, tenantID, organizationID)
	return cs
}

// MustRead reads the version and the customers of the tenant's organization or fails the test.
func MustRead(t testing.TB, st store.Store, tenantID, organizationID string) (string, []store.Customer) {
	t.Helper()
	version, cs, err := Collect(t.Context(), st, tenantID, organizationID)
	if err != nil {
		t.Fatalf("read organization %q of tenant %q: %v", organizationID, tenantID, err)
	}
	if version == "" {
		t.Errorf("read organization %q of tenant %q: empty version", organizationID, tenantID)
	}
	return version, cs
}

// Collect reads a whole organization into memory, documents copied.
func Collect(ctx context.Context, st store.Store, tenantID, organizationID string) (version string, customers []store.Customer, err error) {
	snap, err := st.ReadOrganization(ctx, tenantID, organizationID)
	if err != nil {
		return "", nil, err
	}
	defer snap.Close()
	customers = []store.Customer{}
	for c, err := range snap.Customers() {
		if err != nil {
			return "", nil, err
		}
		c.Document = bytes.Clone(c.Document)
		customers = append(customers, c)
	}
	return snap.Version(), customers, snap.Close()
}

// MustVersion returns the version of the tenant's organization or fails the test.
func MustVersion(t testing.TB, st store.Store, tenantID, organizationID string) string {
	t.Helper()
	v, err := st.OrganizationVersion(t.Context(), tenantID, organizationID)
	if err != nil {
		t.Fatalf("OrganizationVersion(%q, %q): %v", tenantID, organizationID, err)
	}
	if v == "" {
		t.Errorf("OrganizationVersion(%q, %q) is empty", tenantID, organizationID)
	}
	return v
}

// MustSecrets reads the secrets of the tenant's customer or fails the test.
func MustSecrets(t testing.TB, st store.Store, tenantID, customerID string) store.Secrets {
	t.Helper()
	s, err := st.CustomerSecrets(t.Context(), tenantID, customerID)
	if err != nil {
		t.Fatalf("CustomerSecrets(%q, %q): %v", tenantID, customerID, err)
	}
	return s
}

// MustEmpty checks what Empty reports.
func MustEmpty(t testing.TB, st store.Store, want bool) {
	t.Helper()
	got, err := st.Empty(t.Context())
	if err != nil {
		t.Fatalf("Empty: %v", err)
	}
	if got != want {
		t.Errorf("Empty = %v, want %v", got, want)
	}
}

// WantNotFound checks that ReadOrganization and OrganizationVersion find no such organization.
func WantNotFound(t testing.TB, st store.Store, tenantID, organizationID string) {
	t.Helper()
	snap, err := st.ReadOrganization(t.Context(), tenantID, organizationID)
	if snap != nil {
		snap.Close()
	}
	if !errors.Is(err, store.ErrNotFound) || snap != nil {
		t.Errorf("ReadOrganization(%q, %q) = %v, error %v; want ErrNotFound", tenantID, organizationID, snap, err)
	}
	if v, err := st.OrganizationVersion(t.Context(), tenantID, organizationID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OrganizationVersion(%q, %q) = %q, error %v; want ErrNotFound", tenantID, organizationID, v, err)
	}
}

// WantSummary compares import summaries.
func WantSummary(t testing.TB, got, want store.ImportSummary) {
	t.Helper()
	if got != want {
		t.Errorf("import summary = %+v, want %+v", got, want)
	}
}

// WantCustomers compares customer lists: ids in order, equal JSON documents, equal secrets.
func WantCustomers(t testing.TB, got, want []store.Customer) {
	t.Helper()
	if !slices.EqualFunc(got, want, customerEqual) {
		t.Errorf("customers:\n got %s\nwant %s", describe(got), describe(want))
	}
}

// WantSecrets compares secrets.
func WantSecrets(t testing.TB, got, want store.Secrets) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("secrets = %+v, want %+v", got, want)
	}
}

func customerEqual(a, b store.Customer) bool {
	return a.ID == b.ID && jsonEqual(a.Document, b.Document) && a.Secrets.Equal(b.Secrets)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func describe(cs []store.Customer) string {
	s := fmt.Sprintf("%d customers:", len(cs))
	for _, c := range cs {
		s += fmt.Sprintf(" {%s %s %+v}", c.ID, c.Document, c.Secrets)
	}
	return s
}

// MustErasureCount returns the store's erasure count or fails the test.
func MustErasureCount(t testing.TB, st store.Store) int64 {
	t.Helper()
	n, err := st.ErasureCount(t.Context())
	if err != nil {
		t.Fatalf("ErasureCount: %v", err)
	}
	return n
}

// MustToken stores an API token of the tenant or fails the test.
func MustToken(t testing.TB, st store.Store, id, tenantID string) {
	t.Helper()
	tok := store.APIToken{ID: id, TenantID: tenantID, Name: "test", SecretHash: make([]byte, 32),
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := st.CreateAPIToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateAPIToken(%q): %v", id, err)
	}
}

// MustTenants lists the tenants or fails the test.
func MustTenants(t testing.TB, st store.Store) []store.TenantSummary {
	t.Helper()
	tenants, err := st.Tenants(t.Context())
	if err != nil {
		t.Fatalf("Tenants: %v", err)
	}
	return tenants
}
