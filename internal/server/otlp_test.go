package server

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lambdagate/lambdagate/internal/tracing"
)

// otlpReceiver is a minimal OTLP/HTTP collector: it decodes what the real
// exporter sends and keeps the spans.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	attrs []map[string]string
}

func (c *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				m := map[string]string{}
				for _, kv := range sp.Attributes {
					if v := kv.Value.GetStringValue(); v != "" {
						m[kv.Key] = v
					} else {
						m[kv.Key] = kv.Value.String()
					}
				}
				c.spans = append(c.spans, sp)
				c.attrs = append(c.attrs, m)
			}
		}
	}
	c.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func TestOTLPSpanPerRequest(t *testing.T) {
	rcv := &otlpReceiver{}
	col := httptest.NewServer(rcv)
	defer col.Close()
	exp, err := tracing.New(tracing.Options{Endpoint: col.URL, BatchTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	o, stub := startObserved(t, func(c *Config) { c.Tracer = exp.Tracer() })

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	const clientSpan = "00f067aa0ba902b7"
	if got := o.do("GET", "/ok", map[string]string{"Traceparent": "00-" + clientTrace + "-" + clientSpan + "-01"}); got != 200 {
		t.Fatalf("status %d", got)
	}
	if got := o.do("GET", "/fail", nil); got != 502 {
		t.Fatalf("status %d", got)
	}
	accessLines(t, o.accessLg, 2) // both requests observed, spans ended
	if err := exp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.spans) != 2 {
		t.Fatalf("collector got %d spans, want 2", len(rcv.spans))
	}
	stub.mu.Lock()
	sentTP := append([]string(nil), stub.traceparent...)
	stub.mu.Unlock()

	ok, fail := rcv.spans[0], rcv.spans[1]
	t.Run("child of the client's span", func(t *testing.T) {
		if hex.EncodeToString(ok.TraceId) != clientTrace || hex.EncodeToString(ok.ParentSpanId) != clientSpan {
			t.Errorf("span trace %x parent %x, want %s %s", ok.TraceId, ok.ParentSpanId, clientTrace, clientSpan)
		}
		want := "00-" + clientTrace + "-" + hex.EncodeToString(ok.SpanId) + "-01"
		if sentTP[0] != want {
			t.Errorf("Lambda got traceparent %q, want the gateway's span %q", sentTP[0], want)
		}
		if ok.Name != "GET ok" || ok.Kind != tracepb.Span_SPAN_KIND_SERVER {
			t.Errorf("span name %q kind %v", ok.Name, ok.Kind)
		}
		a := rcv.attrs[0]
		if a["http.route"] != "ok" || a["lambdagate.function"] != "echo" || a["faas.invoked_name"] != "ok" || a["lambdagate.virtual_service"] != "gloo-system/vs" {
			t.Errorf("attributes %v", a)
		}
	})
	t.Run("root span with error status", func(t *testing.T) {
		if len(fail.ParentSpanId) != 0 {
			t.Errorf("span without client trace has parent %x", fail.ParentSpanId)
		}
		if fail.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || rcv.attrs[1]["error.type"] != "FunctionError" {
			t.Errorf("status %v attrs %v", fail.Status, rcv.attrs[1])
		}
		if want := "00-" + hex.EncodeToString(fail.TraceId) + "-" + hex.EncodeToString(fail.SpanId) + "-01"; sentTP[1] != want {
			t.Errorf("Lambda got traceparent %q, want %q", sentTP[1], want)
		}
	})
}
