package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

// The isolation scenarios: what one tenant's clients, or the holder of one leaked credential,
// can take from another tenant. Each measures tenant A's requests (a read of a small
// organization from the body cache, a 304, and a 401 for a wrong API token, in turn, at a fixed
// rate) first alone, then during the attack, and prints the ratio of A's p50 and p99 during to
// without, the requests refused to A (429 or 503), and the server's peak RSS. The goal: A's p99
// during any attack at most twice its p99 without it, with 0 refusals. The server runs with its
// default limits.
const (
	probeRate     = 30 // A's requests per second
	probeDuration = 15 * time.Second
	bigOrgSize    = 10_000 // about 24 MB of JSON: far more than the read window
	slowReaders   = 16
)

// defaultLimits are serve's default limits, restated over the harness's "no limits".
var defaultLimits = []string{"--rate-limit", "50", "--rate-burst", "100", "--client-rate-limit", "100",
	"--client-rate-burst", "200", "--global-rate-limit", "1000", "--global-rate-burst", "2000"}

func TestIsolation(t *testing.T) {
	requireSuite(t)
	t.Run("SQLite", func(t *testing.T) { testIsolation(t, "") })
	t.Run("PostgreSQL", func(t *testing.T) { testIsolation(t, pgtest.New(t).URL) })
}

func testIsolation(t *testing.T, database string) {
	s := startServer(t, serverConfig{DataDir: t.TempDir(), Database: database, Args: defaultLimits})
	dir := t.TempDir()
	a := s.credentials(t, "tenant-a")
	s.importFile(t, a.Tenant, "org-small", writeOrg(t, dir, "org-small", 10, ""))
	b := s.credentials(t, "tenant-b")
	s.importFile(t, b.Tenant, "org-big", writeOrg(t, dir, "org-big", bigOrgSize, ""))
	p := newProbe(t, s, a, "org-small")

	t.Run("slow readers beside a second tenant", func(t *testing.T) {
		readers := startSlowReaders(t, s, b, "org-big", slowReaders)
		defer readers.stop()
		during := p.measureDuring(t, "slow readers", func() { readers.waitHeld(t, slowReaders) })
		if code := readyzStatus(s.Base); code != http.StatusOK {
			t.Errorf("/readyz answered %d while the slow readers held their connections", code)
		}
		t.Logf("slow readers: %d connections opened, %d answered 200 and stopped reading, %d refused (503, tenant B's own)",
			readers.opened.Load(), readers.held.Load(), readers.refused.Load())
		if rss := s.peakRSSMB(t); rss > 256 {
			t.Errorf("peak RSS %.0f MB with %d slow readers of a %d-customer organization; want at most 256 MB", rss, slowReaders, bigOrgSize)
		}
		during.check(t)
	})

	t.Run("erasure during reads", func(t *testing.T) {
		markers := map[string]string{"customers delete": "ERASEMEONE", "organizations delete": "ERASEMETWO", "import --replace": "ERASEMETHREE"}
		s.importFile(t, a.Tenant, "org-erase-1", writeOrg(t, dir, "org-erase-1", 2, markers["customers delete"]))
		s.importFile(t, a.Tenant, "org-erase-2", writeOrg(t, dir, "org-erase-2", 2, markers["organizations delete"]))
		s.importFile(t, a.Tenant, "org-erase-3", writeOrg(t, dir, "org-erase-3", 2, markers["import --replace"]))
		empty := filepath.Join(dir, "empty.json")
		if err := os.WriteFile(empty, []byte("[]"), 0o600); err != nil {
			t.Fatal(err)
		}
		readers := startSlowReaders(t, s, b, "org-big", slowReaders)
		defer readers.stop()
		commands := [][]string{
			{"customers", "delete", "--tenant", a.Tenant, "cus-org-erase-1-000000", "cus-org-erase-1-000001"},
			{"organizations", "delete", "--tenant", a.Tenant, "org-erase-2"},
			{"import", "--tenant", a.Tenant, "--organization", "org-erase-3", "--replace", empty},
		}
		during := p.measureDuring(t, "erasure during reads", func() {
			readers.waitHeld(t, slowReaders)
			for _, args := range commands {
				start := time.Now()
				if _, err := s.tryAdmin(t.Context(), args...); err != nil {
					t.Errorf("customer-api %s, with %d slow readers open: %v", strings.Join(args[:2], " "), slowReaders, err)
				}
				t.Logf("%s: %v", strings.Join(args[:2], " "), time.Since(start).Round(time.Millisecond))
			}
		})
		if database == "" {
			for what, marker := range markers {
				for _, f := range []string{"customers.db", "customers.db-wal", "customers.db-shm"} {
					if data, err := os.ReadFile(filepath.Join(s.DataDir, f)); err == nil && bytes.Contains(data, []byte(marker)) {
						t.Errorf("%s: the erased customers' data is still in %s", what, f)
					}
				}
			}
		}
		during.check(t)
	})

	forged := forge(a.Bearer)
	for _, c := range []struct {
		test, name, refused string
		addresses, answers  int
		perAddress          float64
		creds               func(int) creds
	}{
		{"a flood of forged tokens from many addresses", "forged-token flood", "the flood (40 addresses × 30/s) was never refused: the global limit on failures did not hold",
			40, 2000, 30, func(int) creds { return creds{Bearer: forged, Token: a.Token, Tenant: a.Tenant} }},
		{"a leaked access token with made-up API tokens", "leaked access token", "the made-up API tokens (300/s from one address) were never refused",
			1, 500, 300, func(int) creds { return creds{Bearer: a.Bearer, Token: madeUpAPIToken(), Tenant: a.Tenant} }},
	} {
		t.Run(c.test, func(t *testing.T) {
			attack := startFlood(t, s, "org-small", c.addresses, c.perAddress, c.creds)
			defer attack.stop()
			during := p.measureDuring(t, c.name, func() { attack.waitAnswers(t, int64(c.answers)) })
			t.Logf("%s: %s", c.name, attack)
			if attack.tooMany.Load() == 0 {
				t.Errorf("%s", c.refused)
			}
			during.check(t)
		})
	}
}

