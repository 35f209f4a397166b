package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// writeEvent writes one event of InvokeWithResponseStream's answer. A
// failed write is the client having gone, which some cases cause.
func writeEvent(t testing.TB, w io.Writer, eventType string, payload []byte) {
	var m eventstream.Message
	m.Headers.Set(":message-type", eventstream.StringValue("event"))
	m.Headers.Set(":event-type", eventstream.StringValue(eventType))
	m.Payload = payload
	if err := eventstream.NewEncoder().Encode(w, m); err != nil {
		return
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func complete(code, details string) []byte {
	b, _ := json.Marshal(map[string]string{"ErrorCode": code, "ErrorDetails": details})
	if code == "" {
		return []byte(`{}`)
	}
	return b
}

// readAll reads a stream to its end: the chunks and the final error
// (io.EOF on success).
func readAll(s *Stream) ([]string, error) {
	var chunks []string
	for {
		c, err := s.Next()
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, string(c))
	}
}

func TestInvokeStream(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC)
	cases := []struct {
		name     string
		handle   func(w http.ResponseWriter)
		lim      StreamLimits
		chunks   []string
		wantKind Kind // 0: success (io.EOF)
		wantType string
		openErr  bool // the error comes from InvokeStream itself
	}{
		{name: "chunks then complete", handle: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			writeEvent(t, w, "PayloadChunk", []byte("a"))
			writeEvent(t, w, "PayloadChunk", []byte("bc"))
			writeEvent(t, w, "InvokeComplete", complete("", ""))
		}, chunks: []string{"a", "bc"}},
		{name: "function error after a chunk", handle: func(w http.ResponseWriter) {
			writeEvent(t, w, "PayloadChunk", []byte("a"))
			writeEvent(t, w, "InvokeComplete", complete("RangeError", "boom"))
		}, chunks: []string{"a"}, wantKind: KindFunction, wantType: "RangeError"},
		{name: "function timeout", handle: func(w http.ResponseWriter) {
			writeEvent(t, w, "InvokeComplete", complete("Sandbox.Timedout", "Task timed out after 1.00 seconds"))
		}, wantKind: KindFunctionTimeout},
		{name: "throttled before the stream", handle: func(w http.ResponseWriter) {
			w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"Message":"Rate Exceeded."}`)
		}, wantKind: KindThrottled, openErr: true},
		{name: "not found", handle: func(w http.ResponseWriter) {
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"Message":"Function not found"}`)
		}, wantKind: KindNotFound, openErr: true},
		{name: "cut without InvokeComplete", handle: func(w http.ResponseWriter) {
			writeEvent(t, w, "PayloadChunk", []byte("a"))
		}, chunks: []string{"a"}, wantKind: KindUnreachable},
		{name: "garbage", handle: func(w http.ResponseWriter) {
			io.WriteString(w, "this is not an event stream at all, not even close")
		}, wantKind: KindUnreachable},
		{name: "idle timeout", lim: StreamLimits{Idle: 100 * time.Millisecond}, handle: func(w http.ResponseWriter) {
			writeEvent(t, w, "PayloadChunk", []byte("a"))
			time.Sleep(400 * time.Millisecond)
		}, chunks: []string{"a"}, wantKind: KindTimeout},
		{name: "first byte timeout", lim: StreamLimits{FirstByte: 100 * time.Millisecond}, handle: func(w http.ResponseWriter) {
			time.Sleep(400 * time.Millisecond)
		}, wantKind: KindTimeout, openErr: true},
		{name: "first byte timeout after the head", lim: StreamLimits{FirstByte: 100 * time.Millisecond}, handle: func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			time.Sleep(400 * time.Millisecond)
			writeEvent(t, w, "PayloadChunk", []byte("late"))
		}, wantKind: KindTimeout},
		{name: "first byte in time, then idle within the first-byte bound", lim: StreamLimits{FirstByte: 300 * time.Millisecond, Idle: 5 * time.Second}, handle: func(w http.ResponseWriter) {
			writeEvent(t, w, "PayloadChunk", []byte("a"))
			time.Sleep(500 * time.Millisecond)
			writeEvent(t, w, "PayloadChunk", []byte("b"))
			writeEvent(t, w, "InvokeComplete", complete("", ""))
		}, chunks: []string{"a", "b"}},
		{name: "total limit", lim: StreamLimits{Max: 250 * time.Millisecond}, handle: func(w http.ResponseWriter) {
			writeEvent(t, w, "PayloadChunk", []byte("a"))
			time.Sleep(time.Second)
		}, chunks: []string{"a"}, wantKind: KindTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var seen *http.Request
			var seenBody []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = r.Clone(context.Background())
				seenBody, _ = io.ReadAll(r.Body)
				tc.handle(w)
			}))
			defer srv.Close()
			iv := NewInvoker(Options{})
			iv.now = func() time.Time { return at }
			tg := target(t, srv.URL, 5*time.Second)
			tg.Qualifier = "live"
			tg.Prepare()
			s, err := iv.InvokeStream(context.Background(), tg, []byte(`{"x":1}`), []Header{{"Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}, tc.lim)
			var chunks []string
			if err == nil {
				if tc.openErr {
					t.Fatal("InvokeStream succeeded")
				}
				chunks, err = readAll(s)
				s.Close()
			} else if !tc.openErr {
				t.Fatalf("InvokeStream: %v", err)
			}
			if strings.Join(chunks, "|") != strings.Join(tc.chunks, "|") {
				t.Errorf("chunks %q, want %q", chunks, tc.chunks)
			}
			if tc.wantKind == 0 {
				if err != io.EOF {
					t.Fatalf("end: %v, want io.EOF", err)
				}
			} else {
				var le *Error
				if !errors.As(err, &le) || le.Kind != tc.wantKind {
					t.Fatalf("error %v, want kind %s", err, tc.wantKind)
				}
				if tc.wantType != "" && le.Type != tc.wantType {
					t.Errorf("type %q, want %q", le.Type, tc.wantType)
				}
			}
			if seen == nil {
				t.Fatal("no request")
			}
			if got := seen.URL.RequestURI(); got != "/2021-11-15/functions/f/response-streaming-invocations?Qualifier=live" {
				t.Errorf("request URI %s", got)
			}
			if got := seen.Header.Get("X-Amz-Invocation-Type"); got != "RequestResponse" {
				t.Errorf("X-Amz-Invocation-Type %q", got)
			}
			// The SDK's signer must produce the same signature.
			auth := seen.Header.Get("Authorization")
			seen.Header.Del("Authorization")
			seen.URL.Scheme, seen.URL.Host = "http", seen.Host
			creds, _ := tg.Credentials.Retrieve(context.Background())
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, seen, sha256Hex(seenBody), "lambda", "us-east-1", at); err != nil {
				t.Fatal(err)
			}
			if want := seen.Header.Get("Authorization"); auth != want {
				t.Fatalf("Authorization\n got %s\nSDK  %s", auth, want)
			}
		})
	}
}

