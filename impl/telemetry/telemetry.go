// Package telemetry sets up OpenTelemetry tracing from the OTEL_* variables, with the exporter
// autoexport makes of them, and puts a request's trace and span ids into its log lines. Unless a
// variable asks for traces nothing is installed (autoexport alone would export to localhost:4318).
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

const serviceName = "customer-api"

// Propagator is how trace context travels in HTTP headers: W3C traceparent and tracestate.
var Propagator = propagation.TraceContext{}

// Config is what the environment asks of tracing. Endpoint (from EndpointVariable; "" for the
// exporter's default) is for the start-up line, and may hold credentials: redact it.
type Config struct {
	Enabled          bool
	Exporter         string // OTEL_TRACES_EXPORTER ("": otlp)
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

// Setup installs (globally, with the W3C propagator; export failures go to log) and returns the
// tracer provider cfg asks for, and its shutdown; a nil provider when cfg is not enabled.
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
		resource.WithAttributes(attribute.String("service.name", serviceName), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: spans were not exported", "error", err.Error())
	}))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	return tp, tp.Shutdown, nil
}

// Start starts a span as a child of the recording span in ctx, from its provider; without one
// (tracing off, not sampled) it returns ctx and its no-op span, allocating nothing.
func Start(ctx context.Context, name string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer("github.com/cyrexa/customer-api").Start(ctx, name)
}

// NewLogHandler wraps h to add trace_id and span_id to every record whose context holds a span.
func NewLogHandler(h slog.Handler) slog.Handler {
	return ContextAttrs(h, func(ctx context.Context, r slog.Record) slog.Record {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
		return r
	})
}

// ContextAttrs wraps h so that add can give every record attributes from its context (the
// record passes by value: a pointer would move it to the heap).
func ContextAttrs(h slog.Handler, add func(context.Context, slog.Record) slog.Record) slog.Handler {
	return contextAttrs{h, add}
}

type contextAttrs struct {
	slog.Handler
	add func(context.Context, slog.Record) slog.Record
}

func (h contextAttrs) Handle(ctx context.Context, r slog.Record) error {
	return h.Handler.Handle(ctx, h.add(ctx, r))
}

func (h contextAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextAttrs{h.Handler.WithAttrs(attrs), h.add}
}

func (h contextAttrs) WithGroup(name string) slog.Handler {
	return contextAttrs{h.Handler.WithGroup(name), h.add}
}
