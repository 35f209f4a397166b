package lambda

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/lambdagate/lambdagate/test/harness"
)

// A hostile Lambda endpoint: the function "hostile" answers with a
// scripted sequence of raw writes, every other function echoes its
// payload in a well-formed answer. Over TLS each Write of a script is
// its own TLS record (or records, past 16 KiB), so a script says
// exactly what lands in one record.

// script answers one request for the hostile function on c; it returns
// false when the connection must end.
type script func(c net.Conn) bool

// endpoint is a scripted endpoint on loopback.
type endpoint struct {
	url   string
	roots *x509.CertPool // nil for plain TCP
	conns *atomic.Int64  // connections accepted
	// scripts counts the hostile answers written in full.
	scripts *atomic.Int64
}

// startEndpoint serves hostile on a new loopback port until the test
// ends; after the hostile function's answer, the next request on the
// same connection is answered by next when it is not nil.
func startEndpoint(t testing.TB, tlsOn bool, hostile, next script) endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := endpoint{url: "http://" + ln.Addr().String(), conns: new(atomic.Int64), scripts: new(atomic.Int64)}
	var cfg *tls.Config
	if tlsOn {
		certPEM, keyPEM, pool := harness.SelfSigned(t, "127.0.0.1")
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		// Without dynamic record sizing, one Write up to 16 KiB is one
		// record, as many TLS servers send.
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, DynamicRecordSizingDisabled: true}
		ep.url, ep.roots = "https://"+ln.Addr().String(), pool
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ep.conns.Add(1)
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(open, c)
					mu.Unlock()
					c.Close()
				}()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if cfg != nil {
					c = tls.Server(c, cfg)
				}
				serveScripted(c, hostile, next, ep.scripts)
			}()
		}
	}()
	return ep
}

func serveScripted(c net.Conn, hostile, next script, scripts *atomic.Int64) {
	br := bufio.NewReader(c)
	afterHostile := false
	for {
		req, body, err := readRequest(br)
		if err != nil {
			return
		}
		if strings.Contains(req.URL.Path, "/functions/hostile/") {
			ok := hostile(c)
			scripts.Add(1)
			if !ok {
				return
			}
			afterHostile = true
			continue
		}
		if afterHostile && next != nil {
			afterHostile = false
			if !next(c) {
				return
			}
		}
		if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
			return
		}
	}
}

// writes returns a script that writes each part with its own Write
// (its own TLS record), keeping the connection.
func writes(parts ...string) script {
	return func(c net.Conn) bool {
		for _, p := range parts {
			if _, err := io.WriteString(c, p); err != nil {
				return false
			}
		}
		return true
	}
}

// hostileClient is an invoker of client for ep, as the gateway builds it
// (the roots stand for SSL_CERT_FILE).
func hostileClient(ep endpoint, client string) *Invoker {
	return NewInvoker(Options{Client: client, TLSConfig: &tls.Config{RootCAs: ep.roots, MinVersion: tls.VersionTLS12}})
}

// exchange invokes fn at ep with a fresh payload and reports whether the
// answer is exactly that payload's echo (an error is reported as such).
func exchange(t testing.TB, iv *Invoker, ep endpoint, fn string) (own bool, got string, err error) {
	t.Helper()
	tg := target(t, ep.url, 2*time.Second)
	tg.FunctionName = fn
	tg.Prepare()
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	payload := `{"nonce":"` + hex.EncodeToString(nonce[:]) + `"}`
	res, err := iv.Invoke(context.Background(), tg, []byte(payload), nil)
	if err != nil {
		return false, "", err
	}
	return res.Status == 200 && string(res.Body) == payload, string(res.Body), nil
}

// extraAnswer is a complete answer no request asked for.
const extraAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"x\":\"EXTRA\"}"

