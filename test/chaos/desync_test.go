package chaos

import (
	"bufio"
	"crypto/tls"
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

// TestTLSResponseDesync starts the gateway against an HTTPS Lambda
// endpoint it trusts through SSL_CERT_FILE. Function x answers with
// Content-Length 30000: the head and 20,000 bytes, then 5 ms later one TLS
// record with the last 10,000 bytes and a complete extra answer. Function
// y echoes its payload. After each POST to x, a POST to y must get its own
// payload back, with each Lambda client (net/http's 10 ms later: its
// allowance in docs/reliability.md).
func TestTLSResponseDesync(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM, _ := harness.SelfSigned(t, "127.0.0.1")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, DynamicRecordSizingDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	body := strings.Repeat("x", 30000)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveDesync(c, body)
		}
	}()
	const runs = 40
	for _, client := range []string{"lambdagate", "net/http"} {
		t.Run(strings.ReplaceAll(client, "/", ""), func(t *testing.T) {
			g := startGateway(t, harness.Options{Args: []string{"--lambda-client", client}, Env: []string{"SSL_CERT_FILE=" + caFile}})
			g.Apply(t,
				harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken),
				harness.Upstream("up-tls", "creds", "https://"+ln.Addr().String(), []harness.Fn{{Logical: "x", Name: "x"}, {Logical: "y", Name: "y"}}, nil),
				harness.VirtualService("desync", []string{"*"}, nil,
					harness.Route{Exact: "/x", Upstream: "up-tls", AWS: harness.Dest("x"), Timeout: "5s"},
					harness.Route{Exact: "/y", Upstream: "up-tls", AWS: harness.Dest("y"), Timeout: "5s"}),
			)
			if st, why := g.WaitState(t, "vs", harness.Namespace, "desync", "Accepted", "Warning", "Rejected"); st != "Accepted" {
				t.Fatalf("virtual service desync: %s: %s", st, why)
			}
			wrong := 0
			for i := range runs {
				rx := harness.Do(t, "POST", g.URL+"/x", strings.NewReader(`{}`), nil)
				if client == "net/http" {
					// net/http pools a connection before its reader
					// goroutine sees unsolicited bytes; a request in
					// between reads them (docs/reliability.md).
					time.Sleep(10 * time.Millisecond)
				}
				want := fmt.Sprintf(`{"run":%d}`, i)
				ry := harness.Do(t, "POST", g.URL+"/y", strings.NewReader(want), nil)
				if rx.StatusCode != 200 || string(rx.Body) != body || ry.StatusCode != 200 || string(ry.Body) != want {
					wrong++
					if wrong == 1 {
						t.Logf("run %d: x got %d %.40q, y got %d %.60q", i, rx.StatusCode, rx.Body, ry.StatusCode, ry.Body)
					}
				}
			}
			record(t, "TLS response desync, --lambda-client %s: %d of %d runs got another exchange's answer or failed", client, wrong, runs)
			if wrong > 0 {
				t.Errorf("%d of %d runs got another exchange's answer or failed", wrong, runs)
			}
		})
	}
}

// serveDesync answers x as the test describes and echoes every other
// function's payload.
func serveDesync(c net.Conn, body string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		payload, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		if strings.Contains(req.URL.Path, "/functions/x/") {
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 30000\r\n\r\n"+body[:20000]); err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
			extra := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"x\":\"EXTRA\"}"
			if _, err := io.WriteString(c, body[20000:]+extra); err != nil {
				return
			}
			continue
		}
		if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload); err != nil {
			return
		}
	}
}
