// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_* environment variables
// (OTLP over HTTP) and puts the trace and span ids of a request into its log lines.
//
// Without an OTLP endpoint in the environment, or with OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none, nothing is installed: Setup returns a nil provider, the server
// creates no request spans, and the spans the packages start are the API's no-op ones.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name spans carry unless OTEL_SERVICE_NAME says otherwise.
const ServiceName = "customer-api"

// Propagator is how trace context travels in HTTP headers: W3C traceparent and tracestate.
var Propagator = propagation.TraceContext{}

// Config is what Setup found in the environment.
type Config struct {
	// Enabled is true when spans are exported.
	Enabled bool
	// Endpoint is where spans go, and EndpointVariable the variable that says so ("" for the
	// SDK's default): for the start-up log line. The URL may hold credentials: redact it.
	Endpoint         string
	EndpointVariable string
}

// FromEnv reads the OTEL_* variables that decide whether traces are exported. An exporter or
// protocol this service does not speak is an error that names the variable.
func FromEnv(getenv func(string) string) (Config, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return Config{}, nil
	}
	switch exporter := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exporter {
	case "none":
		return Config{}, nil
	case "", "otlp":
	default:
		return Config{}, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: customer-api exports otlp (over HTTP) or none", exporter)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(getenv(name)); p != "" {
			if p != "http/protobuf" {
				return Config{}, fmt.Errorf("%s=%q: customer-api speaks OTLP over HTTP only: set http/protobuf or leave it unset", name, p)
			}
			break // the signal-specific variable wins
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return Config{Enabled: true, Endpoint: v, EndpointVariable: name}, nil
		}
	}
	if getenv("OTEL_TRACES_EXPORTER") == "otlp" {
		return Config{Enabled: true, Endpoint: "http://localhost:4318"}, nil
	}
	return Config{}, nil
}

// Setup returns the tracer provider that exports spans over OTLP/HTTP as the OTEL_* variables
// say (the exporter, sampler, batching and resource read them themselves), installed as the
// global provider with the W3C propagator (export failures go to log), and the function that
// flushes and stops it. When cfg is not enabled it returns a nil provider and a shutdown that
// does nothing.
func Setup(ctx context.Context, cfg Config, version string, log *slog.Logger) (trace.TracerProvider, func(context.Context) error, error) {
	if !cfg.Enabled {
		return nil, func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	// Defaults first: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override them.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", ServiceName), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	// A failed export is a JSON warning in the service's log, not a line of the standard logger.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: spans were not exported", "error", err.Error())
	}))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	return tp, tp.Shutdown, nil
}

// Start starts a span named name as a child of the recording span in ctx, from that span's
// provider, and returns it with its context. Without one (tracing off, or the request not
// sampled) it returns ctx and the span in it, whose End does nothing: no allocation.
func Start(ctx context.Context, name string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer("github.com/cyrexa/customer-api").Start(ctx, name)
}

// LogHandler adds trace_id and span_id to every record whose context holds a valid span.
type LogHandler struct{ slog.Handler }

// NewLogHandler wraps h.
func NewLogHandler(h slog.Handler) *LogHandler { return &LogHandler{h} }

// Handle adds the ids of the span in ctx, if any, then passes the record on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{h.Handler.WithGroup(name)}
}
