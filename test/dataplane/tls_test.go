package dataplane

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// h2cDo sends one POST over HTTP/2 with prior knowledge, in clear text.
func h2cDo(t testing.TB, addr, path, body string) *harness.RawResponse {
	t.Helper()
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: protocols}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+path, strings.NewReader(body))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("h2c request: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &harness.RawResponse{Response: resp, Body: b}
}

// TestTLSAndHosts: a virtual service with sslConfig is served on the HTTPS
// listener for its SNI name, TLS 1.1 is refused, and hosts no virtual
// service claims get 404 when there is no '*' domain.
func TestTLSAndHosts(t *testing.T) {
	t.Parallel()
	stub := harness.NewLambdaStub(t)
	stub.Accept(mainKeyID, mainSecret, "")
	stub.On("secure-fn", harness.LambdaOK(`{"secure":true}`))
	stub.On("plain-fn", harness.LambdaOK(`{"plain":true}`))
	certPEM, keyPEM, pool := harness.SelfSigned(t, "secure.example.com")

	g := startGateway(t, true)
	g.Apply(t,
		harness.AWSSecret("creds", mainKeyID, mainSecret, ""),
		harness.TLSSecret("tls-cert", certPEM, keyPEM),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "secure-fn", Name: "secure-fn"}, {Logical: "plain-fn", Name: "plain-fn"}}, nil),
		harness.VirtualService("secure", []string{"secure.example.com"}, harness.Obj{"secretRef": harness.Obj{"name": "tls-cert", "namespace": harness.Namespace}},
			harness.Route{Prefix: "/", Upstream: "up", AWS: harness.Dest("secure-fn")}),
		harness.VirtualService("plain", []string{"plain.example.com"}, nil,
			harness.Route{Prefix: "/", Upstream: "up", AWS: harness.Dest("plain-fn")}),
	)
	for _, vs := range []string{"secure", "plain"} {
		if st, why := g.WaitState(t, "vs", harness.Namespace, vs, "Accepted", "Warning", "Rejected"); st != "Accepted" {
			t.Fatalf("virtual service %s: %s: %s", vs, st, why)
		}
	}

	tlsClient := func(cfg *tls.Config) *http.Client {
		return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			Proxy:             nil,
			ForceAttemptHTTP2: true,
			TLSClientConfig:   cfg,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, g.TLSAddr)
			},
		}}
	}

	t.Run("TLS with SNI gets the route", func(t *testing.T) {
		c := tlsClient(&tls.Config{RootCAs: pool, ServerName: "secure.example.com"})
		resp, err := c.Post("https://secure.example.com/anything", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != `{"secure":true}` {
			t.Errorf("got %d %q, want 200 {\"secure\":true}", resp.StatusCode, b)
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s: HTTP/2 should be negotiated over TLS", resp.Proto)
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("TLS state %+v", resp.TLS)
		}
		if n := len(stub.Requests("secure-fn")); n != 1 {
			t.Errorf("the stub received %d requests, want 1", n)
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", g.TLSAddr, &tls.Config{RootCAs: pool, ServerName: "secure.example.com", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Fatalf("a TLS 1.1 handshake succeeded; the minimum must be TLS 1.2")
		}
		t.Logf("TLS 1.1 handshake: %v", err)
		if !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("TLS 1.1 failed for another reason than the version: %v", err)
		}
		// The same handshake with TLS 1.2 allowed works.
		conn, err = tls.Dial("tcp", g.TLSAddr, &tls.Config{RootCAs: pool, ServerName: "secure.example.com", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("TLS 1.2 handshake: %v", err)
		}
		conn.Close()
	})

	t.Run("the TLS virtual service is not on the HTTP listener", func(t *testing.T) {
		resp := harness.Do(t, "GET", g.URL+"/anything", nil, map[string]string{"Host": "secure.example.com"})
		checkGatewayError(t, resp, 404, "NoRoute", "no route matches this request", nil)
	})

	t.Run("plain host", func(t *testing.T) {
		resp := harness.Do(t, "POST", g.URL+"/x", strings.NewReader(`{}`), map[string]string{"Host": "plain.example.com:8080"})
		if resp.StatusCode != 200 || string(resp.Body) != `{"plain":true}` {
			t.Errorf("got %d %q", resp.StatusCode, resp.Body)
		}
	})

	t.Run("unknown host without a '*' domain", func(t *testing.T) {
		resp := harness.Do(t, "GET", g.URL+"/x", nil, map[string]string{"Host": "unknown.example.com"})
		checkGatewayError(t, resp, 404, "NoRoute", "no route matches this request", nil)
	})
}
