package reliability

import (
	"net/http"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

// TestPostgresOutageUnderLoad cuts the service's connections to PostgreSQL at a TCP proxy
// (pgtest.Proxy, the one the unit-level outage tests use) while eight clients read, once per way
// of losing the database (connections refused, connections unanswered), and restores it. Only the
// proxy is cut, never the shared server, so other tests on it are not disturbed.
func TestPostgresOutageUnderLoad(t *testing.T) {
	requireSuite(t)
	d := pgtest.New(t)
	proxy, viaProxy := pgtest.ProxyURL(t, d.URL)
	const connectTimeout, queueTimeout = 2 * time.Second, 2 * time.Second
	// The longest a request may take while the database is away: its turn at the store (queue
	// timeout), one connection attempt (connect timeout), and a margin for a loaded machine.
	const hangBound = queueTimeout + connectTimeout + 6*time.Second
	s := startServer(t, serverConfig{DataDir: t.TempDir(), Database: viaProxy, Args: []string{
		"--db-connect-timeout", connectTimeout.String(), "--read-queue-timeout", queueTimeout.String(), "--db-max-conns", "4", "--body-cache", "0"}})
	targets := seedMixed(t, s)

	// Baseline after a warm-up load, once the idle client connections are gone.
	warm := startLoad(t.Context(), s.Base, loadSpec{Workers: 8, Duration: time.Minute, MaxRequests: 200, Targets: targets})
	if c := count(warm.Wait()); c.OK != 200 {
		t.Fatalf("warm-up: %s; first failures %q", c, c.FirstFailures)
	}
	goroutinesBefore := settledGoroutines(t, s)
	connsBefore := pgConns(t, d)

	load := startLoad(t.Context(), s.Base, loadSpec{Workers: 8, Duration: 5 * time.Minute, MaxRequests: 100_000, Targets: targets, Timeout: 30 * time.Second})
	defer load.Stop()
	waitFor(t, time.Minute, "50 answers before the outage", func() bool { return load.count() >= 50 })
	windows := map[string][2]time.Time{}
	for _, outage := range pgtest.Outages {
		cutAt := time.Now()
		if err := outage.Start(proxy); err != nil {
			t.Fatal(err)
		}
		// The outage lasts until 20 requests that began during it have been answered.
		waitFor(t, 2*time.Minute, outage.Name+": 20 answers during the outage", func() bool { return startedAfter(load, cutAt) >= 20 })
		restoredAt := time.Now()
		if err := proxy.Start(); err != nil {
			t.Fatal(err)
		}
		recovery := waitFor(t, time.Minute, outage.Name+": a 200 after the database returned", func() bool {
			for _, r := range load.snapshot() {
				if r.Start.After(restoredAt) && r.Status == http.StatusOK {
					return true
				}
			}
			return false
		})
		windows[outage.Name] = [2]time.Time{cutAt, restoredAt}
		during := count(between(load.snapshot(), cutAt, restoredAt))
		t.Logf("%s: outage %v (%s); first 200 %v after restore", outage.Name, restoredAt.Sub(cutAt).Round(time.Millisecond), during, recovery.Round(time.Millisecond))
		if recovery > 15*time.Second {
			t.Errorf("%s: the first 200 came %v after the database returned; want within 15s", outage.Name, recovery)
		}
		if during.Shed == 0 {
			t.Errorf("%s: no 503 during the outage (%s): the outage was not seen", outage.Name, during)
		}
		waitFor(t, time.Minute, outage.Name+": 50 answers after the restore", func() bool { return startedAfter(load, restoredAt) >= 50 })
	}
	load.Stop()
	results := load.Wait()

	c := count(results)
	var slowest time.Duration
	for _, r := range results {
		slowest = max(slowest, r.Duration)
	}
	t.Logf("PostgreSQL outages under load: %d requests (%s); slowest %v", len(results), c, slowest.Round(time.Millisecond))
	t.Run("only 200s and 503s with Retry-After", func(t *testing.T) {
		if c.Failed+c.OtherTransport+c.Refused != 0 {
			t.Errorf("%s; first: %q", c, c.FirstFailures)
		}
	})
	for _, outage := range pgtest.Outages {
		w := windows[outage.Name]
		// Requests that overlap the outage: begun before the restore, ended after the cut.
		var slowest result
		for _, r := range results {
			if r.Start.Before(w[1]) && r.Start.Add(r.Duration).After(w[0]) && r.Duration > slowest.Duration {
				slowest = r
			}
		}
		t.Logf("%s: slowest request %v (%s, status %d)", outage.Name, slowest.Duration.Round(time.Millisecond), slowest.Target.Org, slowest.Status)
		t.Run("no request hangs beyond the connect timeout: "+outage.Name, func(t *testing.T) {
			if slowest.Duration > hangBound {
				t.Errorf("slowest request %v (%s, status %d); want at most %v (queue %v + connect %v + margin)",
					slowest.Duration, slowest.Target.Org, slowest.Status, hangBound, queueTimeout, connectTimeout)
			}
		})
	}
	t.Run("no goroutine or connection leaks", func(t *testing.T) {
		goroutinesAfter := settledGoroutines(t, s)
		connsAfter := pgConns(t, d)
		t.Logf("goroutines %d before, %d after; PostgreSQL connections %d before, %d after", goroutinesBefore, goroutinesAfter, connsBefore, connsAfter)
		// A few goroutines come and go with the pool's health checks and the runtime.
		if goroutinesAfter > goroutinesBefore+5 {
			t.Errorf("goroutines: %d before, %d after", goroutinesBefore, goroutinesAfter)
		}
		if connsAfter > max(connsBefore, 4+postgres.LookupConns) { // --db-max-conns 4, and the lookups' pool
			t.Errorf("PostgreSQL connections of customer-api: %d before, %d after", connsBefore, connsAfter)
		}
	})
}

// startedAfter counts answers to requests that began after t0.
func startedAfter(l *loadRun, t0 time.Time) int {
	n := 0
	for _, r := range l.snapshot() {
		if r.Start.After(t0) {
			n++
		}
	}
	return n
}

// between is the results of requests that began in [from, to).
func between(results []result, from, to time.Time) []result {
	var out []result
	for _, r := range results {
		if !r.Start.Before(from) && r.Start.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// settledGoroutines is the server's goroutine count once two readings 500 ms apart agree (at most
// 30 s): the connections of a finished load take a moment to close.
func settledGoroutines(t testing.TB, s *server) int {
	t.Helper()
	prev := s.goroutines(t)
	for range 60 {
		time.Sleep(500 * time.Millisecond)
		n := s.goroutines(t)
		if n == prev {
			return n
		}
		prev = n
	}
	return prev
}

// pgConns counts the connections of customer-api to the test's database.
func pgConns(t testing.TB, d *pgtest.Database) int {
	t.Helper()
	var n int
	d.QueryRow(t, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'customer-api'`, &n)
	return n
}
