// Package tracing exports one OpenTelemetry span per request over OTLP/HTTP
// when an endpoint is configured. Without one, lambdagate records no spans
// and only propagates trace context (see internal/server/trace.go).
package tracing

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Options configures the exporter.
type Options struct {
	// Endpoint is the OTLP/HTTP collector's base URL, e.g.
	// "http://127.0.0.1:4318"; spans go to <Endpoint>/v1/traces. Required.
	Endpoint string
	// ServiceName is the service.name resource attribute. Default
	// "lambdagate".
	ServiceName string
	// BatchTimeout is the longest a span waits before being sent. Default
	// 5s.
	BatchTimeout time.Duration
}

// Exporter owns the tracer provider.
type Exporter struct {
	tp *sdktrace.TracerProvider
}

// New starts an exporter. Requests arriving with a sampled traceparent,
// and requests arriving without one, are recorded; a request whose caller
// decided not to sample is not (parent-based sampling).
func New(o Options) (*Exporter, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--trace-otlp-endpoint %q: must be an http:// or https:// URL such as http://127.0.0.1:4318", o.Endpoint)
	}
	if o.ServiceName == "" {
		o.ServiceName = "lambdagate"
	}
	if o.BatchTimeout == 0 {
		o.BatchTimeout = 5 * time.Second
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u.JoinPath("v1", "traces").String())}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the OTLP exporter: %w", err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(o.ServiceName))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(o.BatchTimeout)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return &Exporter{tp: tp}, nil
}

// Tracer returns the tracer for request spans.
func (e *Exporter) Tracer() trace.Tracer { return e.tp.Tracer("github.com/lambdagate/lambdagate") }

// ForceFlush sends the spans ended so far.
func (e *Exporter) ForceFlush(ctx context.Context) error { return e.tp.ForceFlush(ctx) }

// Shutdown flushes and stops the exporter.
func (e *Exporter) Shutdown(ctx context.Context) error { return e.tp.Shutdown(ctx) }
