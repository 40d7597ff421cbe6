package reliability

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

// importSize is the organization an import replaces while clients read it.
const importSize = 10_000

// TestImportWhileReading imports a new version of every one of an organization's 10 000
// customers while eight clients read the organization, on SQLite and on PostgreSQL: each read
// is the organization wholly before or wholly after the import, by the SHA-256 of its body and
// by its ETag.
func TestImportWhileReading(t *testing.T) {
	requireSuite(t)
	t.Run("SQLite", func(t *testing.T) { testImportWhileReading(t, "") })
	t.Run("PostgreSQL", func(t *testing.T) { testImportWhileReading(t, pgtest.New(t).URL) })
}

func testImportWhileReading(t *testing.T, database string) {
	s := startServer(t, serverConfig{DataDir: t.TempDir(), Database: database})
	dir := t.TempDir()
	c := s.credentials(t, "tenant-big")
	const org = "org-big"
	before := writeOrg(t, dir, org, importSize, "")
	after := writeOrg(t, dir, org, importSize, "v2") // every customerName differs
	s.importFile(t, c.Tenant, org, before)
	big := &target{Creds: c, Org: org, Size: bySum}
	v1 := mustFetch(t, s, big)

	load := startLoad(t.Context(), s.Base, loadSpec{Workers: 8, Duration: 10 * time.Minute, MaxRequests: 10_000, Targets: []*target{big}, Timeout: 2 * time.Minute})
	defer load.Stop()
	waitFor(t, 2*time.Minute, "8 reads before the import", func() bool { return load.count() >= 8 })
	importStart := time.Now()
	summary := s.importFile(t, c.Tenant, org, after)
	importEnd := time.Now()
	waitFor(t, 5*time.Minute, "8 reads begun after the import", func() bool { return startedAfter(load, importEnd) >= 8 })
	load.Stop()
	results := load.Wait()
	v2 := mustFetch(t, s, big)
	if v1.Sum == v2.Sum || v1.ETag == v2.ETag {
		t.Fatalf("the import changed nothing: ETag %s before and %s after (%s)", v1.ETag, v2.ETag, summary)
	}

	var wholeBefore, wholeAfter, overlapping, mixed, shed, failed int
	for _, r := range results {
		switch {
		case r.Shed():
			shed++
			continue
		case r.Failed() || !r.Accepted:
			failed++
			t.Errorf("read failed: status %d, %v %s", r.Status, r.Err, r.Problem)
			continue
		}
		if r.Start.Before(importEnd) && r.Start.Add(r.Duration).After(importStart) {
			overlapping++
		}
		switch {
		case r.Sum == v1.Sum && r.ETag == v1.ETag:
			wholeBefore++
		case r.Sum == v2.Sum && r.ETag == v2.ETag:
			wholeAfter++
		default:
			mixed++
			t.Errorf("a read (%d bytes, ETag %s) is neither the organization before (ETag %s) nor after the import (ETag %s)", r.Bytes, r.ETag, v1.ETag, v2.ETag)
		}
	}
	t.Logf("import of %d customers took %v (%s); %d reads of %d bytes/%d bytes: %d before, %d after, %d mixed, %d overlapping the import, %d 503, %d failed",
		importSize, importEnd.Sub(importStart).Round(time.Millisecond), summary[:len(summary)-1], len(results), v1.Bytes, v2.Bytes, wholeBefore, wholeAfter, mixed, overlapping, shed, failed)
	if overlapping == 0 {
		t.Errorf("no read overlapped the import: the test proved nothing")
	}
	if wholeBefore == 0 || wholeAfter == 0 {
		t.Errorf("reads saw only one version (%d before, %d after)", wholeBefore, wholeAfter)
	}
}

// mustFetch reads tg once and fails t unless it is a whole 200.
func mustFetch(t testing.TB, s *server, tg *target) result {
	t.Helper()
	r := fetch(context.Background(), newLoadClient(1, 2*time.Minute), s.Base, tg)
	if r.Status != http.StatusOK || r.Problem != "" || r.Err != nil {
		t.Fatalf("GET %s: status %d, %v %s", tg.Org, r.Status, r.Err, r.Problem)
	}
	return r
}