// TestInvokeStreamContentType: the function's content type is the
// answer's Content-Type; none, or the event stream's own, is
// application/octet-stream.
func TestInvokeStreamContentType(t *testing.T) {
	for sent, want := range map[string]string{
		"text/plain": "text/plain", "": "application/octet-stream", eventStreamType: "application/octet-stream",
		"application/vnd.awslambda.http-integration-response": "application/vnd.awslambda.http-integration-response",
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{sent}
			writeEvent(t, w, "InvokeComplete", complete("", ""))
		}))
		s, err := NewInvoker(Options{}).InvokeStream(context.Background(), target(t, srv.URL, time.Second), nil, nil, StreamLimits{})
		if err != nil {
			t.Fatal(err)
		}
		if s.ContentType != want {
			t.Errorf("sent %q: ContentType %q, want %q", sent, s.ContentType, want)
		}
		s.Close()
		srv.Close()
	}
}

// TestInvokeStreamCanceled: the caller's cancellation ends a stream being
// read, as a client that goes away does.
func TestInvokeStreamCanceled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEvent(t, w, "PayloadChunk", []byte("a"))
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := NewInvoker(Options{}).InvokeStream(ctx, target(t, srv.URL, time.Second), nil, nil, StreamLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.Next(); err != nil || string(c) != "a" {
		t.Fatalf("first chunk %q %v", c, err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = s.Next()
	var le *Error
	if !errors.As(err, &le) || le.Kind != KindCanceled {
		t.Fatalf("after cancel: %v, want %s", err, KindCanceled)
	}
}

// FuzzStreamNext feeds arbitrary bytes as the event stream: Next must end
// with an error or io.EOF, never panic or loop.
func FuzzStreamNext(f *testing.F) {
	var good bytes.Buffer
	writeEvent(f, &good, "PayloadChunk", []byte("hello"))
	writeEvent(f, &good, "InvokeComplete", complete("Error", "x"))
	f.Add(good.Bytes())
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &Stream{body: limitedReader{r: bytes.NewReader(b)}, dec: eventstream.NewDecoder(), ctx: context.Background(),
			limits: StreamLimits{Idle: time.Hour}, cancel: func(error) {}, setIdle: func() {}}
		for i := 0; ; i++ {
			if _, err := s.Next(); err != nil {
				return
			}
			if i > len(b) {
				t.Fatal("more chunks than input bytes")
			}
		}
	})
}

// TestInvokeStreamReusesConnections: a stream read to its InvokeComplete
// leaves its connection for the next call (a new TLS connection to Lambda
// would cost the next stream its first byte).
func TestInvokeStreamReusesConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEvent(t, w, "PayloadChunk", []byte("a"))
		writeEvent(t, w, "InvokeComplete", complete("", ""))
		// The answer's end comes a little after its last event.
		time.Sleep(50 * time.Millisecond)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	iv := NewInvoker(Options{})
	tg := target(t, srv.URL, time.Second)
	for i := 0; i < 3; i++ {
		s, err := iv.InvokeStream(context.Background(), tg, nil, nil, StreamLimits{})
		if err != nil {
			t.Fatal(err)
		}
		if chunks, err := readAll(s); err != io.EOF || len(chunks) != 1 {
			t.Fatalf("%q %v", chunks, err)
		}
		s.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 3 streams, want 1", n)
	}
}
