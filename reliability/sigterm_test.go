package reliability

import (
	"errors"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMUnderLoad sends SIGTERM to a server under a steady mixed load and checks that it
// stops being ready at once, drains what it accepted within --shutdown-timeout and exits
// cleanly, and that no accepted request failed or was cut short.
func TestSIGTERMUnderLoad(t *testing.T) {
	requireSuite(t)
	const shutdownTimeout = 20 * time.Second
	s := startServer(t, serverConfig{DataDir: t.TempDir(), Args: []string{"--shutdown-timeout", shutdownTimeout.String()}})
	targets := seedMixed(t, s)
	// A list larger than the read window streams from the database; two slow clients (2 MB/s)
	// keep such a read in flight on the server for several seconds.
	big := &target{Creds: targets[0].Creds, Org: "org-tenant-a-4000", Size: 4000, ReadRate: 2 << 20}
	s.importFile(t, big.Creds.Tenant, big.Org, writeOrg(t, t.TempDir(), big.Org, big.Size, ""))

	load := startLoad(t.Context(), s.Base, loadSpec{Workers: 8, Duration: 2 * time.Minute, MaxRequests: 50_000, Targets: targets})
	defer load.Stop()
	slow := startLoad(t.Context(), s.Base, loadSpec{Workers: 2, Duration: 2 * time.Minute, MaxRequests: 100, Targets: []*target{big}})
	defer slow.Stop()
	// Steady state: every worker has had answers, and both slow reads are streaming.
	waitFor(t, time.Minute, "100 answers before SIGTERM", func() bool { return load.count() >= 100 })
	waitFor(t, time.Minute, "two slow reads streaming", func() bool { return slow.headers.Load()-int64(slow.count()) >= 2 })

	sigAt := time.Now()
	s.signal(t, syscall.SIGTERM)
	// Readiness right after the signal: the first answer that is not a 200 says what a load
	// balancer would see.
	var ready readiness
	for time.Since(sigAt) < 2*time.Second {
		ready = probeReadyz(s.Base)
		if ready.status != http.StatusOK {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	ready.after = time.Since(sigAt)

	select {
	case <-s.exited:
	case <-time.After(shutdownTimeout + 30*time.Second):
		t.Fatalf("the server did not exit within --shutdown-timeout %v (+30s)", shutdownTimeout)
	}
	exitedAfter := time.Since(sigAt)
	load.Stop()
	slow.Stop()
	slowResults := slow.Wait()
	results := append(load.Wait(), slowResults...)

	c := count(results)
	var inFlight, lastEnd = 0, time.Duration(0)
	for _, r := range results {
		if r.Start.Before(sigAt) && r.Start.Add(r.Duration).After(sigAt) && r.Accepted {
			inFlight++
		}
		if r.Accepted {
			lastEnd = max(lastEnd, r.Start.Add(r.Duration).Sub(sigAt))
		}
	}
	t.Logf("SIGTERM under load: %d requests (%s); in flight at SIGTERM: %d; last accepted answer %v after SIGTERM; exit %v after SIGTERM (status %v); readyz after SIGTERM: %s after %v",
		len(results), c, inFlight, lastEnd.Round(time.Millisecond), exitedAfter.Round(time.Millisecond), s.err, ready, ready.after.Round(time.Millisecond))

	t.Run("readyz answers 503 at once after SIGTERM", func(t *testing.T) {
		if ready.status != http.StatusServiceUnavailable || ready.after > time.Second {
			t.Errorf("readyz after SIGTERM: %s after %v; want 503 within 1s", ready, ready.after)
		}
	})
	t.Run("every accepted request succeeds and arrives whole", func(t *testing.T) {
		if c.Failed != 0 {
			t.Errorf("%d accepted requests failed (%s); first: %q", c.Failed, c, c.FirstFailures)
		}
		if c.OK < 100 {
			t.Errorf("only %d answers of 200 (%s)", c.OK, c)
		}
	})
	t.Run("in-flight requests finish within the shutdown timeout and the server exits 0", func(t *testing.T) {
		if lastEnd > shutdownTimeout {
			t.Errorf("the last accepted answer ended %v after SIGTERM; --shutdown-timeout is %v", lastEnd, shutdownTimeout)
		}
		if exitedAfter > shutdownTimeout+5*time.Second {
			t.Errorf("exit %v after SIGTERM; --shutdown-timeout is %v", exitedAfter, shutdownTimeout)
		}
		if s.err != nil {
			t.Errorf("exit status: %v", s.err)
		}
		if inFlight == 0 {
			t.Errorf("no request was in flight at SIGTERM: the test proved nothing about draining")
		}
	})
}

// readiness is what /readyz answered.
type readiness struct {
	status  int
	refused bool
	err     error
	after   time.Duration
}

func (r readiness) String() string {
	switch {
	case r.refused:
		return "connection refused"
	case r.err != nil:
		return r.err.Error()
	}
	return http.StatusText(r.status) + " (" + strconv.Itoa(r.status) + ")"
}

func probeReadyz(base string) readiness {
	resp, err := plainClient.Get(base + "/readyz")
	if err != nil {
		return readiness{err: err, refused: errors.Is(err, syscall.ECONNREFUSED)}
	}
	resp.Body.Close()
	return readiness{status: resp.StatusCode}
}
