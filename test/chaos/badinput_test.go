package chaos

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// badPlane is a gateway with an echo route (passthrough), an API Gateway
// wrapped echo route, routes whose function answers bad headers, and the
// path-matching routes.
type badPlane struct {
	g    *harness.Gateway
	stub *harness.LambdaStub
}

func setupBad(t *testing.T) *badPlane {
	stub := harness.NewLambdaStub(t)
	stub.Accept(chaosKeyID, chaosSecret, chaosToken)
	stub.On("echo", harness.Echo)
	stub.On("bad-name", harness.LambdaOK(`{"statusCode":200,"headers":{"Bad Name":"x"},"body":"never"}`))
	stub.On("bad-name-ctl", harness.LambdaOK(`{"statusCode":200,"headers":{"X-Ctl\u0000":"x"},"body":"never"}`))
	stub.On("bad-lf", harness.LambdaOK(`{"statusCode":200,"headers":{"X-Split":"a\nSet-Cookie: evil=1"},"body":"never"}`))
	stub.On("bad-cr-mv", harness.LambdaOK(`{"statusCode":200,"multiValueHeaders":{"X-Split":["ok","a\rInjected: 1"]},"body":"never"}`))
	stub.On("path", func(w http.ResponseWriter, r *http.Request, rec *harness.Received, n int) {
		harness.LambdaOK(`{"route":"`+rec.Function+`"}`)(w, r, rec, n)
	})
	stub.On("admin", harness.LambdaOK(`{"route":"admin"}`))
	g := startGateway(t, harness.Options{Args: []string{"--read-header-timeout", "1s"}})
	apigw := func(f string) harness.Obj { return harness.Dest(f, "unwrapAsApiGateway", true) }
	g.Apply(t,
		harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "echo", Name: "echo"}, {Logical: "bad-name", Name: "bad-name"}, {Logical: "bad-name-ctl", Name: "bad-name-ctl"},
			{Logical: "bad-lf", Name: "bad-lf"}, {Logical: "bad-cr-mv", Name: "bad-cr-mv"}, {Logical: "path", Name: "path"}, {Logical: "admin", Name: "admin"}}, nil),
		harness.VirtualService("bad", []string{"*"}, nil,
			harness.Route{Exact: "/echo", Upstream: "up", AWS: harness.Dest("echo")},
			harness.Route{Exact: "/wrapped", Upstream: "up", AWS: harness.Dest("echo", "wrapAsApiGateway", true)},
			harness.Route{Exact: "/bad-name", Upstream: "up", AWS: apigw("bad-name")},
			harness.Route{Exact: "/bad-name-ctl", Upstream: "up", AWS: apigw("bad-name-ctl")},
			harness.Route{Exact: "/bad-lf", Upstream: "up", AWS: apigw("bad-lf")},
			harness.Route{Exact: "/bad-cr-mv", Upstream: "up", AWS: apigw("bad-cr-mv")},
			harness.Route{Exact: "/a/b", Upstream: "up", AWS: harness.Dest("path")},
			harness.Route{Prefix: "/admin/", Upstream: "up", AWS: harness.Dest("admin")},
		),
	)
	if st, why := g.WaitState(t, "vs", harness.Namespace, "bad", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("virtual service bad: %s: %s", st, why)
	}
	return &badPlane{g: g, stub: stub}
}