// probe is tenant A's requests.
type probe struct {
	s      *server
	creds  creds
	org    string
	etag   string
	client *http.Client
}

func newProbe(t *testing.T, s *server, c creds, org string) *probe {
	p := &probe{s: s, creds: c, org: org, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}}}
	t.Cleanup(p.client.CloseIdleConnections)
	status, etag := p.get(t.Context(), c, "")
	if status != http.StatusOK || etag == "" {
		t.Fatalf("probe: first read %d, ETag %q", status, etag)
	}
	p.etag = etag
	return p
}

// get reads the organization with c and If-None-Match (when not empty), and returns the status
// and the ETag.
func (p *probe) get(ctx context.Context, c creds, ifNoneMatch string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.s.Base+apiPath+p.org, nil)
	if err != nil {
		return 0, ""
	}
	req.Header.Set("Authorization", c.Bearer)
	req.Header.Set("token", c.Token)
	req.Header.Set("tenantId", c.Tenant)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, ""
	}
	return resp.StatusCode, resp.Header.Get("ETag")
}

// sample is what A's requests met over one period.
type sample struct {
	durations []time.Duration
	refused   int // 429 or 503
	wrong     []string
}

// run sends A's requests at probeRate for probeDuration, each kind in turn.
func (p *probe) run(ctx context.Context) sample {
	wrongToken := creds{Bearer: p.creds.Bearer, Token: madeUpAPIToken(), Tenant: p.creds.Tenant}
	kinds := []struct {
		creds       creds
		ifNoneMatch string
		want        int
	}{
		{p.creds, "", http.StatusOK},
		{p.creds, p.etag, http.StatusNotModified},
		{wrongToken, "", http.StatusUnauthorized},
	}
	var mu sync.Mutex
	var out sample
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / probeRate)
	defer tick.Stop()
	for i := range int(probeDuration.Seconds() * probeRate) {
		<-tick.C
		k := kinds[i%len(kinds)]
		wg.Go(func() {
			start := time.Now()
			status, _ := p.get(ctx, k.creds, k.ifNoneMatch)
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			out.durations = append(out.durations, d)
			switch {
			case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
				out.refused++
			case status != k.want && len(out.wrong) < 5:
				out.wrong = append(out.wrong, fmt.Sprintf("%d for a request that wants %d", status, k.want))
			}
		})
	}
	wg.Wait()
	return out
}

// comparison is A's requests without and during one attack.
type comparison struct {
	name           string
	alone, during  sample
	p50, p99       float64 // during ÷ alone
	p99Alone, p99D time.Duration
}

// measureDuring measures A alone, then starts the attack (start returns once it is in full
// swing) and measures A again while it lasts.
func (p *probe) measureDuring(t *testing.T, name string, start func()) comparison {
	t.Helper()
	settledGoroutines(t, p.s) // what an earlier scenario left has ended
	c := comparison{name: name, alone: p.run(t.Context())}
	start()
	c.during = p.run(t.Context())
	pa, pd := percentile(c.alone.durations, 50), percentile(c.during.durations, 50)
	c.p99Alone, c.p99D = percentile(c.alone.durations, 99), percentile(c.during.durations, 99)
	c.p50, c.p99 = float64(pd)/float64(pa), float64(c.p99D)/float64(c.p99Alone)
	t.Logf("%s: tenant A's p50 %v → %v (%.2f×), p99 %v → %v (%.2f×); refused to A: %d alone, %d during; peak RSS %.0f MB",
		name, pa.Round(10*time.Microsecond), pd.Round(10*time.Microsecond), c.p50,
		c.p99Alone.Round(10*time.Microsecond), c.p99D.Round(10*time.Microsecond), c.p99,
		c.alone.refused, c.during.refused, p.s.peakRSSMB(t))
	return c
}

