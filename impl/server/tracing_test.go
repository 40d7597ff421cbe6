package server_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/server"
)

// serverSpans records ended spans and says when a request's server span has ended: it ends
// after the answer has gone, so it may trail the response and the access line.
type serverSpans struct {
	*tracetest.SpanRecorder
	mu    sync.Mutex
	ended map[trace.TraceID]chan struct{}
}

func newServerSpans() *serverSpans {
	return &serverSpans{SpanRecorder: tracetest.NewSpanRecorder(), ended: map[trace.TraceID]chan struct{}{}}
}

func (s *serverSpans) done(id trace.TraceID) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended[id] == nil {
		s.ended[id] = make(chan struct{})
	}
	return s.ended[id]
}

func (s *serverSpans) OnEnd(span sdktrace.ReadOnlySpan) {
	s.SpanRecorder.OnEnd(span)
	if span.SpanKind() == trace.SpanKindServer {
		close(s.done(span.SpanContext().TraceID()))
	}
}

// trace waits for the server span of the trace to end and returns the trace's spans.
func (s *serverSpans) trace(t *testing.T, id trace.TraceID) (root sdktrace.ReadOnlySpan, children map[string]sdktrace.ReadOnlySpan) {
	t.Helper()
	<-s.done(id)
	children = map[string]sdktrace.ReadOnlySpan{}
	for _, span := range s.Ended() {
		if span.SpanContext().TraceID() != id {
			continue
		}
		if span.SpanKind() == trace.SpanKindServer {
			root = span
		} else {
			children[span.Name()] = span
		}
	}
	for name, child := range children {
		if child.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Errorf("span %q is not a child of the request's span %q", name, root.Name())
		}
	}
	return root, children
}

func TestTracesASpanPerRequestWithChildSpansAndTheTraceIDInTheAccessLine(t *testing.T) {
	t.Parallel()
	spans := newServerSpans()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	env := apitest.MustStart(t, apitest.WithDeps(func(d *server.Deps) { d.TracerProvider = tp }))
	env.MustImport(t, "tenant-a", "org-1", demoCustomers(t, demo.WholesaleOrganizationID)...)

	get := func(t *testing.T, org, requestID, traceparent string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, env.URL+"/organization/getCustomers/"+org, nil)
		for k, v := range env.Headers(t, "tenant-a") {
			req.Header.Set(k, v)
		}
		req.Header.Set("X-Request-Id", requestID)
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	t.Run("a traceparent from the client continues its trace", func(t *testing.T) {
		clientTrace, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
		clientSpan, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
		get(t, "org-1", "traced-1", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")

		line := env.MustAccessLine(t, "traced-1")
		root, children := spans.trace(t, clientTrace)
		if root == nil {
			t.Fatal("no server span in the client's trace")
		}
		if root.Parent().SpanID() != clientSpan || !root.Parent().IsRemote() {
			t.Errorf("the server span's parent is %v, want the client's span %v", root.Parent().SpanID(), clientSpan)
		}
		if want := "GET /customer/1.0.0/organization/getCustomers/:organizationId"; root.Name() != want {
			t.Errorf("server span %q, want %q", root.Name(), want)
		}
		for _, name := range []string{"authenticate", "read and write customers"} {
			if children[name] == nil {
				t.Errorf("no %q span in the request's trace; spans: %v", name, names(children))
			}
		}
		if line["trace_id"] != clientTrace.String() || line["span_id"] != root.SpanContext().SpanID().String() {
			t.Errorf("access line has trace_id %v and span_id %v; want %s and %s", line["trace_id"], line["span_id"],
				clientTrace, root.SpanContext().SpanID())
		}
	})

	t.Run("without a traceparent a new trace starts; an error response is validated in a span", func(t *testing.T) {
		get(t, "org-unknown", "traced-2", "")
		line := env.MustAccessLine(t, "traced-2")
		id, err := trace.TraceIDFromHex(line["trace_id"].(string))
		if err != nil || !id.IsValid() {
			t.Fatalf("access line trace_id %v: %v", line["trace_id"], err)
		}
		root, children := spans.trace(t, id)
		if root.Parent().IsValid() {
			t.Errorf("the server span has a parent %v; want a new trace", root.Parent())
		}
		for _, name := range []string{"authenticate", "validate response"} {
			if children[name] == nil {
				t.Errorf("no %q span in the request's trace; spans: %v", name, names(children))
			}
		}
	})
}

func TestWithoutATracerProviderRequestsGetNoSpan(t *testing.T) {
	t.Parallel()
	env := apitest.MustStart(t)
	env.MustImport(t, "tenant-a", "org-1")
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/organization/getCustomers/org-1", nil)
	for k, v := range env.Headers(t, "tenant-a") {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Request-Id", "untraced-1")
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if line := env.MustAccessLine(t, "untraced-1"); line["trace_id"] != nil {
		t.Errorf("untraced access line has trace_id %v", line["trace_id"])
	}
}

func names(spans map[string]sdktrace.ReadOnlySpan) []string {
	var out []string
	for name := range spans {
		out = append(out, name)
	}
	return out
}
