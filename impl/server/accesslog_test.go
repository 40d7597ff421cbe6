package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/impl/apitest"
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
