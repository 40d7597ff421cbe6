// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_* environment variables
// and puts the trace and span ids of a request into its log lines. The exporter is OTel's own
// choice from those variables (go.opentelemetry.io/contrib/exporters/autoexport): OTLP over HTTP
// or gRPC, or the console.
//
// Unless a variable asks for traces (an OTLP endpoint, or OTEL_TRACES_EXPORTER), or with
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, nothing is installed: Setup returns a nil
// provider, the server creates no request spans, and the spans the packages start are the API's
// no-op ones. (autoexport alone would export to localhost:4318 when nothing is set.)
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name spans carry unless OTEL_SERVICE_NAME says otherwise.
const ServiceName = "customer-api"

// Propagator is how trace context travels in HTTP headers: W3C traceparent and tracestate.
var Propagator = propagation.TraceContext{}

// Config is what the environment asks of tracing.
type Config struct {
	// Enabled is true when spans are exported.
	Enabled bool
	// Exporter is OTEL_TRACES_EXPORTER ("" for autoexport's default, otlp).
	Exporter string
	// Endpoint is where OTLP spans go, and EndpointVariable the variable that says so ("" for the
	// exporter's default): for the start-up log line. The URL may hold credentials: redact it.
	Endpoint         string
	EndpointVariable string
}

// FromEnv reads whether the OTEL_* variables ask for traces.
func FromEnv(getenv func(string) string) Config {
	exporter := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") || exporter == "none" {
		return Config{}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if v := strings.TrimSpace(getenv(name)); v != "" && (exporter == "" || exporter == "otlp") {
			return Config{Enabled: true, Exporter: exporter, Endpoint: v, EndpointVariable: name}
		}
	}
	return Config{Enabled: exporter != "", Exporter: exporter}
}

// Setup returns the tracer provider that exports spans with the exporter autoexport makes from
// the process's OTEL_* variables (the sampler, batching and resource read them too), installed as
// the global provider with the W3C propagator (export failures go to log), and the function that
// flushes and stops it. An exporter or protocol autoexport does not know is an error. When cfg is
// not enabled it returns a nil provider and a shutdown that does nothing.
func Setup(ctx context.Context, cfg Config, version string, log *slog.Logger) (trace.TracerProvider, func(context.Context) error, error) {
	if !cfg.Enabled {
		return nil, func(context.Context) error { return nil }, nil
	}
	exporter, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("OpenTelemetry trace exporter (OTEL_TRACES_EXPORTER=%q): %w", cfg.Exporter, err)
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
