package mtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
)

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newAuthority(t *testing.T, cn string) authority {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return authority{c, key}
}

func (a authority) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cert.Raw})
}

// issue makes a client certificate with the given SANs and serial.
func (a authority) issue(t *testing.T, serial int64, dns string, uri string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "client", Organization: []string{"Example"}},
		NotBefore: time.Date(2026, 1, 5, 9, 3, 4, 0, time.UTC), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if dns != "" {
		tmpl.DNSNames = []string{dns}
	}
	if uri != "" {
		u, _ := url.Parse(uri)
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// state is the connection state crypto/tls leaves after verifying c
// against pool.
func state(t *testing.T, c *x509.Certificate, pool *x509.CertPool) *tls.ConnectionState {
	t.Helper()
	chains, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}, VerifiedChains: chains}
}

func TestFilter(t *testing.T) {
	ours, theirs := newAuthority(t, "our CA"), newAuthority(t, "their CA")
	ca, err := ParseCA(ours.pem(), []string{"client.example.com", "spiffe://example.com/client"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ParseCA(theirs.pem(), nil)
	good := ours.issue(t, 0xa1b2c3, "client.example.com", "")
	byURI := ours.issue(t, 7, "", "spiffe://example.com/client")
	wrongName := ours.issue(t, 8, "someone.example.com", "")
	stranger := theirs.issue(t, 9, "client.example.com", "")
	cases := []struct {
		name string
		tls  *tls.ConnectionState
		ok   bool
	}{
		{"trusted, DNS name", state(t, good, ca.Pool), true},
		{"trusted, URI name", state(t, byURI, ca.Pool), true},
		{"no TLS", nil, false},
		{"no certificate", &tls.ConnectionState{}, false},
		{"name not accepted", state(t, wrongName, ca.Pool), false},
		// Verified in the handshake of another virtual service (its SNI
		// name), sent to this one by Host.
		{"verified against another virtual service's CA", state(t, stranger, other.Pool), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://mtls.example.com/", nil)
			r.TLS = tc.tls
			x := &pipeline.Exchange{}
			err := Filter{CA: ca}.FilterRequest(nil, r, x)
			if (err == nil) != tc.ok {
				t.Fatalf("error %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if status, code, _, _ := httperr.Map(err); status != 403 || code != "Forbidden" {
					t.Fatalf("denial %d %s", status, code)
				}
				return
			}
			cc := x.Auth.ClientCert
			if cc == nil || !strings.HasPrefix(cc.PEM, "-----BEGIN CERTIFICATE-----") || cc.SubjectDN != "CN=client,O=Example" || cc.IssuerDN != "CN=our CA" {
				t.Fatalf("client cert %+v", cc)
			}
		})
	}
	if got := ClientCert(good).SerialNumber; got != "a1:b2:c3" {
		t.Errorf("serial %q, want a1:b2:c3", got)
	}
	if err := ca.VerifyConnection(*state(t, wrongName, ca.Pool)); err == nil {
		t.Error("the handshake accepted a certificate without an accepted name")
	}
	if err := ca.VerifyConnection(*state(t, good, ca.Pool)); err != nil {
		t.Errorf("the handshake refused a good certificate: %v", err)
	}
	if _, err := ParseCA([]byte("not pem"), nil); err == nil {
		t.Error("ParseCA accepted a file without a certificate")
	}
}
