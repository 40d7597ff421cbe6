package reliability

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// envEnable turns the suite on.
const envEnable = "CUSTOMER_API_RELIABILITY"

// envBinary names a customer-api binary to test instead of building one (a release build, or a
// build of another tree).
const envBinary = "CUSTOMER_API_RELIABILITY_BINARY"

// binary is the customer-api built once by TestMain; empty when the suite is off.
var binary string

func TestMain(m *testing.M) {
	if os.Getenv(envEnable) != "1" {
		os.Exit(m.Run()) // every test skips itself
	}
	if prebuilt := os.Getenv(envBinary); prebuilt != "" {
		binary = prebuilt
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "customer-api-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "customer-api")
	build := exec.Command("go", "build", "-o", binary, "./cmd/customer-api")
	build.Dir = ".." // the module root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "reliability: build customer-api:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireSuite skips t unless the suite is on.
func requireSuite(t *testing.T) {
	t.Helper()
	if binary == "" {
		t.Skipf("reliability suite skipped: set %s=1 to run it (minutes; see docs/reliability.md)", envEnable)
	}
}

// apiPath is where the lists are.
const apiPath = "/customer/1.0.0/organization/getCustomers/"

// server is one running `customer-api serve --dev`.
type server struct {
	Base     string // http://127.0.0.1:PORT
	Metrics  string // http://127.0.0.1:PORT/metrics
	DataDir  string
	Database string // --database, empty for <data-dir>/customers.db

	cmd    *exec.Cmd
	output *lockedBuffer // stdout and stderr, for failure messages
	exited chan struct{}
	err    error // the exit status, once exited is closed
	demo   creds // with --demo: the credentials of the curl line
}

// serverConfig says how to start a server.
type serverConfig struct {
	DataDir  string
	Database string
	Demo     bool
	Args     []string // more flags
}

var metricsLine = regexp.MustCompile(`customer-api metrics on (http://127\.0\.0\.1:\d+/metrics)`)
var listeningLine = regexp.MustCompile(`customer-api listening on (http://127\.0\.0\.1:\d+)/`)
var curlLine = regexp.MustCompile(`-H 'Authorization: ([^']+)' -H 'token: ([^']+)' -H 'tenantId: ([^']+)'`)

// startServer starts the binary with `serve --dev` on a free loopback port and waits until it
// listens (and, with Demo, has printed its curl line). The server is killed when t ends, unless
// the test stopped it.
func startServer(t testing.TB, cfg serverConfig) *server {
	t.Helper()
	// No rate limits: the suite measures the service, from one loopback address. Metrics on a
	// port of their own, found from the line serve prints.
	args := []string{"serve", "--dev", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", cfg.DataDir,
		"--rate-limit", "0", "--client-rate-limit", "0", "--global-rate-limit", "0", "--log-level", "warn"}
	if cfg.Database != "" {
		args = append(args, "--database", cfg.Database)
	}
	if cfg.Demo {
		args = append(args, "--demo")
	}
	args = append(args, cfg.Args...)
	s := &server{DataDir: cfg.DataDir, Database: cfg.Database, output: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(binary, args...)
	s.cmd.Env = cleanEnv()
	s.cmd.Stderr = s.output
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start customer-api: %v", err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.output.Write(append(sc.Bytes(), '\n'))
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("customer-api output (last 4 KiB):\n%s", s.output.Tail(4096))
		}
	})
	deadline := time.After(90 * time.Second) // a build-loaded machine; a failure, not a wait
	for s.Base == "" || s.Metrics == "" || cfg.Demo && s.demo.Bearer == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				<-s.exited
				t.Fatalf("customer-api exited before it listened (%v):\n%s", s.err, s.output.Tail(4096))
			}
			if m := metricsLine.FindStringSubmatch(line); m != nil {
				s.Metrics = m[1]
			}
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				s.Base = m[1]
			}
			if m := curlLine.FindStringSubmatch(line); m != nil {
				s.demo = creds{Bearer: m[1], Token: m[2], Tenant: m[3]}
			}
		case <-deadline:
			t.Fatalf("customer-api did not listen within 90s:\n%s", s.output.Tail(4096))
		}
	}
	return s
}

// cleanEnv is the environment without CUSTOMER_API_* variables, so that a developer's settings
// do not change what the suite starts.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CUSTOMER_API_") {
			env = append(env, kv)
		}
	}
	return env
}

// PID is the server's process id.
func (s *server) PID() int { return s.cmd.Process.Pid }

