package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
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

func FuzzValidHost(f *testing.F) {
	for _, s := range []string{"a.test", "a.test:80", "a.test:", "[::1]:443", "[::1]", "a:b:c", "[::1", "a.test:abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !validHost(host) {
			return
		}
		// A valid host with a port splits into a host and a decimal port.
		if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
			h, p, err := net.SplitHostPort(host)
			if err != nil {
				t.Fatalf("%q valid but SplitHostPort: %v", host, err)
			}
			if strings.Contains(h, ":") && host[0] != '[' {
				t.Fatalf("%q valid with an unbracketed colon in the host", host)
			}
			if n, err := strconv.Atoi(p); p != "" && (err != nil || n < 0 || n > 65535 || p[0] == '+' || p[0] == '-') {
				t.Fatalf("%q valid with port %q", host, p)
			}
		}
	})
}
