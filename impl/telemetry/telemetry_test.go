package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestFromEnvExportsOnlyWhenAVariableAsks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     map[string]string
		enabled bool
	}{
		{"no OTEL_* variables", nil, false},
		{"an endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{"a traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{"otlp named without an endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{"the SDK disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{"no traces exporter", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{"gRPC", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, true},
		{"the console", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if cfg := FromEnv(func(k string) string { return tc.env[k] }); cfg.Enabled != tc.enabled {
				t.Fatalf("FromEnv = %+v; want enabled %v", cfg, tc.enabled)
			}
		})
	}
}

// TestSetupRefusesWhatAutoexportDoesNotKnow: another exporter, or another OTLP protocol, stops
// Setup with an error that names the variable.
func TestSetupRefusesWhatAutoexportDoesNotKnow(t *testing.T) {
	for name, env := range map[string]map[string]string{
		`OTEL_TRACES_EXPORTER="zipkin"`: {"OTEL_TRACES_EXPORTER": "zipkin"},
		"invalid OTLP protocol":         {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range env {
				t.Setenv(k, v)
			}
			tp, _, err := Setup(context.Background(), FromEnv(os.Getenv), "v0", slog.Default())
			if err == nil || tp != nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("Setup = %v, %v; want an error that says %s", tp, err, name)
			}
		})
	}
}

func TestSetupWithoutExportInstallsNothing(t *testing.T) {
	t.Parallel()
	tp, shutdown, err := Setup(context.Background(), Config{}, "v0", slog.Default())
	if err != nil || tp != nil || shutdown(context.Background()) != nil {
		t.Fatalf("Setup(disabled) = %v, %v", tp, err)
	}
}

// TestSetupExportsSpansOverOTLPHTTP sends a span to an in-process OTLP/HTTP receiver.
func TestSetupExportsSpansOverOTLPHTTP(t *testing.T) {
	received := make(chan *http.Request, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		received <- r
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.URL+"/v1/traces")
	cfg := FromEnv(os.Getenv)
	if !cfg.Enabled || cfg.EndpointVariable != "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" {
		t.Fatalf("FromEnv: %+v", cfg)
	}
	tp, shutdown, err := Setup(context.Background(), cfg, "v1.2.3", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "one")
	span.End()
	if err := shutdown(context.Background()); err != nil { // flushes
		t.Fatal(err)
	}
	r := <-received
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		t.Errorf("collector got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
}

func TestLogHandlerAddsTheSpanOfTheContext(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("a", 1)
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))
	log.InfoContext(ctx, "traced")
	log.Info("untraced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var traced, untraced map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &traced) != nil || json.Unmarshal([]byte(lines[1]), &untraced) != nil {
		t.Fatalf("log:\n%s", buf.String())
	}
	if traced["trace_id"] != traceID.String() || traced["span_id"] != spanID.String() || traced["a"] != float64(1) {
		t.Errorf("traced line: %v", traced)
	}
	if _, ok := untraced["trace_id"]; ok {
		t.Errorf("untraced line has a trace_id: %v", untraced)
	}
}

func TestStartWithoutARecordingSpanAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		_, span := Start(ctx, "x")
		span.End()
	})
	if allocs != 0 {
		t.Errorf("Start without tracing allocates %v times", allocs)
	}
}

func BenchmarkStartWithoutTracing(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, span := Start(ctx, "x")
		span.End()
	}
}
