package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// Tests of the versioned, streaming read path: OrganizationVersion and ReadOrganization.

func testVersionStable(t *testing.T, st store.Store) {
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace"))
	v := storetest.MustVersion(t, st, "t-1", "o-1")
	for range 3 {
		if got := storetest.MustVersion(t, st, "t-1", "o-1"); got != v {
			t.Errorf("OrganizationVersion = %q, then %q with nothing changed", v, got)
		}
		if got, _ := storetest.MustRead(t, st, "t-1", "o-1"); got != v {
			t.Errorf("Snapshot.Version = %q, OrganizationVersion = %q with nothing changed", got, v)
		}
	}
	// The version is known before the customers are read, and without reading them.
	snap, err := st.ReadOrganization(t.Context(), "t-1", "o-1")
	if err != nil {
		t.Fatalf("ReadOrganization: %v", err)
	}
	if got := snap.Version(); got != v {
		t.Errorf("Snapshot.Version before iterating = %q, want %q", got, v)
	}
	if err := snap.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func testVersionNoopReimport(t *testing.T, st store.Store) {
	in := []store.Customer{
		storetest.Customer("c-1", "Ada"),
		storetest.WithSecrets(storetest.Customer("c-2", "Grace"), store.Secrets{PasswordHash: "hash-pw"}),
	}
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	storetest.MustImport(t, st, "t-1", "o-2", in[0])
	v1, v2 := storetest.MustVersion(t, st, "t-1", "o-1"), storetest.MustVersion(t, st, "t-1", "o-2")
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", in...), store.ImportSummary{Unchanged: 2})
	wantVersion(t, st, "t-1", "o-1", v1, "after a re-import that changed nothing")
	// Secrets are not part of what the organization's read returns: a change of secrets alone
	// keeps the version.
	in[1].Secrets = store.Secrets{PasswordHash: "hash-pw-2"}
	in[0].Secrets = store.Secrets{PINHash: "hash-pin"}
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-1", in...), store.ImportSummary{Updated: 2})
	wantVersion(t, st, "t-1", "o-1", v1, "after a change of secrets alone")
	wantVersion(t, st, "t-1", "o-2", v2, "after a change of secrets alone")
}

func testVersionChangedDocument(t *testing.T, st store.Store) {
	ada, grace := storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")
	storetest.MustImport(t, st, "t-1", "o-a", ada, grace)
	storetest.MustImport(t, st, "t-1", "o-b", ada)
	storetest.MustImport(t, st, "t-1", "o-c", grace)
	storetest.MustImport(t, st, "t-2", "o-a", ada) // the same ids at another tenant
	before := versions(t, st, "t-1/o-a", "t-1/o-b", "t-1/o-c", "t-2/o-a")

	// Through o-b: o-a holds Ada too, and changes with it.
	ada = storetest.Customer("c-1", "Ada Lovelace")
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-b", ada), store.ImportSummary{Updated: 1})
	after := versions(t, st, "t-1/o-a", "t-1/o-b", "t-1/o-c", "t-2/o-a")
	wantChanged(t, before, after, "t-1/o-a", "t-1/o-b")

	// Through an organization that did not hold her yet: it is new, and both others change.
	before = after
	ada = storetest.Customer("c-1", "Ada King")
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-d", ada), store.ImportSummary{Updated: 1})
	after = versions(t, st, "t-1/o-a", "t-1/o-b", "t-1/o-c", "t-2/o-a")
	wantChanged(t, before, after, "t-1/o-a", "t-1/o-b")
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-a"), []store.Customer{ada, grace})
}

func testVersionNewMember(t *testing.T, st store.Store) {
	ada, grace := storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")
	storetest.MustImport(t, st, "t-1", "o-a", ada)
	storetest.MustImport(t, st, "t-1", "o-b", ada)
	before := versions(t, st, "t-1/o-a", "t-1/o-b")

	// A new customer joins o-a.
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-a", ada, grace), store.ImportSummary{Created: 1, Unchanged: 1})
	after := versions(t, st, "t-1/o-a", "t-1/o-b")
	wantChanged(t, before, after, "t-1/o-a")

	// A customer that exists, unchanged, joins o-b.
	before = after
	storetest.WantSummary(t, storetest.MustImport(t, st, "t-1", "o-b", grace), store.ImportSummary{Unchanged: 1})
	after = versions(t, st, "t-1/o-a", "t-1/o-b")
	wantChanged(t, before, after, "t-1/o-b")
}

func testVersionsDiffer(t *testing.T, st store.Store) {
	in := []store.Customer{storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace")}
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	storetest.MustImport(t, st, "t-1", "o-2", in...)
	storetest.MustImport(t, st, "t-2", "o-1", in...)
	storetest.MustImport(t, st, "t-2", "o-empty")
	seen := map[string]string{}
	for key, v := range versions(t, st, "t-1/o-1", "t-1/o-2", "t-2/o-1", "t-2/o-empty") {
		if other, ok := seen[v]; ok {
			t.Errorf("%s and %s have the same version %q", key, other, v)
		}
		seen[v] = key
	}
	storetest.WantNotFound(t, st, "t-1", "o-empty") // another tenant's organization
}

func testReadStoppedEarly(t *testing.T, st store.Store) {
	var in []store.Customer
	for i := range 20 {
		in = append(in, storetest.Customer(fmt.Sprintf("c-%02d", i), "name"))
	}
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	// A snapshot that kept its connection would exhaust any pool long before 50 reads; the
	// deadline makes that a failure rather than a hang.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for i := range 50 {
		snap, err := st.ReadOrganization(ctx, "t-1", "o-1")
		if err != nil {
			t.Fatalf("read %d: ReadOrganization: %v", i, err)
		}
		// Every third read is closed without ranging at all; the others stop after one or two.
		if i%3 != 0 {
			n := 0
			for c, err := range snap.Customers() {
				if err != nil {
					t.Fatalf("read %d: customer %d: %v", i, n, err)
				}
				if c.ID != in[n].ID {
					t.Fatalf("read %d: customer %d is %s, want %s", i, n, c.ID, in[n].ID)
				}
				if n++; n == i%3 {
					break
				}
			}
		}
		for range 2 { // Close may be called again
			if err := snap.Close(); err != nil {
				t.Fatalf("read %d: Close: %v", i, err)
			}
		}
	}
	// A snapshot's customers can be ranged over once; ranging again yields an error.
	snap, err := st.ReadOrganization(ctx, "t-1", "o-1")
	if err != nil {
		t.Fatalf("ReadOrganization: %v", err)
	}
	defer snap.Close()
	n := 0
	for _, err := range snap.Customers() {
		if err != nil {
			t.Fatalf("customer %d: %v", n, err)
		}
		n++
	}
	if n != len(in) {
		t.Errorf("read %d customers, want %d", n, len(in))
	}
	var again error
	for _, err := range snap.Customers() {
		again = err
	}
	if again == nil {
		t.Error("ranging over the customers a second time yielded no error")
	}
	if err := snap.Close(); err != nil {
		t.Errorf("Close after the customers were read: %v", err)
	}
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), in)
}