// TestTLSLeftoverPlaintext: an answer whose last TLS record also carries
// an extra answer (Content-Length 30000: the head and 20,000 bytes, then
// 5 ms later one record with the last 10,000 bytes and a complete extra
// answer). The extra answer must never reach the next request, which
// goes to another function on the same client (net/http's after its
// allowance, see netHTTPSettle).
func TestTLSLeftoverPlaintext(t *testing.T) {
	body := strings.Repeat("x", 30000)
	hostile := func(c net.Conn) bool {
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 30000\r\n\r\n"+body[:20000]); err != nil {
			return false
		}
		time.Sleep(5 * time.Millisecond)
		_, err := io.WriteString(c, body[20000:]+extraAnswer)
		return err == nil
	}
	ep := startEndpoint(t, true, hostile, nil)
	const runs = 40
	for _, client := range clients {
		t.Run(strings.ReplaceAll(client, "/", ""), func(t *testing.T) {
			wrong := 0
			for range runs {
				iv := hostileClient(ep, client)
				tg := target(t, ep.url, 2*time.Second)
				tg.FunctionName = "hostile"
				tg.Prepare()
				res, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil)
				if err != nil || string(res.Body) != body {
					t.Fatalf("the hostile function's own answer: err %v", err)
				}
				if client == ClientNetHTTP {
					time.Sleep(netHTTPSettle)
				}
				own, got, err := exchange(t, iv, ep, "next")
				if err != nil || !own {
					wrong++
					if wrong == 1 {
						t.Logf("the next function got %.40q (err %v)", got, err)
					}
				}
				iv.CloseIdle()
			}
			if wrong > 0 {
				t.Errorf("the next request got another exchange's bytes or failed in %d of %d runs", wrong, runs)
			}
		})
	}
}

