package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/transform"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// event writes one event of InvokeWithResponseStream's answer and flushes.
func event(w http.ResponseWriter, eventType string, payload []byte) {
	var m eventstream.Message
	m.Headers.Set(":message-type", eventstream.StringValue("event"))
	m.Headers.Set(":event-type", eventstream.StringValue(eventType))
	m.Payload = payload
	_ = eventstream.NewEncoder().Encode(w, m)
	w.(http.Flusher).Flush()
}

func invokeComplete(code, details string) []byte {
	if code == "" {
		return []byte(`{}`)
	}
	b, _ := json.Marshal(map[string]string{"ErrorCode": code, "ErrorDetails": details})
	return b
}

// streamed is a stub streaming function: the content type, then each
// chunk with a pause, then InvokeComplete with code (none: success).
func streamed(contentType string, pause time.Duration, code string, chunks ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/response-streaming-invocations") {
			http.Error(w, "streaming route called "+r.URL.Path, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("X-Amzn-RequestId", "req-1")
		w.WriteHeader(http.StatusOK)
		for _, c := range chunks {
			event(w, "PayloadChunk", []byte(c))
			time.Sleep(pause)
		}
		event(w, "InvokeComplete", invokeComplete(code, "it broke"))
	}
}

const nul8 = "\x00\x00\x00\x00\x00\x00\x00\x00"

