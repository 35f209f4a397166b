package dataplane

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// h2cDo sends one POST over HTTP/2 with prior knowledge, in clear text.
func h2cDo(t testing.TB, addr, path, body string) *rawResponse {
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
	return &rawResponse{Response: resp, Body: b}
}

// selfSigned returns a PEM certificate and key for names, and a pool
// trusting it.
func selfSigned(t testing.TB, names ...string) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), pool
}

// TestTLSAndHosts: a virtual service with sslConfig is served on the HTTPS
// listener for its SNI name, TLS 1.1 is refused, and hosts no virtual
// service claims get 404 when there is no '*' domain.
func TestTLSAndHosts(t *testing.T) {
	t.Parallel()
	stub := NewLambdaStub(t)
	stub.Accept(mainKeyID, mainSecret, "")
	stub.On("secure-fn", LambdaOK(`{"secure":true}`))
	stub.On("plain-fn", LambdaOK(`{"plain":true}`))
	certPEM, keyPEM, pool := selfSigned(t, "secure.example.com")

	g := startGateway(t, true)
	g.apply(t,
		awsSecret("creds", mainKeyID, mainSecret, ""),
		tlsSecret("tls-cert", certPEM, keyPEM),
		upstream("up", "creds", stub.URL(), []fn{{"secure-fn", "secure-fn", ""}, {"plain-fn", "plain-fn", ""}}, nil),
		virtualService("secure", []string{"secure.example.com"}, obj{"secretRef": obj{"name": "tls-cert", "namespace": ns}},
			rt{prefix: "/", upstream: "up", aws: dest("secure-fn")}),
		virtualService("plain", []string{"plain.example.com"}, nil,
			rt{prefix: "/", upstream: "up", aws: dest("plain-fn")}),
	)
	for _, vs := range []string{"secure", "plain"} {
		if st, why := g.waitState(t, "vs", ns, vs, "Accepted", "Warning", "Rejected"); st != "Accepted" {
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
		resp := do(t, "GET", g.URL+"/anything", nil, map[string]string{"Host": "secure.example.com"})
		checkGatewayError(t, resp, 404, "NoRoute", "no route matches this request", nil)
	})

	t.Run("plain host", func(t *testing.T) {
		resp := do(t, "POST", g.URL+"/x", strings.NewReader(`{}`), map[string]string{"Host": "plain.example.com:8080"})
		if resp.StatusCode != 200 || string(resp.Body) != `{"plain":true}` {
			t.Errorf("got %d %q", resp.StatusCode, resp.Body)
		}
	})

	t.Run("unknown host without a '*' domain", func(t *testing.T) {
		resp := do(t, "GET", g.URL+"/x", nil, map[string]string{"Host": "unknown.example.com"})
		checkGatewayError(t, resp, 404, "NoRoute", "no route matches this request", nil)
	})
}
