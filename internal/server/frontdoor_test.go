package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/gateway"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// startRouted is a real server with one passthrough route, prefix /a, for
// any host.
func startRouted(t *testing.T) (*harness, *lambdaStub) {
	t.Helper()
	stub := &lambdaStub{}
	ls := httptest.NewServer(stub)
	t.Cleanup(ls.Close)
	h := startServer(t, ls.URL)
	h.apply(fmt.Sprintf(vsTemplate, "up"))
	h.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.State == core.StateAccepted })
	return h, stub
}

// rawAnswers writes raw on a new connection to the server, then reads
// answers until the server closes the connection (or 5 s pass): the
// statuses it answered and whether it closed.
func rawAnswers(t *testing.T, h *harness, raw string) (statuses []int, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if ok := asNetErr(err, &ne); ok && ne.Timeout() {
				return statuses, false
			}
			return statuses, true
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
}

func asNetErr(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}

// A request framed by both Content-Length and Transfer-Encoding may be a
// smuggling attempt (a front proxy framing by Content-Length sees one
// request, the gateway two): the connection closes after the first answer,
// so the bytes after its chunked body are never served.
func TestContentLengthWithTransferEncodingClosesTheConnection(t *testing.T) {
	h, stub := startRouted(t)
	second := "GET /a/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	cases := []struct{ name, head string }{
		{"CL.TE", "Content-Length: 44\r\nTransfer-Encoding: chunked\r\n"},
		{"TE.CL", "Transfer-Encoding: chunked\r\nContent-Length: 44\r\n"},
		{"TE upper case", "TE: x\r\nTransfer-Encoding: CHUNKED\r\nContent-Length: 44\r\n"},
		{"chunked alone", "Transfer-Encoding: chunked\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := stub.calls.Load()
			st, closed := rawAnswers(t, h, "POST /a HTTP/1.1\r\nHost: x\r\n"+tc.head+"\r\n0\r\n\r\n"+second)
			if len(st) != 1 || !closed {
				t.Fatalf("answers %v, closed %v: want one answer, then the connection closed", st, closed)
			}
			if n := stub.calls.Load() - before; n != 1 {
				t.Errorf("Lambda called %d times, want 1", n)
			}
		})
	}
	// HTTP/1.0 ignores Transfer-Encoding (net/http frames by
	// Content-Length and removes the header); RFC 9112 §6.1 asks to close
	// after such a message. A front proxy framing by the chunks would see
	// the second request as chunk data.
	t.Run("HTTP/1.0 with Transfer-Encoding", func(t *testing.T) {
		before := stub.calls.Load()
		smuggled := "GET /a/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
		st, closed := rawAnswers(t, h, "POST /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"+
			fmt.Sprintf("%x\r\n", len(smuggled))+smuggled+"\r\n0\r\n\r\n")
		if len(st) != 1 || !closed {
			t.Fatalf("answers %v, closed %v: want one answer, then the connection closed", st, closed)
		}
		if n := stub.calls.Load() - before; n != 1 {
			t.Errorf("Lambda called %d times, want 1", n)
		}
	})
	// Content-Length alone keeps the connection: pipelined requests are
	// all answered.
	st, _ := rawAnswers(t, h, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"+second+"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if len(st) != 3 {
		t.Errorf("Content-Length framing, 3 pipelined requests: answers %v", st)
	}
}

func TestHostWithABadPortIsRefused(t *testing.T) {
	h, stub := startRouted(t)
	for _, tc := range []struct {
		host string
		want int
	}{
		{"a.test", 200},
		{"a.test:8080", 200},
		{"a.test:", 200}, // RFC 3986: port = *DIGIT
		{"127.0.0.1:1", 200},
		{"[::1]:65535", 200},
		{"[::1]", 200},
		{"a.test:abc", 400},
		{"a.test:80x", 400},
		{"a.test:+80", 400},
		{"a.test:65536", 400},
		{"a.test:123456", 400},
		{"a.test:80:80", 400},
		{"::1", 400},
		{"[::1]:x", 400},
		{"[::1]x", 400},
		{"[::1", 400},
	} {
		before := stub.calls.Load()
		st, _ := rawAnswers(t, h, "GET /a HTTP/1.1\r\nHost: "+tc.host+"\r\nConnection: close\r\n\r\n")
		if len(st) != 1 || st[0] != tc.want {
			t.Errorf("Host %q: answers %v, want %d", tc.host, st, tc.want)
		}
		if tc.want != 200 && stub.calls.Load() != before {
			t.Errorf("Host %q reached Lambda", tc.host)
		}
	}
}

// A client that writes its whole request before reading (no Expect:
// 100-continue) reads the error answer to a body the gateway will not
// take, instead of a reset: the gateway discards the rest of the body
// (bounded) before it closes.
func TestOversizeBodyAnswerReachesAClientThatWritesFirst(t *testing.T) {
	h, stub := startRouted(t)
	big := strings.Repeat("x", 7_000_000)
	var chunked strings.Builder
	for i := 0; i < len(big); i += 1 << 16 {
		part := big[i:min(i+1<<16, len(big))]
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", len(part), part)
	}
	chunked.WriteString("0\r\n\r\n")
	for _, tc := range []struct {
		name, raw string
		want      int
	}{
		{"Content-Length over the limit", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 7000000\r\n\r\n" + big, 413},
		{"chunked over the limit", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked.String(), 413},
		{"no route, large body", "POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 7000000\r\n\r\n" + big, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			start := time.Now()
			if _, err := io.WriteString(c, tc.raw); err != nil {
				t.Fatalf("writing the request: %v", err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			resp.Body.Close()
			t.Logf("%d bytes written, then %d read, %s after the first byte", len(tc.raw), resp.StatusCode, time.Since(start).Round(time.Millisecond))
			if resp.StatusCode != tc.want || !resp.Close {
				t.Errorf("status %d, close %v: want %d and Connection: close", resp.StatusCode, resp.Close, tc.want)
			}
		})
	}
	if n := stub.calls.Load(); n != 0 {
		t.Errorf("Lambda called %d times", n)
	}
	// A client that waits for 100 Continue gets the 413 at once: nothing to
	// discard.
	c, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 7000000\r\nExpect: 100-continue\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 413 || time.Since(start) > time.Second {
		t.Errorf("Expect: 100-continue: %v %v after %s, want 413 at once", resp, err, time.Since(start))
	}
}

// The discarding is bounded in time and in bytes: the answer is sent
// first, then the connection closes when either bound is reached.
func TestBodyDiscardBounds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound gateway.BodyDiscard
	}{
		{"time", gateway.BodyDiscard{Bytes: 1 << 40, Timeout: 300 * time.Millisecond}},
		{"bytes", gateway.BodyDiscard{Bytes: 1 << 20, Timeout: time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := startObserved(t, func(c *Config) { c.BodyDiscard = tc.bound })
			c, err := net.Dial("tcp", strings.TrimPrefix(o.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			// The body announced is never sent in full: 10 MB, slowly.
			_, _ = io.WriteString(c, "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				chunk := make([]byte, 64<<10)
				for range 160 {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
			start := time.Now()
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != 413 {
				t.Fatalf("status %d, want 413", resp.StatusCode)
			}
			_, err = br.ReadByte()
			took := time.Since(start)
			if err == nil || took > 3*time.Second {
				t.Errorf("after the answer: %v after %s, want the connection closed within 3s (bound %+v)", err, took, tc.bound)
			}
		})
	}
}
