package gateway

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/bench/manifests"
	"github.com/lambdagate/lambdagate/bench/rawstub"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// benchGateway builds the snapshot for o with the real translator.
func benchGateway(tb testing.TB, o manifests.Options) *Gateway {
	tb.Helper()
	var buf bytes.Buffer
	if err := manifests.Write(&buf, o); err != nil {
		tb.Fatal(err)
	}
	objs, err := resource.DecodeAll(&buf, "bench")
	if err != nil {
		tb.Fatal(err)
	}
	snap := translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), translate.Env{Getenv: func(string) string { return "" }})
	if snap.HTTP.Empty() {
		tb.Fatalf("no routes built: %v", snap.Statuses)
	}
	h := &snapshot.Holder{}
	h.Store(snap)
	iv := lambda.NewInvoker(lambda.Options{})
	tb.Cleanup(iv.CloseIdle)
	return New(h, iv, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// discardWriter is a reusable ResponseWriter.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// benchServe sends b.N requests for path through Gateway.ServeHTTP, which
// signs with the SDK signer and invokes the stub over loopback. The request
// and writer are reused: what is measured is the handler and the Lambda
// client, not net/http's server side.
func benchServe(b *testing.B, g *Gateway, path string, body []byte) {
	benchServeWith(b, g, path, body, nil)
}

// benchServeWith is benchServe with extra request headers.
func benchServeWith(b *testing.B, g *Gateway, path string, body []byte, hdr http.Header) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://bench.local"+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wrk")
	// As net/http's server leaves it for a request with a body.
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	req.RemoteAddr = "127.0.0.1:40000"
	rd := bytes.NewReader(body)
	req.Body = io.NopCloser(rd)
	req.ContentLength = int64(len(body))
	w := &discardWriter{h: http.Header{}}
	serve := func() {
		rd.Reset(body)
		clear(w.h)
		w.status, w.n = 0, 0
		g.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d, headers %v", w.status, w.h)
		}
	}
	serve() // dial the stub outside the timer
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve()
	}
}

var smallBody = []byte(`{"hello":"world","n":42}`)

func BenchmarkGatewayPassthrough(b *testing.B) {
	g := benchGateway(b, manifests.Options{Endpoint: rawstub.Start(b)})
	benchServe(b, g, manifests.PassthroughPath, smallBody)
}

// BenchmarkGatewayPassthroughHTTP is the whole proxied request: a raw
// client (reused buffers, no allocations of its own) sends keep-alive
// requests over loopback to net/http's server running the Gateway, which
// invokes the stub. allocs/op therefore includes net/http's server side,
// which BenchmarkGatewayPassthrough leaves out.
func BenchmarkGatewayPassthroughHTTP(b *testing.B) {
	g := benchGateway(b, manifests.Options{Endpoint: rawstub.Start(b)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: g}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("POST " + manifests.PassthroughPath + " HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: wrk\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(smallBody)) + "\r\n\r\n" + string(smallBody))
	br := bufio.NewReaderSize(c, 16<<10)
	roundTrip := func() {
		if err := rawstub.Exchange(c, br, req); err != nil {
			b.Fatal(err)
		}
	}
	roundTrip() // connect the stub outside the timer
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
}

// BenchmarkGatewayHeaders is BenchmarkGatewayPassthrough on a route with
// a headerManipulation: the cost of the two header filters.
func BenchmarkGatewayHeaders(b *testing.B) {
	g := benchGateway(b, manifests.Options{Endpoint: rawstub.Start(b)})
	benchServe(b, g, manifests.HeadersPath, smallBody)
}

func BenchmarkGatewayWrapUnwrap(b *testing.B) {
	g := benchGateway(b, manifests.Options{Endpoint: rawstub.Start(b)})
	benchServe(b, g, manifests.WrapPath, smallBody)
}

func BenchmarkGatewayWrapUnwrap1MB(b *testing.B) {
	g := benchGateway(b, manifests.Options{Endpoint: rawstub.Start(b)})
	body := []byte(`{"data":"` + strings.Repeat("x", 1<<20-11) + `"}`)
	benchServe(b, g, manifests.WrapPath, body)
}

func BenchmarkGatewayPassthrough10kRoutes(b *testing.B) {
	g := benchGateway(b, manifests.Options{Endpoint: rawstub.Start(b), Routes: 10000})
	benchServe(b, g, manifests.PassthroughPath, smallBody)
}
