package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/server"
	"github.com/cyrexa/customer-api/impl/store"
)

// hangingStore answers the read of customers only when the request is cancelled, and says
// when the read has begun.
type hangingStore struct {
	store.Store
	reading chan<- struct{}
}

func (b hangingStore) ReadOrganization(ctx context.Context, _, _ string) (store.Snapshot, error) {
	close(b.reading)
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestAClientThatWentAwayIsLoggedAt499AndInfo(t *testing.T) {
	base := apitest.MustStart(t)
	base.MustImport(t, "tenant-a", "org-a")
	reading := make(chan struct{})
	env := apitest.MustStartWith(t, base.Contract, hangingStore{Store: base.Store, reading: reading})
	env.MustImport(t, "tenant-a", "org-a")

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.URL+"/organization/getCustomers/org-a", nil)
	for k, v := range env.Headers(t, "tenant-a") {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Request-Id", "gone-client-1")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-reading // the request is in the handler
	cancel()  // the client hangs up
	if err := <-done; err == nil {
		t.Fatal("the cancelled request got an answer")
	}

	line := env.MustAccessLine(t, "gone-client-1")
	if line["status"] != float64(499) || line["level"] != "INFO" {
		t.Errorf("access line: status %v, level %v; want 499 at INFO", line["status"], line["level"])
	}
	for _, l := range strings.Split(env.Logs.String(), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(l), &entry) == nil && entry["request_id"] == "gone-client-1" && entry["level"] == "ERROR" {
			t.Errorf("a client that went away was logged as an error: %s", l)
		}
	}
}

func TestAClientThatHangsUpRightAfterReadingGotItsAnswer(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, "tenant-a", "org-a", publicCustomers(t, 3)...)
	headers := env.Headers(t, "tenant-a")
	for i := range 40 {
		id := fmt.Sprintf("hang-up-%d", i)
		// A connection of its own, closed as soon as the whole answer is in.
		transport := &http.Transport{DisableKeepAlives: true}
		req, _ := http.NewRequest(http.MethodGet, env.URL+"/organization/getCustomers/org-a", nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		req.Header.Set("X-Request-Id", id)
		resp, err := transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d, %v", id, resp.StatusCode, err)
		}
		resp.Body.Close()
		transport.CloseIdleConnections()
		line := env.MustAccessLine(t, id)
		if line["status"] != float64(http.StatusOK) || line["customers"] != float64(3) {
			t.Fatalf("%s: access line status %v, customers %v; want 200 and 3: the client had the whole answer", id, line["status"], line["customers"])
		}
	}
}