func (p *badPlane) stillServing(t testing.TB) {
	t.Helper()
	r := harness.Do(t, "POST", p.g.URL+"/echo", strings.NewReader(`{"still":"here"}`), nil)
	if r.StatusCode != 200 || string(r.Body) != `{"still":"here"}` {
		t.Errorf("the gateway stopped serving: %d %s", r.StatusCode, r.Body)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	p := setupBad(t)

	t.Run("malformed HTTP", func(t *testing.T) {
		cases := []struct{ name, raw string }{
			{"not HTTP", "GARBAGE\r\n\r\n"},
			{"binary", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"},
			{"HTTP/9.9", "GET /echo HTTP/9.9\r\nHost: x\r\n\r\n"},
			{"HTTP/1.1 without Host", "GET /echo HTTP/1.1\r\n\r\n"},
			{"two Host headers", "GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
			{"space in header name", "GET /echo HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n"},
			{"NUL in header value", "GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"},
			{"negative Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
			{"two Content-Lengths", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
			{"Content-Length and chunked (smuggling)", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/x HTTP/1.1\r\nHost: x\r\n\r\n"},
			{"bad chunk size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"},
			{"unknown transfer encoding", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nab"},
			{"request target not a path", "GET echo HTTP/1.1\r\nHost: x\r\n\r\n"},
			{"CTL in path", "GET /ec\x01ho HTTP/1.1\r\nHost: x\r\n\r\n"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := harness.RawExchange(t, p.g.Addr, tc.raw)
				switch {
				case err != nil:
					record(t, "no answer, connection closed (%v)", err)
				default:
					record(t, "%d %s", resp.StatusCode, firstLine(string(resp.Body)))
					if resp.StatusCode < 400 && !strings.Contains(tc.name, "smuggling") {
						t.Errorf("malformed request answered %d %s", resp.StatusCode, resp.Body)
					}
				}
			})
		}
		p.stillServing(t)
	})

	t.Run("smuggling framing closes the connection", func(t *testing.T) {
		// RFC 9112 §6.1: a request with Content-Length and
		// Transfer-Encoding is answered, then its connection closes, so
		// the request pipelined after its chunked body is never served.
		second := "GET /admin/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
		for _, tc := range []struct{ name, head string }{
			{"CL.TE", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"},
			{"TE.CL", "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"},
			{"TE CHUNKED", "Transfer-Encoding: CHUNKED\r\nContent-Length: 4\r\n"},
		} {
			statuses, closed := rawAnswers(t, p.g.Addr, "POST /echo HTTP/1.1\r\nHost: x\r\n"+tc.head+"\r\n0\r\n\r\n"+second)
			record(t, "%s then a pipelined request: answers %v, closed %v", tc.name, statuses, closed)
			if len(statuses) != 1 || !closed {
				t.Errorf("%s: answers %v, closed %v; want one answer and the connection closed", tc.name, statuses, closed)
			}
		}
		// HTTP/1.0: Go ignores Transfer-Encoding and frames by
		// Content-Length, so a chunk holding a request would be served.
		chunk := "GET /admin/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
		statuses, closed := rawAnswers(t, p.g.Addr, fmt.Sprintf("POST /echo HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk))
		record(t, "HTTP/1.0 chunked + Content-Length with a request in the chunk: answers %v, closed %v", statuses, closed)
		if len(statuses) != 1 || !closed {
			t.Errorf("HTTP/1.0 with Transfer-Encoding: answers %v, closed %v; want one answer and the connection closed", statuses, closed)
		}
		statuses, _ = rawAnswers(t, p.g.Addr, "GET /echo HTTP/1.1\r\nHost: x:abc\r\nConnection: close\r\n\r\n")
		record(t, "Host x:abc: answers %v", statuses)
		if len(statuses) != 1 || statuses[0] != 400 {
			t.Errorf("Host x:abc: answers %v, want 400", statuses)
		}
		p.stillServing(t)
	})

	t.Run("oversize body written before reading", func(t *testing.T) {
		// A plain client that writes its whole 7 MB body before reading
		// reads the 413 (the gateway drops the rest of the body first).
		c, err := net.DialTimeout("tcp", p.g.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		start := time.Now()
		_, werr := io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7000000\r\n\r\n"+strings.Repeat("x", 7_000_000))
		resp, rerr := http.ReadResponse(bufio.NewReader(c), nil)
		if werr != nil || rerr != nil {
			t.Fatalf("write error %v, read error %v: want the whole body written and the 413 read", werr, rerr)
		}
		resp.Body.Close()
		record(t, "7 MB body written before reading: %d after %s", resp.StatusCode, time.Since(start).Round(time.Millisecond))
		if resp.StatusCode != 413 {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
		p.stillServing(t)
	})

	t.Run("oversize headers 431", func(t *testing.T) {
		big := strings.Repeat("a", 70<<10)
		resp, err := harness.RawExchange(t, p.g.Addr, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: "+big+"\r\n\r\n")
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		record(t, "70 KiB header (limit 64 KiB): %d", resp.StatusCode)
		if resp.StatusCode != 431 {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
		p.stillServing(t)
	})

	t.Run("slowloris", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", p.g.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		_, _ = io.WriteString(c, "GET /echo HTTP/1.1\r\nHost: x\r\n")
		closed := make(chan time.Duration, 1)
		go func() {
			b := make([]byte, 1024)
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			for {
				if _, err := c.Read(b); err != nil {
					closed <- time.Since(start)
					return
				}
			}
		}()
		var took time.Duration
		sent := 0
	loop:
		for range 100 { // one header byte every 100ms, at most 10s
			select {
			case took = <-closed:
				break loop
			case <-time.After(100 * time.Millisecond):
				if _, err := c.Write([]byte("X")); err == nil {
					sent++
				}
			}
		}
		if took == 0 {
			select {
			case took = <-closed:
			case <-time.After(5 * time.Second):
				t.Fatalf("a client trickling header bytes kept its connection for over 15s; --read-header-timeout is 1s")
			}
		}
		record(t, "one header byte per 100ms, --read-header-timeout 1s: connection closed after %s (%d bytes trickled)", took.Round(10*time.Millisecond), sent)
		p.stillServing(t)
	})

	t.Run("invalid UTF-8 body in a JSON event", func(t *testing.T) {
		body := []byte{'o', 'k', 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x00}
		r := harness.Do(t, "POST", p.g.URL+"/wrapped", bytes.NewReader(body), map[string]string{"Content-Type": "text/plain"})
		if r.StatusCode != 200 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		var ev struct {
			Body            string `json:"body"`
			IsBase64Encoded bool   `json:"isBase64Encoded"`
		}
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatalf("the event Lambda got is not JSON: %v: %q", err, r.Body)
		}
		got, err := base64.StdEncoding.DecodeString(ev.Body)
		record(t, "body %q sent as isBase64Encoded=%v body=%q", body, ev.IsBase64Encoded, ev.Body)
		if !ev.IsBase64Encoded || err != nil || !bytes.Equal(got, body) {
			t.Errorf("isBase64Encoded=%v body=%q (decode error %v), want the bytes base64-encoded", ev.IsBase64Encoded, ev.Body, err)
		}
	})

	t.Run("bad headers in function output", func(t *testing.T) {
		for _, path := range []string{"/bad-name", "/bad-name-ctl", "/bad-lf", "/bad-cr-mv"} {
			r := harness.Do(t, "GET", p.g.URL+path, nil, nil)
			b := gatewayError(t, r)
			record(t, "%s: %d %s %q", path, r.StatusCode, b.Code, b.Message)
			if r.StatusCode != 502 || b.Code != "MalformedLambdaResponse" {
				t.Errorf("%s: %d %s, want 502 MalformedLambdaResponse", path, r.StatusCode, r.Body)
			}
			for k := range r.Header {
				if strings.Contains(k, "Bad") || strings.Contains(k, "Ctl") || k == "X-Split" || k == "Set-Cookie" || k == "Injected" {
					t.Errorf("%s: header %q reached the client", path, k)
				}
			}
			if strings.Contains(string(r.Body), "never") {
				t.Errorf("%s: the function's body reached the client", path)
			}
		}
	})

	t.Run("encoded slashes and dot segments", func(t *testing.T) {
		// docs/compatibility.md "path matching": dot segments removed,
		// unreserved escapes decoded, %2F never matches "/".
		cases := []struct {
			path   string
			status int
		}{
			{"/a/b", 200},
			{"/a%2Fb", 404},
			{"/a%2fb", 404},
			{"/a/%62", 200},
			{"/x/../a/b", 200},
			{"/a/./b", 200},
			{"/%2e%2e/a/b", 200},
			{"/a/b/..", 404},
			{"/admin/../a/b", 200},
			{"/a/b/../../admin/x", 200},
			{"/admin%2F..%2Fa/b", 404},
			{"/admin/%2e%2e/%2e%2e/a/b", 200},
		}
		for _, tc := range cases {
			resp, err := harness.RawExchange(t, p.g.Addr, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if err != nil {
				t.Errorf("%s: %v", tc.path, err)
				continue
			}
			record(t, "%s: %d %s", tc.path, resp.StatusCode, resp.Body)
			if resp.StatusCode != tc.status {
				t.Errorf("%s: %d %s, want %d", tc.path, resp.StatusCode, resp.Body, tc.status)
			}
		}
	})
}

// TestApplyHostileManifests: alias bombs and huge manifests fail with a
// clear error and bounded memory (peak RSS of the apply process).
func TestApplyHostileManifests(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	bomb := `apiVersion: v1
kind: Secret
metadata: {name: bomb, namespace: gloo-system}
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`
	var many strings.Builder
	manyBytes := 2 << 20
	if long {
		manyBytes = 15 << 20
	}
	for i := 0; many.Len() < manyBytes; i++ {
		fmt.Fprintf(&many, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s%d, namespace: gloo-system}\ndata: {k: %s}\n", i, base64.StdEncoding.EncodeToString([]byte(strings.Repeat("v", 200))))
	}
	huge := "apiVersion: v1\nkind: Secret\nmetadata: {name: huge}\ndata: {k: " + strings.Repeat("QUFB", 5<<20) + "}\n"
	cases := []struct {
		name, input, want string
		ok                bool
	}{
		{"alias bomb", bomb, "alias", false},
		{"20 MiB single document", huge, "larger than", false},
		{"64 MiB stream", strings.Repeat(huge, 4)[:64<<20], "larger than", false},
		{"many small documents", many.String(), "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "m.yaml")
			if err := os.WriteFile(f, []byte(tc.input), 0o600); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			rss, outText, err := measuredRun(t, dataDir, "apply", "-f", f)
			took := time.Since(start)
			out := &harness.LockedBuffer{}
			out.Write([]byte(outText))
			msg := lastLine(outText)
			record(t, "%d bytes: ok=%v in %s, peak RSS %d KiB: %s", len(tc.input), err == nil, took.Round(time.Millisecond), rss, truncateString(msg, 160))
			if (err == nil) != tc.ok {
				t.Errorf("apply ok=%v, want %v: %s", err == nil, tc.ok, msg)
			}
			if tc.want != "" && !strings.Contains(out.String(), tc.want) {
				t.Errorf("the error does not say %q: %s", tc.want, truncateString(out.String(), 500))
			}
			if rss > 512<<10 {
				t.Errorf("apply peaked at %d KiB of RSS", rss)
			}
		})
	}
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// rawAnswers writes raw on a new connection, then reads answers until the
// gateway closes the connection or 5 s pass (closed false).
func rawAnswers(t *testing.T, addr, raw string) (statuses []int, closed bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
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
			return statuses, !(errors.As(err, &ne) && ne.Timeout())
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
}
