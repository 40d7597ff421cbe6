package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/apitest"
)

// TestServeRedactsTheOTLPEndpoint starts serve with an OTLP endpoint that holds credentials (as
// collectors behind an authenticating proxy take them) and reads what it logs.
func TestServeRedactsTheOTLPEndpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel:s3cret-pw@127.0.0.1:1/otlp?api_key=s3cret-key&region=eu")
	logs := &apitest.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--dev", "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--data-dir", t.TempDir()},
			nil, io.Discard, logs)
	}()
	const want = `"endpoint":"https://otel:***@127.0.0.1:1/otlp?api_key=***&region=eu","set_by":"OTEL_EXPORTER_OTLP_ENDPOINT"`
	deadline := time.After(60 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"listening"`) {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, logs.String())
		case <-deadline:
			t.Fatalf("serve did not start listening:\n%s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
	if !strings.Contains(logs.String(), want) {
		t.Errorf("no tracing line with %s:\n%s", want, logs.String())
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("a credential of the OTLP endpoint was logged:\n%s", logs.String())
	}
}