func testReadCancelled(t *testing.T, st store.Store) {
	const n = 2000
	in := manyCustomers(n, "Ada")
	storetest.MustImport(t, st, "t-1", "o-1", in...)
	for i := range 5 {
		ctx, cancel := context.WithCancel(t.Context())
		snap, err := st.ReadOrganization(ctx, "t-1", "o-1")
		if err != nil {
			cancel()
			t.Fatalf("read %d: ReadOrganization: %v", i, err)
		}
		read := 0
		var got error
		for _, err := range snap.Customers() {
			if err != nil {
				got = err
				break
			}
			if read++; read == 10 {
				cancel()
			}
		}
		cancel()
		if read != 10 || !errors.Is(got, context.Canceled) {
			t.Errorf("read %d: cancelled after 10 customers, it read %d, then error %v; want context.Canceled next", i, read, got)
		}
		snap.Close() // its error, if any, is the cancellation's
	}
	storetest.WantCustomers(t, storetest.MustCustomers(t, st, "t-1", "o-1"), in)
}

func testReadConsistent(t *testing.T, st store.Store) {
	const n = 2000
	old, changed := manyCustomers(n, "old"), manyCustomers(n, "new")
	storetest.MustImport(t, st, "t-1", "o-1", old...)
	vOld := storetest.MustVersion(t, st, "t-1", "o-1")

	snap, err := st.ReadOrganization(t.Context(), "t-1", "o-1")
	if err != nil {
		t.Fatalf("ReadOrganization: %v", err)
	}
	defer snap.Close()
	next, stop := iter.Pull2(snap.Customers())
	defer stop()
	var got []store.Customer
	read := func(k int) {
		t.Helper()
		for range k {
			c, err, ok := next()
			if !ok {
				return
			}
			if err != nil {
				t.Fatalf("customer %d: %v", len(got), err)
			}
			c.Document = bytes.Clone(c.Document)
			got = append(got, c)
		}
	}
	read(n / 4)

	// An import that changes every document of the organization commits in another goroutine
	// while the read is under way.
	done := make(chan error, 1)
	go func() {
		_, err := st.ImportCustomers(t.Context(), "t-1", "o-1", storetest.Seq(changed...), store.ImportOptions{})
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("ImportCustomers during the read: %v", err)
	}
	vNew := storetest.MustVersion(t, st, "t-1", "o-1")
	if vNew == vOld {
		t.Errorf("the import that changed every document kept the version %q", vOld)
	}

	read(n) // the rest
	if _, _, ok := next(); ok {
		t.Error("the customers did not stop after the last one")
	}
	storetest.WantCustomers(t, got, old)
	if v := snap.Version(); v != vOld {
		t.Errorf("Snapshot.Version = %q, want the version %q from before the import", v, vOld)
	}
	if err := snap.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	v, after := storetest.MustRead(t, st, "t-1", "o-1")
	storetest.WantCustomers(t, after, changed)
	if v != vNew {
		t.Errorf("a read after the import has version %q, want %q", v, vNew)
	}
}