// dataEnv is the environment of a command that points it at the server's data: the variables
// of --data-dir and --database, which hold wherever the command's own flags and arguments go.
func (s *server) dataEnv() []string {
	env := append(cleanEnv(), "CUSTOMER_API_DATA_DIR="+s.DataDir)
	if s.Database != "" {
		env = append(env, "CUSTOMER_API_DATABASE="+s.Database)
	}
	return env
}

// admin runs a command of the binary against the server's data and returns its stdout.
func (s *server) admin(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.tryAdmin(t.Context(), args...)
	if err != nil {
		t.Fatalf("customer-api %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// tryAdmin is admin that returns the error, with the command's stderr in it.
func (s *server) tryAdmin(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = s.dataEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// creds are one tenant's credentials.
type creds struct{ Bearer, Token, Tenant string }

// credentials makes an access token and an API token for tenant.
func (s *server) credentials(t testing.TB, tenant string) creds {
	t.Helper()
	// dev-token needs only the data directory, where serve --dev keeps its key.
	out, err := exec.CommandContext(t.Context(), binary, "dev-token", "--tenant", tenant, "--ttl", "2h", "--data-dir", s.DataDir).Output()
	if err != nil {
		t.Fatalf("customer-api dev-token: %v", err)
	}
	bearer := strings.TrimSpace(string(out))
	// tokens refuses a database that holds no data (a wrong --data-dir, most likely): give the
	// tenant an empty organization first.
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.importFile(t, tenant, "org-empty", empty)
	token := strings.TrimSpace(s.admin(t, "tokens", "issue", "--tenant", tenant, "--name", "reliability"))
	return creds{Bearer: "Bearer " + bearer, Token: token, Tenant: tenant}
}

// importFile imports file into tenant/org with the binary and returns its summary line.
func (s *server) importFile(t testing.TB, tenant, org, file string) string {
	t.Helper()
	return s.admin(t, "import", "--tenant", tenant, "--organization", org, file)
}

// signal sends sig to the server.
func (s *server) signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// goroutines reads go_goroutines from the server's /metrics.
func (s *server) goroutines(t testing.TB) int {
	t.Helper()
	return int(s.metric(t, "go_goroutines"))
}

// metric reads an unlabelled sample from /metrics.
func (s *server) metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := plainClient.Get(s.Metrics)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metrics: %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("metrics: no %s", name)
	return 0
}

// rssMB is the server's resident set in MB, from /proc.
func (s *server) rssMB(t testing.TB) float64 { return s.procStatusMB(t, "VmRSS") }

// peakRSSMB is the server's peak resident set so far (VmHWM), in MB.
func (s *server) peakRSSMB(t testing.TB) float64 { return s.procStatusMB(t, "VmHWM") }

// procStatusMB is a field of the server's /proc status given in kB (VmRSS, VmHWM), in MB.
func (s *server) procStatusMB(t testing.TB, field string) float64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil {
		t.Fatalf("rss: %v", err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				t.Fatalf("rss: %q: %v", line, err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("rss: no %s", field)
	return 0
}

// everyTick calls f once an interval until ctx is done.
func everyTick(ctx context.Context, interval time.Duration, f func()) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-tick.C:
			f()
		case <-ctx.Done():
		}
	}
}

// plainClient is for health, readiness and metrics: short timeouts, no connection reuse.
var plainClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// newLoadClient is a client for n concurrent workers: one kept-alive connection each, no
// transparent gzip (so Content-Length is the body's), and a timeout that marks a hang.
func newLoadClient(n int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true,
	}}
}

// target is one list a load reads.
type target struct {
	Creds creds
	Org   string
	Size  int // customers expected; anyList: any complete array; bySum: judged later by Sum
	// ReadRate, when set, is how many bytes a second the client reads: a slow client, whose
	// request stays in flight on the server while the body streams.
	ReadRate int
}

// Sizes of a target whose exact length is not known in advance.
const (
	anyList = -1 // a complete JSON array of any length
	bySum   = -2 // only hashed (large bodies); the test compares Sum to the bodies it expects
)

// result is what one request got.
type result struct {
	Target   *target
	Start    time.Time
	Duration time.Duration
	Status   int   // 0 when no response arrived
	Err      error // a transport error before the response, or a body that did not arrive whole
	Refused  bool  // connection refused: never accepted
	Accepted bool  // a response (status line and headers) arrived
	Problem  string
	ETag     string
	Sum      [32]byte
	Bytes    int
}

// Failed reports whether an accepted request failed: a status other than 200, 304 or a 503 with
// Retry-After, a truncated or invalid body, or a 200 without ETag.
func (r *result) Failed() bool { return r.Accepted && r.Problem != "" }

// Shed reports a 503 with Retry-After: the service declined the request, as documented.
func (r *result) Shed() bool { return r.Status == http.StatusServiceUnavailable && r.Problem == "" }

