package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/apitest"
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
