package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/server"
	"github.com/cyrexa/customer-api/impl/store"
)

// largeSnapshot is a snapshot of n copies of one public customer (about 2.4 KB each): a body
// far larger than the socket buffers between a test's client and the server, which costs one
// validation.
func largeSnapshot(t *testing.T, n int) *apitest.Snapshot {
	t.Helper()
	doc, err := json.Marshal(publicCustomers(t, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	list := make([]store.Customer, n)
	for i := range list {
		list[i] = store.Customer{ID: fmt.Sprintf("cus-%05d", i), Document: doc}
	}
	return &apitest.Snapshot{V: "v-large", List: list}
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