// check fails t when A was refused or got a wrong answer, and reports a p99 over the goal. The
// ratio is a measurement on a shared machine, not a bound a test can hold without depending on
// an idle machine: it is logged as a miss, and docs/reliability.md records it.
func (c comparison) check(t *testing.T) {
	t.Helper()
	if c.alone.refused+c.during.refused != 0 {
		t.Errorf("%s: tenant A was refused %d times (want 0)", c.name, c.alone.refused+c.during.refused)
	}
	if len(c.alone.wrong)+len(c.during.wrong) != 0 {
		t.Errorf("%s: tenant A got wrong answers: %q %q", c.name, c.alone.wrong, c.during.wrong)
	}
	if c.p99 > 2 {
		t.Logf("%s: GOAL MISSED: tenant A's p99 rose %.2f× (goal: at most 2×)", c.name, c.p99)
	}
}

// slowReaderSet keeps n connections of one tenant that ask for a large list, take its head, and
// read nothing more, each for holdFor, then opens it again.
const holdFor = 15 * time.Second

type slowReaderSet struct {
	opened, held, refused atomic.Int64
	cancel                context.CancelFunc
	wg                    sync.WaitGroup
}

func startSlowReaders(t *testing.T, s *server, c creds, org string, n int) *slowReaderSet {
	ctx, cancel := context.WithCancel(t.Context())
	r := &slowReaderSet{cancel: cancel}
	addr := strings.TrimPrefix(s.Base, "http://")
	for range n {
		r.wg.Go(func() {
			for ctx.Err() == nil {
				status, conn := stalledRequest(ctx, addr, c, org)
				r.opened.Add(1)
				switch status {
				case http.StatusOK:
					// Hold it past the server's write stall timeout (10 s), then come back: the
					// client cannot see the server give up without reading.
					r.held.Add(1)
					sleepCtx(ctx, holdFor)
					r.held.Add(-1)
				case http.StatusServiceUnavailable:
					r.refused.Add(1)
					sleepCtx(ctx, 200*time.Millisecond)
				default:
					sleepCtx(ctx, 200*time.Millisecond)
				}
				if conn != nil {
					conn.Close()
				}
			}
		})
	}
	return r
}

// waitHeld waits until n connections hold an answer they do not read.
func (r *slowReaderSet) waitHeld(t *testing.T, n int) {
	t.Helper()
	waitFor(t, 5*time.Minute, fmt.Sprintf("%d slow readers holding their answers", n), func() bool { return r.held.Load() >= int64(n) })
}

func (r *slowReaderSet) stop() {
	r.cancel()
	r.wg.Wait()
}

// flood sends requests from many loopback addresses (127.0.0.2 on), each at its own rate.
type flood struct {
	answers, tooMany, unauthorized, other atomic.Int64
	cancel                                context.CancelFunc
	wg                                    sync.WaitGroup
}

func startFlood(t *testing.T, s *server, org string, addresses int, perAddress float64, credsFor func(i int) creds) *flood {
	ctx, cancel := context.WithCancel(t.Context())
	f := &flood{cancel: cancel}
	for i := range addresses {
		ip := fmt.Sprintf("127.0.0.%d", 2+i)
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 64}}
		f.wg.Go(func() {
			defer client.CloseIdleConnections()
			var inFlight sync.WaitGroup
			defer inFlight.Wait()
			everyTick(ctx, time.Duration(float64(time.Second)/perAddress), func() {
				c := credsFor(i)
				inFlight.Go(func() {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+apiPath+org, nil)
					req.Header.Set("Authorization", c.Bearer)
					req.Header.Set("token", c.Token)
					req.Header.Set("tenantId", c.Tenant)
					resp, err := client.Do(req)
					if err != nil {
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					f.answers.Add(1)
					switch resp.StatusCode {
					case http.StatusTooManyRequests:
						f.tooMany.Add(1)
					case http.StatusUnauthorized:
						f.unauthorized.Add(1)
					default:
						f.other.Add(1)
					}
				})
			})
		})
	}
	return f
}

// waitAnswers waits until the flood has had n answers.
func (f *flood) waitAnswers(t *testing.T, n int64) {
	t.Helper()
	waitFor(t, 5*time.Minute, fmt.Sprintf("%d answers to the attack", n), func() bool { return f.answers.Load() >= n })
}

func (f *flood) stop() {
	f.cancel()
	f.wg.Wait()
}

func (f *flood) String() string {
	return fmt.Sprintf("%d answers: %d × 401, %d × 429, %d others", f.answers.Load(), f.unauthorized.Load(), f.tooMany.Load(), f.other.Load())
}

// forge returns the bearer with its signature changed: a token that costs a signature check and
// fails it.
func forge(bearer string) string {
	i := strings.LastIndexByte(bearer, '.') + 4
	b := []byte(bearer)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// madeUpAPIToken is an API token of the right form that the service never issued.
func madeUpAPIToken() string {
	id, secret := make([]byte, 16), make([]byte, 32)
	_, _ = rand.Read(id)
	_, _ = rand.Read(secret)
	return "cat_" + hex.EncodeToString(id) + "." + hex.EncodeToString(secret)
}

// readyzStatus is the status /readyz answers now (0: no answer).
func readyzStatus(base string) int {
	resp, err := plainClient.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