func TestAnAnswerCutShortCountsTheCustomersSent(t *testing.T) {
	base := apitest.MustStart(t)
	large := largeSnapshot(t, 8000)
	env := apitest.MustStartWith(t, base.Contract, snapshotStore{Store: base.Store, snapshot: func() store.Snapshot { return large }},
		apitest.WithDeps(func(d *server.Deps) { d.Lists = listing.Options{CacheBytes: -1, SpoolDir: t.TempDir()} }))
	conn, status := stalledGet(t, env, tenant, "org-1")
	if status != "HTTP/1.1 200 OK" {
		t.Fatalf("got %q", status)
	}
	// Take some of the body, then hang up with the rest unread.
	if _, err := io.ReadFull(conn, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	var line map[string]any
	for line == nil {
		for _, l := range accessLines(t, env) {
			if strings.Contains(fmt.Sprint(l["route"]), "getCustomers") {
				line = l
			}
		}
		if line == nil {
			select {
			case <-env.Logs.Next():
			case <-time.After(30 * time.Second):
				t.Fatalf("no access line:\n%s", env.Logs.String())
			}
		}
	}
	// The client had at least the customers whole in its first MiB, less the last 64 KiB (the
	// count is kept in steps of 64 KiB of the body).
	entry := len(large.List[0].Document) + len(`,{"customer":}`)
	least := (1<<20-64<<10)/entry - 1
	n, _ := line["customers"].(float64)
	if line["status"] != float64(499) || int(n) < least || n >= 8000 {
		t.Errorf("access line status %v, customers %v: want 499 with the customers the client had, at least %d and fewer than 8000", line["status"], line["customers"], least)
	}
}

// timingOutWriter takes the first n bytes, then fails as a connection past its write deadline.
type timingOutWriter struct {
	*httptest.ResponseRecorder
	n int
}

func (w *timingOutWriter) Write(b []byte) (int, error) {
	if len(b) <= w.n {
		w.n -= len(b)
		return w.ResponseRecorder.Write(b)
	}
	took, _ := w.ResponseRecorder.Write(b[:w.n])
	w.n = 0
	return took, os.ErrDeadlineExceeded
}

func TestTheAccessLineRecordsWhatWasReallyWritten(t *testing.T) {
	var logs bytes.Buffer
	e := echo.New()
	e.Use(server.AccessLog(slog.New(slog.NewJSONHandler(&logs, nil)), server.NewMetrics()))
	e.GET("/big", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/octet-stream", bytes.Repeat([]byte("x"), 10_000))
	})
	w := &timingOutWriter{ResponseRecorder: httptest.NewRecorder(), n: 4096}
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/big", nil))

	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("access line %q: %v", logs.String(), err)
	}
	if line["bytes"] != float64(4096) {
		t.Errorf("bytes = %v, want the 4096 really written", line["bytes"])
	}
	if msg, _ := line["write_error"].(string); !strings.Contains(msg, "timeout") {
		t.Errorf("write_error = %q, want the timeout", msg)
	}
	if line["level"] != "WARN" {
		t.Errorf("level = %v, want WARN", line["level"])
	}
}

func TestARequestWhoseClientLeftAfterTheWholeAnswerKeepsItsStatus(t *testing.T) {
	var logs apitest.SyncBuffer
	e := echo.New()
	e.Use(server.AccessLog(slog.New(slog.NewJSONHandler(&logs, nil)), server.NewMetrics()))
	e.GET("/whole", func(c echo.Context) error {
		c.Response().Header().Set("Content-Length", "9") // the whole answer, before the handler returns
		if err := c.Blob(http.StatusOK, "text/plain", []byte("all of it")); err != nil {
			return err
		}
		c.Response().Flush()
		<-c.Request().Context().Done() // the client has the answer, and hangs up
		return nil
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	transport := &http.Transport{DisableKeepAlives: true}
	resp, err := transport.RoundTrip(httptest.NewRequest(http.MethodGet, srv.URL+"/whole", nil))
	if err != nil {
		t.Fatal(err)
	}
	if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "all of it" {
		t.Fatalf("body %q, %v", body, err)
	}
	resp.Body.Close()
	transport.CloseIdleConnections()
	for !strings.Contains(logs.String(), `"msg":"request"`) {
		<-logs.Next()
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
		t.Fatal(err)
	}
	if line["status"] != float64(http.StatusOK) {
		t.Errorf("status %v, want 200: the client left after it had the whole answer", line["status"])
	}
}

// TestEveryRequestLeavesOneAuditLine checks the access log's audit facts: who, what, how it
// ended, how many customers, and the request id; and never a credential.
func TestEveryRequestLeavesOneAuditLine(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, tenant, "org-1", demoCustomers(t, demo.WholesaleOrganizationID)...)

	resp := getCustomers(t, env, tenant, "org-1")
	if resp.StatusCode() != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode())
	}
	id := resp.HTTPResponse.Header.Get("X-Request-Id")
	// The line is written once the answer has gone, so it may trail the response a little.
	var lines []map[string]any
	for deadline := time.Now().Add(5 * time.Second); len(lines) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(env.Logs.String(), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == "request" && entry["request_id"] == id {
				lines = append(lines, entry)
			}
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d audit lines for request %s, want 1:\n%s", len(lines), id, env.Logs.String())
	}
	line := lines[0]
	want := map[string]any{
		"tenant": tenant, "subject": "integration-" + tenant, "organization": "org-1",
		"status": float64(200), "customers": float64(len(*resp.JSON200)),
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("audit %s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration_ms"]; !ok {
		t.Error("audit line without latency")
	}
	// Credentials: apitest fails the test if a token it made appears in the logs. Personal data:
	for _, c := range *resp.JSON200 {
		if strings.Contains(env.Logs.String(), *c.Customer.Person.Email) {
			t.Fatalf("a customer's email was logged")
		}
	}
}

