package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// TestAuthentication runs the real binary with the local Lambda serving
// examples/functions and applies the runnable examples of the
// authentication features: Lambda authorizers (TOKEN, and a payload 2.0
// simple-response authorizer), API keys, and mutual TLS. Each request
// goes through the HTTP (or HTTPS) listener; the echo function returns
// its event, so the caller's identity is checked where API Gateway puts
// it.
func TestAuthentication(t *testing.T) {
	requireNode(t)
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	g := harness.Start(t, harness.Options{TLS: true, Args: []string{"--local-lambda", filepath.Join(root, "examples", "functions"), "--local-lambda-addr", "127.0.0.1:0", "--discovery-interval", "500ms"}})
	g.MustRun(t, "create", "secret", "aws", "--name", "aws-creds", "--namespace", "gloo-system", "--access-key", "AKIDEXAMPLE", "--secret-key", "placeholder")
	g.MustRun(t, "apply", "-f", "testdata/upstream.yaml")
	harness.Eventually(t, 20*time.Second, func() error {
		out := g.MustRun(t, "get", "upstream", "-n", "gloo-system", "aws-upstream", "-o", "yaml")
		for _, fn := range []string{"echo", "token-authorizer", "simple-authorizer"} {
			if !strings.Contains(out, "logicalName: "+fn) {
				return fmt.Errorf("%s not discovered yet:\n%s", fn, out)
			}
		}
		return nil
	})
	get := func(t *testing.T, c *http.Client, url, host string, hdr map[string]string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = host
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if resp.StatusCode >= 400 && (m["code"] == nil || m["message"] == nil) {
			t.Errorf("denial body %s is not the gateway's JSON error", b)
		}
		return resp.StatusCode, m
	}
	path := func(m map[string]any, keys ...string) any {
		var v any = m
		for _, k := range keys {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		return v
	}

	t.Run("Lambda authorizers", func(t *testing.T) {
		g.MustRun(t, "apply", "-f", filepath.Join(root, "examples", "lambda-authorizer.yaml"))
		g.WaitState(t, "authconfig", "gloo-system", "token-authorizer", "Accepted")
		g.WaitState(t, "authconfig", "gloo-system", "simple-authorizer", "Accepted")
		g.WaitState(t, "vs", "gloo-system", "authorizer", "Accepted")
		const host = "authorizer.example.com"
		for _, tc := range []struct {
			token  string
			status int
		}{{"", 401}, {"allow", 200}, {"deny", 403}, {"unauthorized", 401}, {"boom", 500}} {
			hdr := map[string]string{}
			if tc.token != "" {
				hdr["Authorization"] = tc.token
			}
			status, ev := get(t, http.DefaultClient, g.URL+"/token", host, hdr)
			if status != tc.status {
				t.Errorf("TOKEN authorizer, token %q: status %d, want %d (%v)", tc.token, status, tc.status, ev)
				continue
			}
			if status == 200 {
				a := path(ev, "requestContext", "authorizer")
				if path(ev, "requestContext", "authorizer", "principalId") != "user" || path(ev, "requestContext", "authorizer", "stringKey") != "stringval" {
					t.Errorf("payload 1.0 requestContext.authorizer = %v, want principalId user and the context's keys", a)
				}
			}
		}
		status, ev := get(t, http.DefaultClient, g.URL+"/simple", host, map[string]string{"Authorization": "secretToken"})
		if status != 200 || path(ev, "requestContext", "authorizer", "lambda", "stringKey") != "value" {
			t.Errorf("simple authorizer: status %d, requestContext.authorizer = %v", status, path(ev, "requestContext", "authorizer"))
		}
		if status, _ := get(t, http.DefaultClient, g.URL+"/simple", host, map[string]string{"Authorization": "nope"}); status != 403 {
			t.Errorf("simple authorizer refusing: status %d, want 403", status)
		}
	})

	t.Run("API keys", func(t *testing.T) {
		g.MustRun(t, "apply", "-f", filepath.Join(root, "examples", "api-keys.yaml"))
		g.WaitState(t, "authconfig", "gloo-system", "api-keys", "Accepted")
		g.WaitState(t, "vs", "gloo-system", "keys", "Accepted")
		const host, key = "keys.example.com", "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
		if status, _ := get(t, http.DefaultClient, g.URL+"/echo", host, nil); status != 401 {
			t.Errorf("no key: status %d, want 401", status)
		}
		if status, _ := get(t, http.DefaultClient, g.URL+"/echo", host, map[string]string{"api-key": key + "x"}); status != 401 {
			t.Errorf("wrong key: status %d, want 401", status)
		}
		status, ev := get(t, http.DefaultClient, g.URL+"/echo", host, map[string]string{"api-key": key, "x-user-id": "mallory"})
		if status != 200 || path(ev, "requestContext", "identity", "apiKeyId") != "alice" || path(ev, "headers", "X-User-Id") != "alice" {
			t.Errorf("with the key: status %d, identity %v, headers %v", status, path(ev, "requestContext", "identity"), path(ev, "headers"))
		}
		if status, _ := get(t, http.DefaultClient, g.URL+"/health", host, nil); status != 200 {
			t.Errorf("extauth disable: status %d, want 200 without a key", status)
		}
		// A Secret change applies on the next snapshot: the key is rotated.
		g.Apply(t, harness.Obj{"apiVersion": "v1", "kind": "Secret", "metadata": harness.Obj{"name": "alice", "namespace": "gloo-system", "labels": harness.Obj{"team": "infrastructure"}},
			"type": "extauth.solo.io/apikey", "stringData": harness.Obj{"api-key": "rotated-key-0123456789", "user-id": "alice"}})
		harness.Eventually(t, 10*time.Second, func() error {
			if status, _ := get(t, http.DefaultClient, g.URL+"/echo", host, map[string]string{"api-key": "rotated-key-0123456789"}); status != 200 {
				return fmt.Errorf("rotated key: status %d", status)
			}
			return nil
		})
		if status, _ := get(t, http.DefaultClient, g.URL+"/echo", host, map[string]string{"api-key": key}); status != 401 {
			t.Errorf("old key after rotation: status %d, want 401", status)
		}
	})

	t.Run("mutual TLS", func(t *testing.T) {
		ca, caKey := newCA(t)
		serverCert, serverKey := issue(t, ca, caKey, "mtls.example.com", x509.ExtKeyUsageServerAuth)
		clientCert, clientKey := issue(t, ca, caKey, "client.example.com", x509.ExtKeyUsageClientAuth)
		otherCA, otherKey := newCA(t)
		strangerCert, strangerKey := issue(t, otherCA, otherKey, "client.example.com", x509.ExtKeyUsageClientAuth)
		wrongNameCert, wrongNameKey := issue(t, ca, caKey, "someone.example.com", x509.ExtKeyUsageClientAuth)
		secret := harness.TLSSecret("mtls-tls", serverCert, serverKey)
		secret["data"].(harness.Obj)["ca.crt"] = harness.B64(string(pemCert(ca)))
		g.Apply(t, secret, harness.Obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": harness.Meta("mtls"),
			"spec": harness.Obj{
				"sslConfig":   harness.Obj{"secretRef": harness.Obj{"name": "mtls-tls", "namespace": "gloo-system"}, "verifySubjectAltName": []string{"client.example.com"}},
				"virtualHost": harness.Obj{"domains": []string{"mtls.example.com"}, "routes": []harness.Obj{{"matchers": []harness.Obj{{"prefix": "/echo"}}, "routeAction": harness.Obj{"single": harness.Obj{"upstream": harness.Obj{"name": "aws-upstream", "namespace": "gloo-system"}, "destinationSpec": harness.Obj{"aws": harness.Obj{"logicalName": "echo", "wrapAsApiGateway": true, "payloadFormatVersion": "2.0"}}}}}}},
			}})
		g.WaitState(t, "vs", "gloo-system", "mtls", "Accepted")
		roots := x509.NewCertPool()
		roots.AddCert(ca)
		url := "https://" + g.TLSAddr + "/echo"
		do := func(certPEM, keyPEM []byte) (int, map[string]any, error) {
			cfg := &tls.Config{RootCAs: roots, ServerName: "mtls.example.com"}
			if certPEM != nil {
				pair, err := tls.X509KeyPair(certPEM, keyPEM)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Certificates = []tls.Certificate{pair}
			}
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
			req, _ := http.NewRequest("GET", url, nil)
			req.Host = "mtls.example.com"
			resp, err := c.Do(req)
			if err != nil {
				return 0, nil, err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			return resp.StatusCode, m, nil
		}
		status, ev, err := do(clientCert, clientKey)
		if err != nil || status != 200 {
			t.Fatalf("trusted client certificate: status %d, error %v", status, err)
		}
		cc := path(ev, "requestContext", "authentication", "clientCert")
		if path(ev, "requestContext", "authentication", "clientCert", "subjectDN") != "CN=client.example.com" ||
			!strings.HasPrefix(fmt.Sprint(path(ev, "requestContext", "authentication", "clientCert", "clientCertPem")), "-----BEGIN CERTIFICATE-----") {
			t.Errorf("payload 2.0 requestContext.authentication.clientCert = %v", cc)
		}
		// A refused certificate completes the handshake and gets API
		// Gateway's 403, counted and logged with its reason.
		for name, pair := range map[string][2][]byte{"no certificate": {nil, nil}, "another CA": {strangerCert, strangerKey}, "another name": {wrongNameCert, wrongNameKey}} {
			status, body, err := do(pair[0], pair[1])
			if err != nil || status != 403 || body["message"] != "Forbidden" {
				t.Errorf("%s: status %d, body %v, error %v; want 403 Forbidden", name, status, body, err)
			}
		}
		// The access log line is written after the answer: wait for it.
		harness.Eventually(t, 10*time.Second, func() error {
			logs := g.Logs.String()
			for _, want := range []string{"missing_client_certificate", "invalid_client_certificate", "certificate signed by unknown authority", "none of the accepted subject alternative names"} {
				if !strings.Contains(logs, want) {
					return fmt.Errorf("the logs lack %q", want)
				}
			}
			return nil
		})
		// The certificate's body never reaches the logs.
		if strings.Contains(g.Logs.String(), "BEGIN CERTIFICATE") {
			t.Error("the gateway logged a certificate body")
		}
	})

	t.Run("nothing secret in the logs, denials counted", func(t *testing.T) {
		logs := g.Logs.String()
		for _, secret := range []string{"N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy", "rotated-key-0123456789", "secretToken"} {
			if strings.Contains(logs, secret) {
				t.Errorf("the gateway's logs hold %q", secret)
			}
		}
		resp, err := http.Get(g.AdminURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, want := range []string{
			`lambdagate_auth_denied_total{reason="missing_api_key",route="routes[0]",virtual_service="gloo-system/keys"} 1`,
			`lambdagate_auth_denied_total{reason="authorizer_denied",route="routes[0]",virtual_service="gloo-system/authorizer"} 1`,
			`lambdagate_auth_denied_total{reason="missing_client_certificate",route="routes[0]",virtual_service="gloo-system/mtls"} 1`,
			`lambdagate_auth_denied_total{reason="invalid_client_certificate",route="routes[0]",virtual_service="gloo-system/mtls"} 2`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