// fetch reads tg's list once, in full, and checks what arrived.
func fetch(ctx context.Context, client *http.Client, base string, tg *target) result {
	return fetchWatched(ctx, client, base, tg, nil)
}

// fetchWatched is fetch that calls onHeaders (when not nil) once the response headers arrived.
func fetchWatched(ctx context.Context, client *http.Client, base string, tg *target, onHeaders func()) (r result) {
	r = result{Target: tg, Start: time.Now()}
	defer func() { r.Duration = time.Since(r.Start) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+apiPath+tg.Org, nil)
	if err != nil {
		r.Err = err
		return r
	}
	req.Header.Set("Authorization", tg.Creds.Bearer)
	req.Header.Set("token", tg.Creds.Token)
	req.Header.Set("tenantId", tg.Creds.Tenant)
	resp, err := client.Do(req)
	if err != nil {
		r.Err = err
		r.Refused = errors.Is(err, syscall.ECONNREFUSED)
		return r
	}
	defer resp.Body.Close()
	r.Accepted, r.Status, r.ETag = true, resp.StatusCode, resp.Header.Get("ETag")
	if onHeaders != nil {
		onHeaders()
	}
	var src io.Reader = resp.Body
	if tg.ReadRate > 0 {
		src = &slowReader{r: resp.Body, rate: tg.ReadRate}
	}
	var body []byte
	h := sha256.New()
	if tg.Size == bySum && resp.StatusCode == http.StatusOK {
		// Large bodies are hashed as they arrive, not held.
		var n int64
		n, err = io.Copy(h, src)
		r.Bytes = int(n)
	} else {
		body, err = io.ReadAll(src)
		h.Write(body)
		r.Bytes = len(body)
	}
	h.Sum(r.Sum[:0])
	switch {
	case err != nil:
		r.Err, r.Problem = err, "truncated body: "+err.Error()
	case resp.ContentLength >= 0 && int64(r.Bytes) != resp.ContentLength:
		r.Problem = fmt.Sprintf("truncated body: %d of %d bytes", r.Bytes, resp.ContentLength)
	case resp.StatusCode == http.StatusOK && tg.Size == bySum:
		if r.ETag == "" {
			r.Problem = "200 without ETag"
		}
	case resp.StatusCode == http.StatusOK:
		r.Problem = checkList(body, tg.Size)
		if r.Problem == "" && r.ETag == "" {
			r.Problem = "200 without ETag"
		}
	case resp.StatusCode == http.StatusServiceUnavailable:
		if resp.Header.Get("Retry-After") == "" {
			r.Problem = "503 without Retry-After"
		}
	default:
		r.Problem = fmt.Sprintf("status %d: %.200s", resp.StatusCode, body)
	}
	return r
}