// largeSnapshot is a snapshot of n copies of one public customer (about 2.4 KB each): a body
// far larger than the socket buffers between a test's client and the server, which costs one
// validation.
func largeSnapshot(t *testing.T, n int) *memSnapshot {
	t.Helper()
	doc, err := json.Marshal(publicCustomers(t, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	list := make([]store.Customer, n)
	for i := range list {
		list[i] = store.Customer{ID: fmt.Sprintf("cus-%05d", i), Document: doc}
	}
	return &memSnapshot{V: "v-large", List: list}
}

// countingStore counts the snapshots open (each holds a database connection in a real store).
type countingStore struct {
	snapshotStore
	open *atomic.Int64
}

func (c countingStore) ReadOrganization(ctx context.Context, tenantID, organizationID string) (store.Snapshot, error) {
	snap, err := c.snapshotStore.ReadOrganization(ctx, tenantID, organizationID)
	if err != nil {
		return nil, err
	}
	c.open.Add(1)
	return &countedSnapshot{Snapshot: snap, open: c.open}, nil
}

type countedSnapshot struct {
	store.Snapshot
	open   *atomic.Int64
	closed atomic.Bool
}

func (s *countedSnapshot) Close() error {
	if !s.closed.Swap(true) {
		s.open.Add(-1)
	}
	return s.Snapshot.Close()
}

// stalledGet sends a GET of the list from a connection whose receive buffer is as small as the
// kernel allows, reads the status line and headers, and then reads nothing more: a client that
// stopped reading. It returns the connection and the status line.
func stalledGet(t *testing.T, env *apitest.Env, tenantID, organizationID string) (net.Conn, string) {
	t.Helper()
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var setErr error
		err := c.Control(func(fd uintptr) { setErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return setErr
	}}
	conn, err := dialer.DialContext(t.Context(), "tcp", env.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s/organization/getCustomers/%s HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: identity\r\n", strings.TrimPrefix(env.URL, "http://"+env.Addr), organizationID, env.Addr)
	for k, v := range env.Headers(t, tenantID) {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	if _, err := conn.Write([]byte(req.String())); err != nil {
		t.Fatal(err)
	}
	// One byte at a time, so that nothing of the body is taken.
	r := bufio.NewReaderSize(conn, 16)
	var head strings.Builder
	for !strings.HasSuffix(head.String(), "\r\n\r\n") {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("read the answer's head: %v (so far %q)", err, head.String())
		}
		head.WriteByte(b)
	}
	status, _, _ := strings.Cut(head.String(), "\r\n")
	return conn, status
}

func TestASlowClientHoldsNoReadSlotNorConnection(t *testing.T) {
	base := apitest.MustStart(t)
	large := largeSnapshot(t, 8000) // about 19 MB
	var open atomic.Int64
	st := countingStore{snapshotStore: snapshotStore{Store: base.Store, snapshot: func() store.Snapshot { return large }}, open: &open}
	env := apitest.MustStartWith(t, base.Contract, st, apitest.WithDeps(func(d *server.Deps) {
		// One read slot; a read that finds it taken is refused at once.
		d.Lists = listing.Options{MaxReads: 1, QueueTimeout: 50 * time.Millisecond, CacheBytes: -1, SpoolDir: t.TempDir(), WriteStall: time.Minute}
	}))
	_, status := stalledGet(t, env, tenant, "org-1")
	if status != "HTTP/1.1 200 OK" {
		t.Fatalf("the slow client got %q", status)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d snapshots (database connections) stay open while the client does not read", n)
	}
	// The only slot is free for others while the first client is still stalled.
	for _, other := range []string{tenant, "tenant-other"} {
		resp := getCustomers(t, env, other, "org-1")
		if resp.StatusCode() != http.StatusOK || resp.JSON200 == nil || len(*resp.JSON200) != 8000 {
			t.Errorf("a read of %s beside the slow client: %d; want 200 with 8000 customers", other, resp.StatusCode())
		}
	}
}

func TestAClientThatStopsReadingIsDroppedAfterTheStall(t *testing.T) {
	base := apitest.MustStart(t)
	large := largeSnapshot(t, 8000)
	env := apitest.MustStartWith(t, base.Contract, snapshotStore{Store: base.Store, snapshot: func() store.Snapshot { return large }},
		apitest.WithDeps(func(d *server.Deps) {
			d.Lists = listing.Options{CacheBytes: -1, SpoolDir: t.TempDir(), WriteStall: 100 * time.Millisecond}
		}))
	conn, status := stalledGet(t, env, tenant, "org-1")
	if status != "HTTP/1.1 200 OK" {
		t.Fatalf("the slow client got %q", status)
	}
	// The access line is written once the server has given up on the client.
	var line map[string]any
	// Well within the server's 60 s write timeout: the stall, not the timeout, drops it.
	deadline := time.After(30 * time.Second)
	for line == nil {
		for _, l := range accessLines(t, env) {
			if l["route"] != nil && strings.Contains(fmt.Sprint(l["route"]), "getCustomers") {
				line = l
			}
		}
		if line == nil {
			select {
			case <-env.Logs.Next():
			case <-deadline:
				t.Fatalf("no access line for the stalled read:\n%s", env.Logs.String())
			}
		}
	}
	if !strings.Contains(fmt.Sprint(line["write_error"]), "timeout") || line["level"] != "WARN" {
		t.Errorf("access line %v: want a write timeout at warn", line)
	}
	if n, ok := line["customers"].(float64); !ok || n >= 8000 {
		t.Errorf("customers %v: want those the client received whole, fewer than 8000", line["customers"])
	}
	// The server has closed the connection: reading it to the end ends, short of the body.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	var got int
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		got += n
		if err != nil {
			break
		}
	}
	if got >= 8000*2000 {
		t.Errorf("the client could still read %d bytes after the stall", got)
	}
}

// accessLines returns the access log lines written so far.
func accessLines(t *testing.T, env *apitest.Env) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for l := range strings.Lines(env.Logs.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	return lines
}

func TestOneTenantCannotHoldEveryReadSlot(t *testing.T) {
	base := apitest.MustStart(t)
	base.MustImport(t, tenant, "org-1", publicCustomers(t, 2)...)
	base.MustImport(t, "tenant-other", "org-1", publicCustomers(t, 2)...)
	blocking := tenantBlockingStore{Store: base.Store, tenant: tenant, began: make(chan struct{}, 2), release: make(chan struct{})}
	env := apitest.MustStartWith(t, base.Contract, blocking, apitest.WithDeps(func(d *server.Deps) {
		d.Lists = listing.Options{MaxReads: 2, MaxReadsPerTenant: 1, QueueTimeout: 50 * time.Millisecond, CacheBytes: -1}
	}))
	first := make(chan int, 1)
	go func() { first <- getCustomers(t, env, tenant, "org-1").StatusCode() }()
	<-blocking.began // the tenant's read holds its only slot (and one of the two in all)
	if resp := getCustomers(t, env, tenant, "org-1"); resp.StatusCode() != http.StatusServiceUnavailable {
		t.Errorf("the same tenant's second read: %d, want 503", resp.StatusCode())
	}
	if resp := getCustomers(t, env, "tenant-other", "org-1"); resp.StatusCode() != http.StatusOK {
		t.Errorf("another tenant's read beside it: %d, want 200", resp.StatusCode())
	}
	close(blocking.release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("the held read answered %d", code)
	}
}

// tenantBlockingStore holds one tenant's reads of customers until release is closed.
type tenantBlockingStore struct {
	store.Store
	tenant  string
	began   chan struct{}
	release chan struct{}
}

func (b tenantBlockingStore) ReadOrganization(ctx context.Context, tenantID, organizationID string) (store.Snapshot, error) {
	if tenantID == b.tenant {
		b.began <- struct{}{}
		<-b.release
	}
	return b.Store.ReadOrganization(ctx, tenantID, organizationID)
}
