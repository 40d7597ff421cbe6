package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

var lookupTests = []struct {
	name string
	run  func(t *testing.T, st store.Store)
}{
	{"lookups answer while reads hold every connection they may use", testLookupsBesideReads},
	{"the erasure count grows with every deletion of customers and only then", testErasureCount},
}

func init() { tests = append(tests, lookupTests...) }

// saturated is how long holdReads waits for one more read to start before it takes the reads
// for holding every connection. It only decides when to stop opening reads: on a machine so
// slow that a free connection takes longer, the test holds fewer and proves less, but does not
// fail.
const saturated = 2 * time.Second

// holdReads opens reads of the tenant's organization and leaves them open, as clients that stop
// reading a list would, until one more read cannot start within a few seconds: then the reads
// hold every connection that reads may use. It returns how many it holds; they end with the
// test.
func holdReads(t *testing.T, st store.Store, tenantID, organizationID string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	type started struct {
		snap store.Snapshot
		err  error
	}
	var (
		snaps   []store.Snapshot
		waiting chan started // the read that found no connection
	)
	t.Cleanup(func() {
		cancel()
		if waiting == nil {
			return // the test failed before
		}
		if r := <-waiting; r.snap != nil {
			r.snap.Close()
		}
		for _, snap := range snaps {
			snap.Close()
		}
	})
	for len(snaps) < 1000 {
		next := make(chan started, 1)
		go func() {
			snap, err := st.ReadOrganization(ctx, tenantID, organizationID)
			next <- started{snap, err}
		}()
		select {
		case r := <-next:
			if r.err != nil {
				t.Fatalf("ReadOrganization with %d reads open: %v", len(snaps), r.err)
			}
			snaps = append(snaps, r.snap)
		case <-time.After(saturated):
			waiting = next
			return len(snaps)
		}
	}
	t.Fatal("1000 reads open, and another one started: the store has no limit to hold")
	return 0
}

func testLookupsBesideReads(t *testing.T, st store.Store) {
	ada := storetest.Customer("c-1", "Ada")
	storetest.MustImport(t, st, "t-1", "o-1", ada)
	token := store.APIToken{ID: "tok-1", TenantID: "t-1", SecretHash: bytes.Repeat([]byte{1}, 32), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := st.CreateAPIToken(t.Context(), token); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	version, erasures := storetest.MustVersion(t, st, "t-1", "o-1"), storetest.MustErasureCount(t, st)

	held := holdReads(t, st, "t-1", "o-1")
	t.Logf("%d reads hold their connections", held)
	// Held reads would make a lookup on their connections wait for ever; the deadline only
	// bounds the failure.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if v, err := st.OrganizationVersion(ctx, "t-1", "o-1"); err != nil || v != version {
		t.Errorf("OrganizationVersion beside the reads = %q, %v; want %q", v, err, version)
	}
	if got, err := st.APIToken(ctx, "tok-1"); err != nil || got.TenantID != "t-1" {
		t.Errorf("APIToken beside the reads = %+v, %v", got, err)
	}
	if n, err := st.ErasureCount(ctx); err != nil || n != erasures {
		t.Errorf("ErasureCount beside the reads = %d, %v; want %d", n, err, erasures)
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping beside the reads: %v", err)
	}
}

func testErasureCount(t *testing.T, st store.Store) {
	ctx := t.Context()
	storetest.MustImport(t, st, "t-1", "o-1", storetest.Customer("c-1", "Ada"), storetest.Customer("c-2", "Grace"), storetest.Customer("c-3", "Edsger"), storetest.Customer("c-4", "Barbara"))
	storetest.MustImport(t, st, "t-1", "o-2", storetest.Customer("c-4", "Barbara"))
	storetest.MustImport(t, st, "t-1", "o-3", storetest.Customer("c-5", "Alan"), storetest.Customer("c-6", "Frances"))
	storetest.MustImport(t, st, "t-2", "o-1", storetest.Customer("c-1", "Ada of t-2"))
	importing := func(org string, opts store.ImportOptions, cs ...store.Customer) func() error {
		return func() error { _, err := st.ImportCustomers(ctx, "t-1", org, storetest.Seq(cs...), opts); return err }
	}
	deleting := func(ids ...string) func() error {
		return func() error { _, err := st.DeleteCustomers(ctx, "t-1", ids); return err }
	}
	deletingOrganization := func(org string) func() error {
		return func() error { _, err := st.DeleteOrganization(ctx, "t-1", org); return err }
	}
	replace, dryRun := store.ImportOptions{Replace: true}, store.ImportOptions{Replace: true, DryRun: true}
	for _, step := range []struct {
		name  string
		do    func() error
		grows bool
	}{
		{"an import", importing("o-1", store.ImportOptions{}, storetest.Customer("c-7", "Kathleen")), false},
		{"deleting ids the tenant does not have", deleting("nobody"), false},
		{"deleting customers", deleting("c-1"), true},
		{"a replacing import whose leavers another organization holds", importing("o-2", replace), false},
		{"a replacing dry run that would delete", importing("o-1", dryRun), false},
		{"a replacing import that deletes", importing("o-1", replace, storetest.Customer("c-2", "Grace")), true},
		{"deleting an organization without customers", deletingOrganization("o-2"), false},
		{"deleting an organization with customers in no other", deletingOrganization("o-3"), true},
	} {
		before := storetest.MustErasureCount(t, st)
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		after := storetest.MustErasureCount(t, st)
		if step.grows && after <= before || !step.grows && after != before {
			t.Errorf("%s: the erasure count went from %d to %d", step.name, before, after)
		}
	}
}