// checkList returns what is wrong with a 200 body, or "".
func checkList(body []byte, size int) string {
	if size == anyList {
		if !json.Valid(body) || len(body) < 2 || body[0] != '[' || body[len(body)-1] != ']' {
			return fmt.Sprintf("not a complete JSON array (%d bytes)", len(body))
		}
		return ""
	}
	var list []struct {
		Customer struct {
			ID string `json:"id"`
		} `json:"customer"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Sprintf("not a JSON array of customers (%d bytes): %v", len(body), err)
	}
	if len(list) != size {
		return fmt.Sprintf("%d customers, want %d", len(list), size)
	}
	return ""
}

// loadSpec is a bounded load: Workers goroutines for at most Duration and at most MaxRequests
// requests; at Rate requests per second in total when Rate > 0, else each worker as fast as it
// can (closed loop).
type loadSpec struct {
	Workers     int
	Duration    time.Duration
	MaxRequests int
	Rate        float64
	Timeout     time.Duration // per request; 0: 30s
	Targets     []*target
}

// loadRun is a load running in the background.
type loadRun struct {
	mu      sync.Mutex
	results []result
	headers atomic.Int64 // responses whose headers arrived
	missed  int          // ticks of an open-loop load that found every worker busy
	stop    context.CancelFunc
	done    chan struct{}
}

// startLoad starts spec against base; Wait returns the results.
func startLoad(ctx context.Context, base string, spec loadSpec) *loadRun {
	if spec.Timeout == 0 {
		spec.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, spec.Duration)
	l := &loadRun{stop: cancel, done: make(chan struct{})}
	client := newLoadClient(spec.Workers, spec.Timeout)
	var budget sync.Mutex
	left := spec.MaxRequests
	take := func() bool {
		budget.Lock()
		defer budget.Unlock()
		if left <= 0 {
			return false
		}
		left--
		return true
	}
	var ticks chan struct{}
	if spec.Rate > 0 {
		ticks = make(chan struct{}, spec.Workers)
		go everyTick(ctx, time.Duration(float64(time.Second)/spec.Rate), func() {
			select {
			case ticks <- struct{}{}:
			default:
				l.mu.Lock()
				l.missed++
				l.mu.Unlock()
			}
		})
	}
	var wg sync.WaitGroup
	for w := range spec.Workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i += spec.Workers {
				if ticks != nil {
					select {
					case <-ctx.Done():
						return
					case <-ticks:
					}
				}
				if !take() {
					return
				}
				// A request in flight finishes on its own timeout, not the load's end.
				r := fetchWatched(context.WithoutCancel(ctx), client, base, spec.Targets[i%len(spec.Targets)], func() { l.headers.Add(1) })
				l.mu.Lock()
				l.results = append(l.results, r)
				l.mu.Unlock()
				if r.Refused {
					time.Sleep(50 * time.Millisecond) // the listener is gone: do not spin
				}
			}
		})
	}
	go func() {
		wg.Wait()
		cancel()
		client.CloseIdleConnections()
		close(l.done)
	}()
	return l
}

// Stop ends the load early; requests in flight finish.
func (l *loadRun) Stop() { l.stop() }

// Wait waits for the load to end and returns its results.
func (l *loadRun) Wait() []result {
	<-l.done
	return l.snapshot()
}

// snapshot is the results so far.
func (l *loadRun) snapshot() []result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.results)
}

// count is how many results are in.
func (l *loadRun) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.results)
}

// waitFor waits until cond holds, polling every 20 ms, and fails t after limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// tally counts results by outcome.
type tally struct {
	OK, NotModified, Shed, Failed, Refused, OtherTransport int
	FirstFailures                                          []string
}

func count(results []result) tally {
	var c tally
	for _, r := range results {
		switch {
		case r.Failed():
			c.Failed++
			if len(c.FirstFailures) < 5 {
				c.FirstFailures = append(c.FirstFailures, fmt.Sprintf("%s: %s", r.Target.Org, r.Problem))
			}
		case r.Refused:
			c.Refused++
		case !r.Accepted:
			c.OtherTransport++
			if len(c.FirstFailures) < 5 {
				c.FirstFailures = append(c.FirstFailures, fmt.Sprintf("%s: %v", r.Target.Org, r.Err))
			}
		case r.Shed():
			c.Shed++
		case r.Status == http.StatusNotModified:
			c.NotModified++
		default:
			c.OK++
		}
	}
	return c
}

func (c tally) String() string {
	return fmt.Sprintf("200: %d, 304: %d, 503+Retry-After: %d, failed: %d, refused: %d, other transport errors: %d",
		c.OK, c.NotModified, c.Shed, c.Failed, c.Refused, c.OtherTransport)
}

// percentile is the p-th percentile (0..100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// slowReader reads at most rate bytes a second.
type slowReader struct {
	r    io.Reader
	rate int
}

func (s *slowReader) Read(p []byte) (int, error) {
	const chunk = 16 << 10
	n, err := s.r.Read(p[:min(len(p), chunk)])
	time.Sleep(time.Duration(float64(n) / float64(s.rate) * float64(time.Second)))
	return n, err
}

// stalledRequest sends the GET from a connection with the smallest receive buffer, reads the
// status line and headers a byte at a time (so that no body byte is taken), and returns the
// status and the connection.
func stalledRequest(ctx context.Context, addr string, c creds, org string) (int, net.Conn) {
	dialer := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, nil
	}
	fmt.Fprintf(conn, "GET %s%s HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: identity\r\nAuthorization: %s\r\ntoken: %s\r\ntenantId: %s\r\n\r\n",
		apiPath, org, addr, c.Bearer, c.Token, c.Tenant)
	conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
	r := bufio.NewReaderSize(conn, 16)
	var head strings.Builder
	for !strings.HasSuffix(head.String(), "\r\n\r\n") {
		b, err := r.ReadByte()
		if err != nil {
			return 0, conn
		}
		head.WriteByte(b)
	}
	conn.SetReadDeadline(time.Time{})
	line, _, _ := strings.Cut(head.String(), "\r\n")
	var proto string
	var status int
	fmt.Sscan(line, &proto, &status) // 0 when it is no status line
	return status, conn
}

// sleepCtx sleeps for d, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (n int, err error) {
	b.mu.Lock()
	n, err = b.buf.Write(p)
	b.mu.Unlock()
	return n, err
}

// Tail is the last n bytes written.
func (b *lockedBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	return string(s[max(0, len(s)-n):])
}

// String is everything written.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