func TestStreamedAnswers(t *testing.T) {
	var seen pipeline.Exchange
	keep := responseFilter{name: "f", tr: &trail{}}
	url, calls := handlerGateway(t,
		route(`prefix: /plain`, "plain", "responseTransferMode: STREAM")+
			route(`prefix: /prelude`, "prelude", "responseTransferMode: STREAM, wrapAsApiGateway: true")+
			route(`prefix: /split`, "split", "responseTransferMode: STREAM")+
			route(`prefix: /empty-prelude`, "emptyprelude", "responseTransferMode: STREAM")+
			route(`prefix: /no-content`, "nocontent", "responseTransferMode: STREAM")+
			route(`prefix: /long-prelude`, "longprelude", "responseTransferMode: STREAM")+
			route(`prefix: /bad-prelude`, "badprelude", "responseTransferMode: STREAM")+
			route(`prefix: /fail-first`, "failfirst", "responseTransferMode: STREAM")+
			route(`prefix: /timeout-first`, "timeoutfirst", "responseTransferMode: STREAM")+
			route(`prefix: /throttled`, "throttled", "responseTransferMode: STREAM"),
		map[string]http.HandlerFunc{
			"plain":        streamed("text/plain", 0, "", "a", "b", "c"),
			"prelude":      streamed("application/vnd.awslambda.http-integration-response", 0, "", `{"statusCode":201,"headers":{"x-a":"1"},"cookies":["c=1"]}`+nul8+"bo", "dy"),
			"split":        streamed("application/vnd.awslambda.http-integration-response", 0, "", `{"statusCode":`, `202}`+nul8[:3], nul8[3:]+"rest"),
			"emptyprelude": streamed("application/vnd.awslambda.http-integration-response", 0, "", `{"statusCode":204}`),
			"longprelude":  streamed("application/vnd.awslambda.http-integration-response", 0, "", `{"headers":{"x":"`+strings.Repeat("a", 17<<10)+`"}}`+nul8+"body"),
			"nocontent":    streamed("application/vnd.awslambda.http-integration-response", 0, "", `{"statusCode":204}`+nul8+"dropped"),
			"badprelude":   streamed("application/vnd.awslambda.http-integration-response", 0, "", `{"statusCode":"x"}`+nul8+"body"),
			"failfirst":    streamed("text/plain", 0, "TypeError"),
			"timeoutfirst": streamed("text/plain", 0, "Sandbox.Timedout"),
			"throttled": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"Message":"Rate Exceeded."}`)
			},
		},
		func(rt *router.Route) {
			p := pipeline.Of(rt)
			p.Response = []pipeline.ResponseFilter{keep, exchangeSpy{&seen}}
		})
	cases := []struct {
		path, body, ctype string
		status            int
		header            map[string]string
	}{
		{"/plain", "abc", "text/plain", 200, map[string]string{"X-Amzn-Requestid": "req-1", "X-Filter": "f"}},
		{"/prelude", "body", "", 201, map[string]string{"X-A": "1", "Set-Cookie": "c=1", "X-Filter": "f"}},
		{"/split", "rest", "", 202, nil},
		{"/empty-prelude", "", "", 204, nil},
		{"/no-content", "", "", 204, nil},
		{"/long-prelude", "", "application/json", 502, nil},
		{"/bad-prelude", "", "application/json", 502, nil},
		{"/fail-first", "", "application/json", 502, map[string]string{"X-Amz-Function-Error": "Unhandled"}},
		{"/timeout-first", "", "application/json", 504, nil},
		{"/throttled", "", "application/json", 429, nil},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := do(t, "POST", url+tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %s)", resp.StatusCode, tc.status, body)
			}
			if tc.status < 300 && body != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("content type %q, want %q", got, tc.ctype)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.path == "/prelude" {
				// wrapAsApiGateway shapes the request of a streaming route.
				c := calls()
				if last := c[len(c)-1]; last.Function != "prelude" || !strings.Contains(string(last.Body), `"httpMethod":"POST"`) {
					t.Errorf("the function got %s %s, want an API Gateway event", last.Function, last.Body)
				}
			}
			if tc.status < 300 {
				if !seen.Streamed {
					t.Errorf("Exchange.Streamed not set")
				}
				if resp.ContentLength != -1 && tc.status != 204 {
					t.Errorf("content length %d: a stream has none", resp.ContentLength)
				}
			}
		})
	}
}

// exchangeSpy is a response filter that copies the exchange it sees.
type exchangeSpy struct{ x *pipeline.Exchange }

func (s exchangeSpy) FilterResponse(_ *http.Request, x *pipeline.Exchange, status int, _ http.Header) (int, error) {
	*s.x = *x
	return status, nil
}

// An error after the first byte cuts the stream: HTTP/1.1 without the last
// chunk, so the client sees a broken body, not a short complete one.
func TestStreamCutAfterFirstByte(t *testing.T) {
	url, _ := handlerGateway(t, route(`prefix: /`, "cut", "responseTransferMode: STREAM"),
		map[string]http.HandlerFunc{"cut": streamed("text/plain", 10*time.Millisecond, "RangeError", "partial")})
	addr := strings.TrimPrefix(url, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || len(resp.TransferEncoding) == 0 {
		t.Fatalf("status %d transfer encoding %v", resp.StatusCode, resp.TransferEncoding)
	}
	b, err := io.ReadAll(resp.Body)
	if string(b) != "partial" || err != io.ErrUnexpectedEOF {
		t.Fatalf("body %q, error %v: want the partial body then io.ErrUnexpectedEOF", b, err)
	}
}

// The first chunk reaches the client while the function is still running.
func TestStreamFirstChunkEarly(t *testing.T) {
	url, _ := handlerGateway(t, route(`prefix: /`, "slow", "responseTransferMode: STREAM"),
		map[string]http.HandlerFunc{"slow": streamed("text/plain", 500*time.Millisecond, "", "first", "second")})
	start := time.Now()
	resp, err := http.Post(url+"/", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("first chunk %q %v", buf, err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("first chunk after %s: buffered until the function's next write", d)
	}
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second" {
		t.Errorf("rest %q", rest)
	}
}

// The request's span records a streamed answer: time to first byte, bytes
// streamed, and whether the stream was cut.
func TestStreamSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	configureGateway = func(g *Gateway) {
		g.Tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
	}
	defer func() { configureGateway = nil }()
	url, _ := handlerGateway(t, route(`prefix: /`, "plain", "responseTransferMode: STREAM"),
		map[string]http.HandlerFunc{"plain": streamed("text/plain", 0, "", "abc", "de")})
	if resp, body := do(t, "POST", url+"/"); resp.StatusCode != 200 || body != "abcde" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	var attrs map[string]attribute.Value
	for i := 0; i < 100 && attrs == nil; i++ {
		for _, sp := range rec.Ended() {
			attrs = map[string]attribute.Value{}
			for _, kv := range sp.Attributes() {
				attrs[string(kv.Key)] = kv.Value
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !attrs["lambdagate.streamed"].AsBool() || attrs["lambdagate.bytes_streamed"].AsInt64() != 5 {
		t.Errorf("span attributes %v", attrs)
	}
	if _, ok := attrs["lambdagate.time_to_first_byte_ms"]; !ok {
		t.Errorf("no time to first byte in %v", attrs)
	}
}

// A 204 whose function wrote body bytes after the prelude drops them: the
// request is not a failure (net/http refuses a body for 204, which is not
// the client going away).
func TestStreamNoContentDropsTheBody(t *testing.T) {
	var logs lockedLines
	configureGateway = func(g *Gateway) { g.AccessLog = slog.New(slog.NewJSONHandler(&logs, nil)) }
	defer func() { configureGateway = nil }()
	url, _ := handlerGateway(t, route(`prefix: /`, "nocontent", "responseTransferMode: STREAM"),
		map[string]http.HandlerFunc{"nocontent": streamed("application/vnd.awslambda.http-integration-response", 0, "", `{"statusCode":204}`+nul8+"dropped")})
	if resp, body := do(t, "POST", url+"/"); resp.StatusCode != 204 || body != "" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	var line string
	for i := 0; i < 200 && line == ""; i++ {
		time.Sleep(5 * time.Millisecond)
		line = logs.next()
	}
	if !strings.Contains(line, `"status":204`) || strings.Contains(line, `"error"`) || strings.Contains(line, "stream_cut") {
		t.Errorf("access log %s", line)
	}
}

// FuzzReadPrelude splits a stream into chunks at arbitrary points: the
// prelude read across chunks must give what reading it whole gives, and
// the body bytes returned plus the chunks left must be the rest.
func FuzzReadPrelude(f *testing.F) {
	f.Add([]byte(`{"statusCode":201,"headers":{"a":"b"}}`+nul8+"body"), []byte{3, 40, 1})
	f.Add([]byte(`{}`+nul8[:5]), []byte{1})
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		var chunks [][]byte
		rest := stream
		for _, c := range cuts {
			n := min(int(c), len(rest))
			chunks, rest = append(chunks, rest[:n]), rest[n:]
		}
		chunks = append(chunks, rest)
		i := 0
		next := func() ([]byte, error) {
			i++
			if i == len(chunks)-1 {
				return chunks[i], io.EOF
			}
			return chunks[i], nil
		}
		var firstErr error
		if len(chunks) == 1 {
			firstErr = io.EOF
		}
		resp, body, err := readPrelude(next, chunks[0], firstErr)

		wantPrelude, wantBody, found := bytes.Cut(stream, []byte(nul8))
		if len(wantPrelude) > maxPrelude {
			if err == nil || err == io.EOF {
				t.Fatalf("a %d-byte prelude was accepted", len(wantPrelude))
			}
			return
		}
		want, wantErr := transform.ParseStreamPrelude(wantPrelude)
		if (wantErr == nil) != (err == nil || err == io.EOF) {
			t.Fatalf("split: %v, whole: %v", err, wantErr)
		}
		if wantErr != nil {
			return
		}
		if resp.StatusCode != want.StatusCode || !reflect.DeepEqual(resp.Header, want.Header) {
			t.Fatalf("split: %d %v, whole: %d %v", resp.StatusCode, resp.Header, want.StatusCode, want.Header)
		}
		got := append([]byte{}, body...)
		for _, c := range chunks[i+1:] {
			got = append(got, c...)
		}
		if !found {
			wantBody = nil
		}
		if !bytes.Equal(got, wantBody) {
			t.Fatalf("body %q, want %q", got, wantBody)
		}
	})
}