// TestTLSKeptAlive: the check for bytes left inside tls.Conn does not
// cost the reuse of a connection that is in step.
func TestTLSKeptAlive(t *testing.T) {
	ep := startEndpoint(t, true, writes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"), nil)
	for _, client := range clients {
		t.Run(strings.ReplaceAll(client, "/", ""), func(t *testing.T) {
			before := ep.conns.Load()
			iv := hostileClient(ep, client)
			defer iv.CloseIdle()
			for i := range 20 {
				fn := "next"
				if i%2 == 0 {
					fn = "hostile" // here a well-behaved one
				}
				tg := target(t, ep.url, 2*time.Second)
				tg.FunctionName = fn
				tg.Prepare()
				if _, err := iv.Invoke(context.Background(), tg, []byte(`{"a":"`+strings.Repeat("b", i*1000)+`"}`), nil); err != nil {
					t.Fatal(err)
				}
			}
			if n := ep.conns.Load() - before; n != 1 {
				t.Fatalf("20 sequential invocations opened %d connections, want 1", n)
			}
		})
	}
}

// ans is a well-formed answer with extra head lines.
func ans(head, body string) string {
	return "HTTP/1.1 200 OK\r\n" + head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

// stall writes parts, then holds the connection without a byte more
// until the client goes away.
func stall(parts ...string) script {
	return func(c net.Conn) bool {
		if writes(parts...)(c) {
			_, _ = io.Copy(io.Discard, c)
		}
		return false
	}
}

// closing writes parts, then closes the connection.
func closing(parts ...string) script {
	return func(c net.Conn) bool {
		writes(parts...)(c)
		return false
	}
}

// later writes first, then rest after d, keeping the connection.
func later(first string, d time.Duration, rest string) script {
	return func(c net.Conn) bool {
		if _, err := io.WriteString(c, first); err != nil {
			return false
		}
		time.Sleep(d)
		_, err := io.WriteString(c, rest)
		return err == nil
	}
}

// endless writes s every interval until the client goes away.
func endless(s string, every time.Duration) script {
	return func(c net.Conn) bool {
		for {
			if _, err := io.WriteString(c, s); err != nil {
				return false
			}
			time.Sleep(every)
		}
	}
}

func gzipped(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = io.WriteString(zw, s)
	_ = zw.Close()
	return b.String()
}

// hostileCase is one scripted answer of the differential suite.
type hostileCase struct {
	name   string
	answer script
	// next answers the next request on the same connection before its
	// own (well-formed) answer.
	next script
	// want is what the hostile exchange gives: "ok" (status and body as
	// below), "error" (any error), a Kind name, or "" (either ok or any
	// error). Whatever it is, an answer that is not an error carries
	// the hostile function's own body.
	want   string
	status int    // when ok; default 200
	body   string // when ok
	// stallCase: the route timeout is short.
	stallCase bool
	// settle: the follow-up exchanges wait until the hostile answer was
	// written in full, then this long.
	settle time.Duration
	// nextMayFail: the first follow-up may fail (not get another's bytes).
	nextMayFail bool
}

const stallTimeout = 50 * time.Millisecond

func hostileCases() []hostileCase {
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	body30k := strings.Repeat("x", 30000)
	oneByteChunks := strings.Repeat("1\r\nx\r\n", 20002) + "0\r\n\r\n"
	bomb := gzipped(strings.Repeat("0", maxResponseBody+1))
	cases := []hostileCase{
		// Framing.
		{name: "Content-Length then chunked", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), want: "ok", body: "ok"},
		{name: "chunked then Content-Length", answer: writes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n2\r\nok\r\n0\r\n\r\n"), want: "ok", body: "ok"},
		{name: "Content-Length 0 and chunked, an answer inside the chunk", answer: writes(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(extraAnswer), extraAnswer)), want: "ok", body: extraAnswer},
		{name: "chunked and a longer Content-Length", answer: writes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n2\r\nok\r\n0\r\n\r\n" + extraAnswer), want: "ok", body: "ok"},
		{name: "Transfer-Encoding gzip, chunked", answer: writes("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), want: "error"},
		{name: "two different Content-Lengths", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 12\r\n\r\n{}" + extraAnswer), want: "error"},
		{name: "repeated equal Content-Length", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"), want: "ok", body: "{}"},
		{name: "Content-Length list", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}"), want: "error"},
		{name: "negative Content-Length", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}"), want: "error"},
		{name: "Content-Length with +", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}"), want: "error"},
		{name: "Content-Length of 20 digits", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n{}"), want: "error"},
		{name: "Content-Length over the limit, no body sent", answer: stall("HTTP/1.1 200 OK\r\nContent-Length: 7000000\r\n\r\n"), want: "ResponseTooLarge"},
		{name: "chunk extensions", answer: writes(chunked + "2;a=b;c=\"d\"\r\nok\r\n0;e\r\n\r\n"), want: "ok", body: "ok"},
		{name: "bad chunk size", answer: writes(chunked + "zz\r\nok\r\n0\r\n\r\n"), want: "error"},
		{name: "negative chunk size", answer: writes(chunked + "-2\r\nok\r\n0\r\n\r\n"), want: "error"},
		{name: "chunk size 0x2", answer: writes(chunked + "0x2\r\nok\r\n0\r\n\r\n"), want: "error"},
		{name: "chunk size overflow", answer: writes(chunked + "10000000000000002\r\nok\r\n0\r\n\r\n"), want: "error"},
		{name: "chunk overrun", answer: writes(chunked + "2\r\nok" + extraAnswer + "\r\n0\r\n\r\n"), want: "error"},
		{name: "20,002 one-byte chunks", answer: writes(chunked + oneByteChunks), want: "ok", body: strings.Repeat("x", 20002)},
		{name: "trailers", answer: writes(chunked + "2\r\nok\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n"), want: "ok", body: "ok"},
		{name: "no length, closed after the body", answer: closing("HTTP/1.1 200 OK\r\n\r\n{}"), want: "ok", body: "{}"},
		{name: "HTTP/1.0 without length", answer: closing("HTTP/1.0 200 OK\r\n\r\n{}"), want: "ok", body: "{}"},
		// 1xx.
		{name: "ten 100 Continue", answer: writes(strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 10) + ans("", "{}")), want: "ok", body: "{}"},
		{name: "103 Early Hints with headers", answer: writes("HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n" + ans("", "{}")), want: "ok", body: "{}"},
		{name: "101 Switching Protocols", answer: stall("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n" + extraAnswer), want: "error", stallCase: true},
		{name: "endless 102", answer: endless("HTTP/1.1 102 Processing\r\n\r\n", time.Millisecond), want: "Timeout", stallCase: true},
		{name: "102 flood", answer: writes(strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 4000)), want: "LambdaUnreachable"},
		// Head syntax.
		{name: "bare LF", answer: writes("HTTP/1.1 200 OK\nContent-Length: 2\n\n{}"), want: "ok", body: "{}"},
		{name: "obs-fold", answer: writes("HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 2\r\n\r\n{}"), body: "{}"},
		{name: "NUL in a name", answer: writes("HTTP/1.1 200 OK\r\nX-A\x00b: 1\r\nContent-Length: 2\r\n\r\n{}"), want: "error"},
		{name: "space before the colon", answer: writes("HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}"), body: "{}", stallCase: true},
		{name: "no reason phrase", answer: writes("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n{}"), want: "ok", body: "{}"},
		{name: "headers over 64 KiB", answer: writes("HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 70) + "Content-Length: 2\r\n\r\n{}"), want: "error"},
		{name: "one 9 KiB header line", answer: writes("HTTP/1.1 200 OK\r\nX-Pad: " + strings.Repeat("p", 9000) + "\r\nContent-Length: 2\r\n\r\n{}"), body: "{}"},
		{name: "control bytes in header values", answer: writes(ans("Content-Type: application/json\x1b[2J\r\nX-Amzn-RequestId: r\x00-1\r\n", "{}")), want: "LambdaUnreachable"},
		{name: "DEL and 0x01 in X-Amz-Function-Error", answer: writes(ans("X-Amz-Function-Error: Unhandled\x7f\x01\r\n", `{"errorMessage":"x"}`)), want: "LambdaUnreachable"},
		// Bodies that must not be there.
		{name: "204 with a body", answer: writes("HTTP/1.1 204 No Content\r\nContent-Length: 13\r\n\r\n" + extraAnswer), want: "ok", status: 204},
		{name: "304 with a body", answer: writes("HTTP/1.1 304 Not Modified\r\n\r\n" + extraAnswer), status: 304},
		// Connection closed early.
		{name: "close before any byte", answer: closing(), want: "LambdaUnreachable"},
		{name: "close inside the status line", answer: closing("HTTP/1.1 20"), want: "LambdaUnreachable"},
		{name: "close inside the head", answer: closing("HTTP/1.1 200 OK\r\nContent-Le"), want: "LambdaUnreachable"},
		{name: "close after the head", answer: closing("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), want: "LambdaUnreachable"},
		{name: "close mid-chunk", answer: closing(chunked + "4\r\nok"), want: "LambdaUnreachable"},
		{name: "close before the final CRLF", answer: closing(chunked + "2\r\nok\r\n0\r\n"), want: "LambdaUnreachable"},
		// Extra bytes after the answer.
		{name: "extra answer in the same write", answer: writes(ans("", "{}") + extraAnswer), want: "ok", body: "{}"},
		{name: "extra answer in the next write", answer: writes(ans("", "{}"), extraAnswer), want: "ok", body: "{}", settle: 5 * time.Millisecond},
		{name: "extra answer 20 ms later", answer: later(ans("", "{}"), 20*time.Millisecond, extraAnswer), want: "ok", body: "{}", settle: 5 * time.Millisecond},
		{name: "extra answer with the body's last 10,000 bytes", answer: later("HTTP/1.1 200 OK\r\nContent-Length: 30000\r\n\r\n"+body30k[:20000], 5*time.Millisecond, body30k[20000:]+extraAnswer), want: "ok", body: body30k},
		{name: "extra answer in the record of a 16,000-byte body", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 16000\r\n\r\n", strings.Repeat("y", 16000)+extraAnswer), want: "ok", body: strings.Repeat("y", 16000)},
		{name: "extra answer after a chunked body", answer: writes(chunked + "2\r\nok\r\n0\r\n\r\n" + extraAnswer), want: "ok", body: "ok"},
		{name: "garbage after the body", answer: writes(ans("", "{}") + "\x00\x01garbage"), want: "ok", body: "{}"},
		{name: "garbage before the next answer", answer: writes(ans("", "{}")), next: writes("garbage\r\n"), want: "ok", body: "{}", nextMayFail: true},
		// Content codings.
		{name: "Content-Encoding gzip", answer: writes(ans("Content-Encoding: gzip\r\n", gzipped(`{"ok":true}`))), want: "ok", body: `{"ok":true}`},
		{name: "gzip over the limit once decoded", answer: writes(ans("Content-Encoding: gzip\r\n", bomb)), want: "ResponseTooLarge"},
		{name: "corrupt gzip", answer: writes(ans("Content-Encoding: gzip\r\n", "not gzip")), want: "LambdaUnreachable"},
		{name: "Content-Encoding br", answer: writes(ans("Content-Encoding: br\r\n", "\x0b\x01\x80{}\x03")), want: "LambdaUnreachable"},
	}
	// A stall at every point of an answer.
	for _, s := range []struct{ name, sent string }{
		{"before the status line", ""},
		{"inside the status line", "HTTP/1.1 20"},
		{"after the status line", "HTTP/1.1 200 OK\r\n"},
		{"inside a header", "HTTP/1.1 200 OK\r\nContent-Len"},
		{"between 100 Continue and the answer", "HTTP/1.1 100 Continue\r\n\r\n"},
		{"after the head", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"},
		{"mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\""},
		{"in a body without length", "HTTP/1.1 200 OK\r\n\r\n{\"a\""},
		{"inside a chunk size", chunked + "1"},
		{"after a chunk size", chunked + "2\r\n"},
		{"mid-chunk", chunked + "4\r\nok"},
		{"before a chunk's CRLF", chunked + "2\r\nok"},
		{"before the last chunk", chunked + "2\r\nok\r\n"},
		{"in the trailer", chunked + "2\r\nok\r\n0\r\nX-T: 1\r\n"},
		{"before the final CRLF", chunked + "2\r\nok\r\n0\r\n"},
	} {
		cases = append(cases, hostileCase{name: "stall " + s.name, answer: stall(s.sent), want: "Timeout", stallCase: true})
	}
	return cases
}

// hostileRuns is how often each case runs per client and transport:
// HOSTILE_RUNS, default 2 (stalls: at most 10, default 1).
func hostileRuns(stallCase bool) int {
	n, err := strconv.Atoi(os.Getenv("HOSTILE_RUNS"))
	if err != nil || n <= 0 {
		n = 2
		if stallCase {
			n = 1
		}
	}
	if stallCase {
		n = min(n, 10)
	}
	return n
}

// raceMode (HOSTILE_RACE=1) measures instead of asserting: the follow-up
// exchanges start at once in every case, for both clients. Bytes an
// endpoint sends after its answer that arrive only after the next request
// was written cannot be told from the answer to that request by any
// HTTP/1.1 client; this mode counts how often each client loses that race.
var raceMode = os.Getenv("HOSTILE_RACE") == "1"

// netHTTPSettle is the wait before net/http's follow-up exchanges in the
// asserted suite: net/http puts a connection back in its pool before its
// reader goroutine sees unsolicited bytes (the own client checks before),
// and a request taken from the pool in between reads them.
const netHTTPSettle = 10 * time.Millisecond

// TestHostileEndpoint runs every case over plain TCP and TLS with both
// clients. The invariant: no exchange ever receives bytes of another;
// after each case two exchanges with another function on the same
// client get exactly their own answers. The lines "hostile: case
// transport client passed/runs outcome" are the figures of
// docs/reliability.md.
func TestHostileEndpoint(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, tlsOn := range []bool{false, true} {
				transport := "plain"
				if tlsOn {
					transport = "TLS"
				}
				ep := startEndpoint(t, tlsOn, tc.answer, tc.next)
				for _, client := range clients {
					runs := hostileRuns(tc.stallCase)
					passed := 0
					var outcome, failed string
					for range runs {
						ok, o := runHostile(t, tc, ep, client)
						if ok {
							passed++
							outcome = o
						} else if failed == "" {
							failed = o
						}
					}
					if failed != "" {
						outcome = failed
					}
					t.Logf("hostile: %s\t%s\t%s\t%d/%d\t%s", tc.name, transport, client, passed, runs, outcome)
					if passed != runs && !raceMode {
						t.Errorf("%s, %s: the invariant held in %d of %d runs (first failure: %s)", transport, client, passed, runs, outcome)
					}
				}
			}
		})
	}
}

// runHostile runs one case once on a new client; it reports whether the
// case held and what the hostile exchange gave.
func runHostile(t *testing.T, tc hostileCase, ep endpoint, client string) (bool, string) {
	t.Helper()
	iv := hostileClient(ep, client)
	defer iv.CloseIdle()
	timeout := 2 * time.Second
	if tc.stallCase {
		timeout = stallTimeout
	}
	tg := target(t, ep.url, timeout)
	tg.FunctionName = "hostile"
	tg.Prepare()
	scripted := ep.scripts.Load()
	start := time.Now()
	res, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil)
	took := time.Since(start)
	outcome := "ok"
	var problem string
	if err != nil {
		outcome = "error"
		var le *Error
		if errors.As(err, &le) {
			outcome = le.Kind.String()
		}
		if tc.stallCase {
			outcome += fmt.Sprintf(" after %d ms", took.Milliseconds())
		}
		if tc.want == "ok" || tc.want != "" && tc.want != "error" && tc.want != outcome && !strings.HasPrefix(outcome, tc.want+" ") {
			problem = fmt.Sprintf("want %s, got %v", tc.want, err)
		}
	} else {
		status := tc.status
		if status == 0 {
			status = 200
		}
		if res.Status != status || string(res.Body) != tc.body {
			problem = fmt.Sprintf("another answer: status %d, body %.60q", res.Status, res.Body)
		} else if tc.want != "" && tc.want != "ok" {
			problem = "want " + tc.want + ", got an answer"
		}
	}
	if tc.settle > 0 && !raceMode {
		for end := time.Now().Add(5 * time.Second); ep.scripts.Load() == scripted && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
	}
	switch {
	case raceMode:
	case client == ClientNetHTTP:
		time.Sleep(max(tc.settle, netHTTPSettle))
	default:
		time.Sleep(tc.settle)
	}
	for i := range 2 {
		own, got, err := exchange(t, iv, ep, "next")
		if own || (err != nil && i == 0 && tc.nextMayFail) {
			continue
		}
		if problem == "" {
			problem = fmt.Sprintf("follow-up %d got %.60q (err %v)", i+1, got, err)
		}
	}
	if problem != "" {
		return false, outcome + ": " + problem
	}
	return true, outcome
}

// TestAnswerBufferGrowsWithBytes: answers that announce 6,000,000 bytes
// and send one cost memory for what arrived, not for what was announced.
func TestAnswerBufferGrowsWithBytes(t *testing.T) {
	const inFlight = 40
	for _, client := range clients {
		t.Run(strings.ReplaceAll(client, "/", ""), func(t *testing.T) {
			var heads sync.WaitGroup
			heads.Add(inFlight)
			release := make(chan struct{})
			ep := startEndpoint(t, false, func(c net.Conn) bool {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6000000\r\n\r\n{")
				heads.Done()
				<-release
				return false
			}, nil)
			iv := hostileClient(ep, client)
			defer iv.CloseIdle()
			tg := target(t, ep.url, 5*time.Second)
			tg.FunctionName = "hostile"
			tg.Prepare()
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			before := ms.HeapAlloc
			ctx, cancel := context.WithCancel(context.Background())
			var done sync.WaitGroup
			for range inFlight {
				done.Add(1)
				go func() {
					defer done.Done()
					_, _ = iv.Invoke(ctx, tg, []byte(`{}`), nil)
				}()
			}
			heads.Wait()
			time.Sleep(50 * time.Millisecond) // the clients read the head and wait in the body
			runtime.GC()
			runtime.ReadMemStats(&ms)
			grown := int64(ms.HeapAlloc) - int64(before)
			cancel()
			close(release)
			done.Wait()
			t.Logf("%d answers announcing 6,000,000 bytes each, 1 byte sent: heap +%d KiB", inFlight, grown>>10)
			if limit := int64(16 << 20); grown > limit {
				t.Fatalf("heap grew by %d MiB for %d answers that sent 1 byte each (limit %d MiB)", grown>>20, inFlight, limit>>20)
			}
		})
	}
}

// TestCredentialsWithControlBytes: a key id or session token holding CR,
// LF or another control byte is refused before any byte is written,
// naming the field and never the value.
func TestCredentialsWithControlBytes(t *testing.T) {
	ep := startEndpoint(t, false, writes(ans("", "{}")), nil)
	for _, tc := range []struct{ name, keyID, token, field string }{
		{"CR LF in the session token", "AKVALUE", "TOKVALUE\r\nX-Injected: 1", "aws_session_token"},
		{"LF in the session token", "AKVALUE", "TOKVALUE\nPOST /x HTTP/1.1", "aws_session_token"},
		{"NUL in the key id", "AKVALUE\x00", "", "aws_access_key_id"},
		{"CR LF in the key id", "AKVALUE\r\nX-Injected: 1", "TOKVALUE", "aws_access_key_id"},
	} {
		for _, client := range clients {
			t.Run(tc.name+"/"+strings.ReplaceAll(client, "/", ""), func(t *testing.T) {
				before := ep.conns.Load()
				tg := target(t, ep.url, 2*time.Second)
				tg.FunctionName = "hostile"
				tg.Credentials = credentials.NewStaticCredentialsProvider(tc.keyID, "secret", tc.token)
				tg.Prepare()
				_, err := hostileClient(ep, client).Invoke(context.Background(), tg, []byte(`{}`), nil)
				var le *Error
				if !errors.As(err, &le) || le.Kind != KindNoCredentials || !strings.Contains(err.Error(), tc.field) {
					t.Fatalf("err %v, want NoCredentials naming %s", err, tc.field)
				}
				if strings.Contains(err.Error(), "VALUE") || strings.Contains(err.Error(), "Injected") {
					t.Fatalf("the error shows the value: %v", err)
				}
				if n := ep.conns.Load() - before; n != 0 {
					t.Fatalf("%d connections opened for a request that cannot be sent", n)
				}
			})
		}
	}
}

// FuzzRecordTracker: however the bytes of a stream are split into reads,
// the tracker says the stream ends a whole TLS record exactly when a
// parse of the whole stream does.
func FuzzRecordTracker(f *testing.F) {
	f.Add([]byte("\x17\x03\x03\x00\x02ok"), uint8(3))
	f.Add([]byte("\x17\x03\x03\x00\x02ok\x17\x03"), uint8(1))
	f.Add([]byte("\x16\x03\x01\x00\x00"), uint8(7))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		rt := &recordTracker{Conn: &chunkConn{data: stream, step: int(step%16) + 1}}
		if _, err := io.Copy(io.Discard, readerOnly{rt}); err != nil {
			t.Fatal(err)
		}
		rest := stream
		for len(rest) >= 5 {
			n := 5 + (int(rest[3])<<8 | int(rest[4]))
			if len(rest) < n {
				break
			}
			rest = rest[n:]
		}
		if want := len(rest) == 0; rt.atBoundary() != want {
			t.Fatalf("atBoundary %v, want %v (%d bytes left unparsed)", rt.atBoundary(), want, len(rest))
		}
	})
}

// chunkConn reads data at most step bytes at a time.
type chunkConn struct {
	net.Conn
	data []byte
	step int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.step)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// readerOnly hides every method but Read, so io.Copy reads through it.
type readerOnly struct{ io.Reader }

// TestTLSHandshakeStall: an endpoint that accepts the connection and
// never answers the TLS handshake (or answers half of it) ends in a 504 at
// the route timeout, with both clients.
func TestTLSHandshakeStall(t *testing.T) {
	for _, half := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					if half {
						// A ServerHello record header that promises more.
						_, _ = c.Write([]byte("\x16\x03\x03\x01\x00\x02"))
					}
					_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
					_, _ = io.Copy(io.Discard, c)
				}()
			}
		}()
		for _, client := range clients {
			t.Run(fmt.Sprintf("half=%v/%s", half, strings.ReplaceAll(client, "/", "")), func(t *testing.T) {
				ep := endpoint{url: "https://" + ln.Addr().String()}
				start := time.Now()
				_, err := hostileClient(ep, client).Invoke(context.Background(), target(t, ep.url, stallTimeout), []byte(`{}`), nil)
				var le *Error
				if !errors.As(err, &le) || le.Kind != KindTimeout {
					t.Fatalf("err %v after %v, want Timeout", err, time.Since(start))
				}
				if took := time.Since(start); took > time.Second {
					t.Fatalf("took %v for a route timeout of %v", took, stallTimeout)
				}
			})
		}
	}
}
