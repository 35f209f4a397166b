package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdagate/lambdagate/internal/lambda"
)

// Trace context.
//
// With an OTLP exporter (Config.Tracer), lambdagate records a server span
// per routed request, the child of the client's traceparent when there is
// a valid one, and sends Lambda a traceparent naming that span, so the
// function's spans hang under the gateway's. Without one:
//
// lambdagate is a pass-through hop for tracing: it records no spans of its
// own, so a valid W3C traceparent from the client is sent to Lambda
// unchanged (the client's span stays the function's parent), with its
// tracestate. When the client sends none, or an invalid one, lambdagate
// starts a trace: a new random trace id and parent id with the sampled flag
// off (lambdagate recorded nothing, so it does not ask downstream to
// sample). Either way the trace id is in the access log, so a log line can
// be matched with the function's logs. X-Amzn-Trace-Id is forwarded as the
// client sent it and never made up: Lambda starts its own X-Ray trace when
// it is absent.

// maxTracestate bounds the forwarded tracestate (W3C allows 32 members of
// at most 256 characters; 512 is what implementations must propagate).
const maxTracestate = 512

// traceHeaders returns the traceparent and tracestate to send to Lambda and
// records the trace id in o.
func traceHeaders(r *http.Request, o *Outcome) (traceparent, tracestate string) {
	if o.tracer != nil {
		return startSpan(r, o)
	}
	tp := r.Header.Get("Traceparent")
	if id, ok := ParseTraceparent(tp); ok {
		o.TraceID = id
		ts := r.Header.Values("Tracestate")
		if len(ts) == 1 && len(ts[0]) <= maxTracestate {
			tracestate = ts[0]
		}
		return tp, tracestate
	}
	tp = newTraceparent()
	o.TraceID = tp[3:35]
	return tp, ""
}

var errTraceparent = errors.New("invalid traceparent")

// ParseTraceparent checks a traceparent header against the W3C Trace
// Context rules (version 00 exactly; later versions may append fields) and
// returns its trace id.
func ParseTraceparent(s string) (string, bool) {
	if err := checkTraceparent(s); err != nil {
		return "", false
	}
	return s[3:35], true
}

func checkTraceparent(s string) error {
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return errTraceparent
	}
	version, traceID, parentID, flags := s[0:2], s[3:35], s[36:52], s[53:55]
	for _, f := range []string{version, traceID, parentID, flags} {
		if !lowerHex(f) {
			return errTraceparent
		}
	}
	switch {
	case version == "ff":
		return errTraceparent
	case version == "00" && len(s) != 55:
		return errTraceparent
	case len(s) > 55 && s[55] != '-':
		return errTraceparent
	case allZero(traceID) || allZero(parentID):
		return errTraceparent
	}
	return nil
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// newTraceparent returns "00-<trace id>-<parent id>-00" with random ids.
func newTraceparent() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	// A zero id is invalid; the chance is 2^-64 but costs nothing to rule out.
	b[0] |= 1
	b[16] |= 1
	buf := make([]byte, 0, 55)
	buf = append(buf, "00-"...)
	buf = hex.AppendEncode(buf, b[:16])
	buf = append(buf, '-')
	buf = hex.AppendEncode(buf, b[16:])
	buf = append(buf, "-00"...)
	return string(buf)
}

// noteInvoke records in o what the Invoke call did, for metrics and the
// access log.
func noteInvoke(o *Outcome, res *lambda.Result, err error) {
	o.Invoked = true
	if res != nil {
		o.Attempts = res.Attempts
	}
	if le := lambdaError(err); le != nil {
		o.Attempts = le.Attempts
		o.ErrorKind = le.Kind.String()
	}
}

// startSpan starts the request's span and returns the trace context that
// names it.
func startSpan(r *http.Request, o *Outcome) (traceparent, tracestate string) {
	ctx := r.Context()
	if _, ok := ParseTraceparent(r.Header.Get("Traceparent")); ok {
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	name := o.Method
	if t := o.Target; t != nil {
		name += " " + t.Route
	}
	_, span := o.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(o.Start))
	o.span = span
	sc := span.SpanContext()
	o.TraceID = sc.TraceID().String()
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String(), sc.TraceState().String()
}

// endSpan records the outcome on the request's span and ends it.
func endSpan(o *Outcome) {
	sp := o.span
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", o.Method),
		attribute.Int("http.response.status_code", o.Status),
		attribute.String("lambdagate.request_id", o.RequestID),
	}
	if t := o.Target; t != nil {
		attrs = append(attrs,
			attribute.String("lambdagate.virtual_service", t.VirtualService),
			attribute.String("http.route", t.Route),
			attribute.String("faas.invoked_name", t.FunctionName),
			attribute.String("faas.invoked_provider", "aws"),
			attribute.String("faas.invoked_region", t.Region),
			attribute.String("lambdagate.function", t.LogicalName),
		)
		if t.Qualifier != "" {
			attrs = append(attrs, attribute.String("lambdagate.qualifier", t.Qualifier))
		}
	}
	if o.LambdaRequestID != "" {
		attrs = append(attrs, attribute.String("faas.invocation_id", o.LambdaRequestID))
	}
	if o.Attempts > 1 {
		attrs = append(attrs, attribute.Int("lambdagate.lambda_attempts", o.Attempts))
	}
	if o.Code != "" {
		attrs = append(attrs, attribute.String("error.type", o.Code))
	}
	if o.x.Streamed {
		attrs = append(attrs, attribute.Bool("lambdagate.streamed", true),
			attribute.Float64("lambdagate.time_to_first_byte_ms", ms(o.FirstByte.Seconds())),
			attribute.Int("lambdagate.bytes_streamed", o.BytesOut))
		if o.StreamCut {
			attrs = append(attrs, attribute.Bool("lambdagate.stream_cut", true))
		}
	}
	sp.SetAttributes(attrs...)
	if o.Status >= 500 {
		sp.SetStatus(codes.Error, o.Code)
	}
	sp.End(trace.WithTimestamp(o.Start.Add(o.Total)))
}
