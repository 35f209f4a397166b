package lambda

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/lambdagate/lambdagate/bench/rawstub"
)

var clients = []string{ClientLambdagate, ClientNetHTTP}

// target returns a prepared target for the function "f" at base.
func target(tb testing.TB, base string, timeout time.Duration) *Target {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	tg := &Target{FunctionName: "f", Region: "us-east-1", Endpoint: u, Timeout: timeout,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	tg.Prepare()
	return tg
}

// rawServer answers every connection with handle, which reads the request
// itself; for answers net/http's server will not send.
func rawServer(t *testing.T, handle func(c net.Conn, br *bufio.Reader)) string {
	return rawstub.Serve(t, func(c net.Conn, br *bufio.Reader) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		handle(c, br)
	})
}

// readRequest reads one request and its body.
func readRequest(br *bufio.Reader) (*http.Request, []byte, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(req.Body)
	return req, body, err
}

// TestClientsAgree runs both HTTP clients against the same answers: each
// must give the same Result or the same kind of Error.
func TestClientsAgree(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		payload string
		timeout time.Duration
		check   func(t *testing.T, res *Result, err error)
	}{
		{
			name: "ok with Lambda's headers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Amzn-RequestId", "req-1")
				w.Header().Set("X-Amz-Executed-Version", "7")
				fmt.Fprintf(w, `{"got":%q,"type":%q,"len":%q}`, body, r.Header.Get("X-Amz-Invocation-Type"), r.Header.Get("Content-Length"))
			},
			payload: `{"a":1}`,
			check: func(t *testing.T, res *Result, err error) {
				if err != nil {
					t.Fatal(err)
				}
				want := `{"got":"{\"a\":1}","type":"RequestResponse","len":"7"}`
				if res.Status != 200 || string(res.Body) != want || res.RequestID != "req-1" || res.ExecutedVersion != "7" || res.ContentType != "application/json" {
					t.Fatalf("got %+v body %s", res, res.Body)
				}
			},
		},
		{
			name: "empty payload sends Content-Length 0",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"cl":%q,"te":%q}`, r.Header.Get("Content-Length"), r.TransferEncoding)
			},
			check: func(t *testing.T, res *Result, err error) {
				if err != nil || string(res.Body) != `{"cl":"0","te":[]}` {
					t.Fatalf("res %v err %v", res, err)
				}
			},
		},
		{
			name: "chunked answer",
			handler: func(w http.ResponseWriter, r *http.Request) {
				for i := range 3 {
					fmt.Fprintf(w, "part%d;", i)
					w.(http.Flusher).Flush()
				}
			},
			check: func(t *testing.T, res *Result, err error) {
				if err != nil || string(res.Body) != "part0;part1;part2;" {
					t.Fatalf("res %v err %v", res, err)
				}
			},
		},
		{
			name: "1 MB each way",
			handler: func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = w.Write(body)
			},
			payload: big,
			check: func(t *testing.T, res *Result, err error) {
				if err != nil || string(res.Body) != big {
					t.Fatalf("err %v, %d bytes back", err, len(res.Body))
				}
			},
		},
		{
			name: "function error",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Amz-Function-Error", "Unhandled")
				_, _ = w.Write([]byte(`{"errorType":"Error","errorMessage":"boom"}`))
			},
			check: func(t *testing.T, res *Result, err error) {
				var le *Error
				if !errors.As(err, &le) || le.Kind != KindFunction || le.FunctionError != "Unhandled" || le.Message != "boom" || le.Type != "Error" {
					t.Fatalf("err %#v", err)
				}
			},
		},
		{
			name: "function not found",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/")
				w.WriteHeader(404)
				_, _ = w.Write([]byte(`{"Type":"User","Message":"Function not found: f"}`))
			},
			check: func(t *testing.T, res *Result, err error) {
				var le *Error
				if !errors.As(err, &le) || le.Kind != KindNotFound || le.Type != "ResourceNotFoundException" || le.Message != "Function not found: f" {
					t.Fatalf("err %#v", err)
				}
			},
		},
		{
			name: "throttled with Retry-After",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3")
				w.WriteHeader(429)
			},
			// Longer than the throttle retry budget (1s), so the last
			// retry always ends in Lambda's 429, never in the route
			// timeout, however slow the machine.
			timeout: 3 * time.Second,
			check: func(t *testing.T, res *Result, err error) {
				var le *Error
				if !errors.As(err, &le) || le.Kind != KindThrottled || le.RetryAfter != 3*time.Second {
					t.Fatalf("err %#v", err)
				}
			},
		},
		{
			name: "route timeout",
			handler: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			timeout: 100 * time.Millisecond,
			check: func(t *testing.T, res *Result, err error) {
				var le *Error
				if !errors.As(err, &le) || le.Kind != KindTimeout {
					t.Fatalf("err %#v", err)
				}
			},
		},
		{
			name: "connection closed without an answer",
			handler: func(w http.ResponseWriter, r *http.Request) {
				c, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					c.Close()
				}
			},
			check: func(t *testing.T, res *Result, err error) {
				var le *Error
				if !errors.As(err, &le) || le.Kind != KindUnreachable {
					t.Fatalf("err %#v", err)
				}
			},
		},
		{
			name: "truncated body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				c, brw, err := w.(http.Hijacker).Hijack()
				if err == nil {
					brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"short\"")
					brw.Flush()
					c.Close()
				}
			},
			check: func(t *testing.T, res *Result, err error) {
				var le *Error
				if !errors.As(err, &le) || le.Kind != KindUnreachable {
					t.Fatalf("err %#v", err)
				}
			},
		},
		{
			name: "answer over the size limit",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(maxResponseBody+1))
				_, _ = w.Write(make([]byte, maxResponseBody+1))
			},
			check: func(t *testing.T, res *Result, err error) {
				var le *Error
				if !errors.As(err, &le) || le.Kind != KindResponseTooLarge {
					t.Fatalf("err %#v", err)
				}
			},
		},
	}
	for _, tc := range tests {
		for _, client := range clients {
			t.Run(tc.name+"/"+strings.ReplaceAll(client, "/", ""), func(t *testing.T) {
				srv := httptest.NewServer(tc.handler)
				defer srv.Close()
				iv := NewInvoker(Options{Client: client})
				defer iv.CloseIdle()
				timeout := tc.timeout
				if timeout == 0 {
					timeout = 5 * time.Second
				}
				res, err := iv.Invoke(context.Background(), target(t, srv.URL, timeout), []byte(tc.payload), nil)
				tc.check(t, res, err)
			})
		}
	}
}

// counter counts a server's new connections and requests.
type counter struct{ conns, requests atomic.Int64 }

func countingServer(t *testing.T, c *counter, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		h(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	return srv
}

func okHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	_, _ = w.Write([]byte(`{}`))
}

// TestKeptAliveConnections: sequential invocations share one connection;
// when the server closes it while idle, the next one opens another and
// the function still runs exactly once per invocation.
func TestKeptAliveConnections(t *testing.T) {
	var c counter
	srv := countingServer(t, &c, okHandler)
	srv.Start()
	defer srv.Close()
	iv := NewInvoker(Options{})
	defer iv.CloseIdle()
	tg := target(t, srv.URL, 5*time.Second)
	invoke := func() {
		t.Helper()
		if _, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		invoke()
	}
	if n := c.conns.Load(); n != 1 {
		t.Fatalf("20 sequential invocations opened %d connections, want 1", n)
	}
	for round := range 3 {
		srv.CloseClientConnections()
		// The server's close reaches the client's socket asynchronously.
		time.Sleep(20 * time.Millisecond)
		invoke()
		if got, want := c.conns.Load(), int64(2+round); got != want {
			t.Fatalf("round %d: %d connections, want %d", round, got, want)
		}
	}
	if got := c.requests.Load(); got != 23 {
		t.Fatalf("the function ran %d times for 23 invocations", got)
	}
}

// TestConnectionCloseAnswer: an answer with "Connection: close" is read and
// its connection is not reused.
func TestConnectionCloseAnswer(t *testing.T) {
	var c counter
	srv := countingServer(t, &c, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		okHandler(w, r)
	})
	srv.Start()
	defer srv.Close()
	iv := NewInvoker(Options{})
	tg := target(t, srv.URL, 5*time.Second)
	for range 3 {
		if _, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.conns.Load(); n != 3 {
		t.Fatalf("%d connections for 3 closing answers, want 3", n)
	}
}

// TestCanceledInvocation: the caller's context ending aborts the call at
// once, and the aborted connection is not reused.
func TestCanceledInvocation(t *testing.T) {
	release := make(chan struct{})
	var c counter
	srv := countingServer(t, &c, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Block") != "" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		okHandler(w, r)
	})
	srv.Start()
	defer srv.Close()
	defer close(release)
	iv := NewInvoker(Options{})
	tg := target(t, srv.URL, 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := iv.Invoke(ctx, tg, []byte(`{}`), []Header{{"X-Test-Block", "1"}})
	var le *Error
	if !errors.As(err, &le) || le.Kind != KindCanceled {
		t.Fatalf("err %#v, want KindCanceled", err)
	}
	if _, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	if n := c.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the canceled one is not reused)", n)
	}
}

// TestTLSEndpoint: https endpoints are verified against the configured
// roots; an unknown certificate fails the call.
func TestTLSEndpoint(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(okHandler))
	var resumed atomic.Int64
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if tc, ok := c.(*tls.Conn); ok && s == http.StateActive && tc.ConnectionState().DidResume {
			resumed.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	for _, client := range clients {
		t.Run(strings.ReplaceAll(client, "/", ""), func(t *testing.T) {
			iv := NewInvoker(Options{Client: client, TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
			defer iv.CloseIdle()
			tg := target(t, srv.URL, 5*time.Second)
			for range 3 {
				if res, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil); err != nil || string(res.Body) != `{}` {
					t.Fatalf("res %v err %v", res, err)
				}
			}
			if client == ClientLambdagate {
				// A new connection resumes the TLS session.
				before := resumed.Load()
				iv.CloseIdle()
				if _, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil); err != nil {
					t.Fatal(err)
				}
				if resumed.Load() != before+1 {
					t.Errorf("the second connection did not resume the TLS session")
				}
			}
			_, err := NewInvoker(Options{Client: client}).Invoke(context.Background(), tg, []byte(`{}`), nil)
			var le *Error
			if !errors.As(err, &le) || le.Kind != KindUnreachable || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("unknown certificate: err %v", err)
			}
		})
	}
}

// TestWireRequestVerifiesWithTheSDK reads the bytes the client writes as a
// plain HTTP request and signs that request again with the SDK's signer:
// the Authorization headers must be identical, for both clients.
func TestWireRequestVerifiesWithTheSDK(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC)
	type seen struct {
		req  *http.Request
		body []byte
	}
	got := make(chan seen, 1)
	base := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, body, err := readRequest(br)
		if err != nil {
			return
		}
		got <- seen{req, body}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	})
	for _, client := range clients {
		t.Run(strings.ReplaceAll(client, "/", ""), func(t *testing.T) {
			iv := NewInvoker(Options{Client: client})
			iv.now = func() time.Time { return at }
			tg := target(t, base, 5*time.Second)
			tg.FunctionName, tg.Qualifier = "arn:aws:lambda:us-east-1:123456789012:function:my fn", "live"
			tg.Credentials = credentials.NewStaticCredentialsProvider("AKID", "secret", "session-token")
			tg.Prepare()
			extra := []Header{{"X-Amzn-Trace-Id", "Root=1-abc"}, {"Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, {"X-Envoy-Original-Path", "/a?b=c"}}
			if _, err := iv.Invoke(context.Background(), tg, []byte(`{"x":1}`), extra); err != nil {
				t.Fatal(err)
			}
			s := <-got
			auth := s.req.Header.Get("Authorization")
			s.req.Header.Del("Authorization")
			s.req.URL.Scheme, s.req.URL.Host = "http", s.req.Host
			creds, _ := tg.Credentials.Retrieve(context.Background())
			sum := sha256Hex(s.body)
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, s.req, sum, "lambda", "us-east-1", at); err != nil {
				t.Fatal(err)
			}
			if want := s.req.Header.Get("Authorization"); auth != want {
				t.Fatalf("Authorization\n got %s\nSDK  %s", auth, want)
			}
			if s.req.Header.Get("X-Amzn-Trace-Id") != "Root=1-abc" || s.req.Header.Get("User-Agent") != userAgent {
				t.Fatalf("headers %v", s.req.Header)
			}
		})
	}
}

// TestMalformedAnswers: what is not HTTP/1.1 is an unreachable Lambda with
// the reason, never a panic or a hang.
func TestMalformedAnswers(t *testing.T) {
	for _, tc := range []struct{ name, answer, want string }{
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", "bad status line"},
		{"HTTP/2 preface", "HTTP/2 200\r\n\r\n", "bad status line"},
		{"bad code", "HTTP/1.1 2x0 OK\r\n\r\n", "bad status code"},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}", "bad header line"},
		{"folded header", "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 2\r\n\r\n{}", "bad header line"},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "bad Content-Length"},
		{"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported Transfer-Encoding"},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"},
		{"huge header", "HTTP/1.1 200 OK\r\nX-A: " + strings.Repeat("a", 9000) + "\r\n\r\n", "longer than 8 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, _, err := readRequest(br); err == nil {
					_, _ = io.WriteString(c, tc.answer)
				}
			})
			_, err := NewInvoker(Options{}).Invoke(context.Background(), target(t, base, 2*time.Second), []byte(`{}`), nil)
			var le *Error
			if !errors.As(err, &le) || le.Kind != KindUnreachable || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want KindUnreachable with %q", err, tc.want)
			}
		})
	}
}

// TestConcurrentInvocations: many goroutines share the pool; every answer
// belongs to its own request.
func TestConcurrentInvocations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	iv := NewInvoker(Options{MaxIdleConnsPerHost: 4})
	defer iv.CloseIdle()
	tg := target(t, srv.URL, 5*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				want := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				res, err := iv.Invoke(context.Background(), tg, []byte(want), nil)
				if err == nil && string(res.Body) != want {
					err = fmt.Errorf("sent %s, got %s", want, res.Body)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	iv.h1.mu.Lock()
	n := len(iv.h1.idle[tg.conn])
	iv.h1.mu.Unlock()
	if n > 4 {
		t.Errorf("%d idle connections kept, MaxIdleConnsPerHost is 4", n)
	}
}

// FuzzReadResponse: whatever bytes come back, the parser never panics, and
// an answer it accepts is one net/http reads the same way.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nX-Amzn-ErrorType: X\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nbody to the end"))
	f.Add([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pc := &h1Conn{br: bufio.NewReaderSize(bytes.NewReader(data), 8<<10)}
		m, body, err := pc.readResponse()
		if err != nil {
			return
		}
		hr := bufio.NewReader(bytes.NewReader(data))
		resp, herr := http.ReadResponse(hr, &http.Request{Method: http.MethodPost})
		// Interim 1xx answers are skipped, as net/http's Transport does.
		for herr == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
			resp, herr = http.ReadResponse(hr, &http.Request{Method: http.MethodPost})
		}
		if herr != nil {
			// net/http is stricter in places (e.g. reason phrases);
			// what matters is that an accepted answer reads the same.
			return
		}
		hbody, herr := io.ReadAll(resp.Body)
		if herr != nil {
			return
		}
		if resp.StatusCode != m.status {
			t.Fatalf("status %d, net/http %d", m.status, resp.StatusCode)
		}
		if !bytes.Equal(body, hbody) {
			t.Fatalf("body %q, net/http %q", body, hbody)
		}
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
