package lambda

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	ep := endpoint{url: "http://" + ln.Addr().String(), conns: new(atomic.Int64)}
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
				serveScripted(c, hostile, next)
			}()
		}
	}()
	return ep
}

func serveScripted(c net.Conn, hostile, next script) {
	br := bufio.NewReader(c)
	afterHostile := false
	for {
		req, body, err := readRequest(br)
		if err != nil {
			return
		}
		if strings.Contains(req.URL.Path, "/functions/hostile/") {
			if !hostile(c) {
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
// goes to another function on the same client.
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