// manyCustomers returns n customers c-00000, c-00001, ... in id order, named name.
func manyCustomers(n int, name string) []store.Customer {
	out := make([]store.Customer, n)
	for i := range out {
		out[i] = storetest.Customer(fmt.Sprintf("c-%05d", i), fmt.Sprintf("%s %d", name, i))
	}
	return out
}

// versions returns the versions of organizations named "tenant/organization".
func versions(t *testing.T, st store.Store, keys ...string) map[string]string {
	t.Helper()
	out := make(map[string]string, len(keys))
	for _, key := range keys {
		tenant, org, ok := strings.Cut(key, "/")
		if !ok {
			t.Fatalf("versions: %q is not tenant/organization", key)
		}
		out[key] = storetest.MustVersion(t, st, tenant, org)
	}
	return out
}

// wantChanged checks that exactly the organizations named in changed have a new version.
func wantChanged(t *testing.T, before, after map[string]string, changed ...string) {
	t.Helper()
	for key, v := range before {
		want := false
		for _, c := range changed {
			want = want || c == key
		}
		switch {
		case want && after[key] == v:
			t.Errorf("%s kept its version %q, want a new one", key, v)
		case !want && after[key] != v:
			t.Errorf("%s changed its version from %q to %q, want it kept", key, v, after[key])
		}
	}
}

// wantVersion checks the version of the tenant's organization.
func wantVersion(t *testing.T, st store.Store, tenantID, organizationID, want, when string) {
	t.Helper()
	if got := storetest.MustVersion(t, st, tenantID, organizationID); got != want {
		t.Errorf("version of %s/%s %s = %q, want %q", tenantID, organizationID, when, got, want)
	}
}
