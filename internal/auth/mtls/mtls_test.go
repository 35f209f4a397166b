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

func newAuthority(t testing.TB, cn string) authority {
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
func (a authority) issue(t testing.TB, serial int64, dns string, uri string) *x509.Certificate {
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

// presented is the connection state of a client that sent certs.
func presented(certs ...*x509.Certificate) *tls.ConnectionState {
	return &tls.ConnectionState{PeerCertificates: certs}
}

// intermediate makes a CA certificate signed by a.
func (a authority) intermediate(t *testing.T, cn string) authority {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return authority{c, key}
}

func TestFilter(t *testing.T) {
	ours, theirs := newAuthority(t, "our CA"), newAuthority(t, "their CA")
	ca, err := ParseCA(ours.pem(), []string{"client.example.com", "spiffe://example.com/client"})
	if err != nil {
		t.Fatal(err)
	}
	good := ours.issue(t, 0xa1b2c3, "client.example.com", "")
	byURI := ours.issue(t, 7, "", "spiffe://example.com/client")
	wrongName := ours.issue(t, 8, "someone.example.com", "")
	stranger := theirs.issue(t, 9, "client.example.com", "")
	mid := ours.intermediate(t, "our issuing CA")
	viaMid := mid.issue(t, 10, "client.example.com", "")
	expired := ours.issue(t, 11, "client.example.com", "")
	expired.NotAfter = time.Now().Add(-time.Minute) // checked before the signature
	serverOnly := ours.issue(t, 12, "client.example.com", "")
	serverOnly.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	cases := []struct {
		name   string
		tls    *tls.ConnectionState
		reason string // "" accepted
	}{
		{"trusted, DNS name", presented(good), ""},
		{"trusted, URI name", presented(byURI), ""},
		{"trusted through an intermediate the client sent", presented(viaMid, mid.cert), ""},
		{"intermediate not sent", presented(viaMid), ReasonInvalidClientCert},
		{"no TLS", nil, ReasonMissingClientCert},
		{"no certificate", &tls.ConnectionState{}, ReasonMissingClientCert},
		{"name not accepted", presented(wrongName), ReasonInvalidClientCert},
		// Trusted by another virtual service (its SNI name), sent to this
		// one by Host.
		{"another virtual service's CA", presented(stranger), ReasonInvalidClientCert},
		{"a self-signed certificate", presented(theirs.cert), ReasonInvalidClientCert},
		{"expired", presented(expired), ReasonInvalidClientCert},
		{"not for client authentication", presented(serverOnly), ReasonInvalidClientCert},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://mtls.example.com/", nil)
			r.TLS = tc.tls
			x := &pipeline.Exchange{}
			// Twice: the second answer comes from the verdict cache.
			for range 2 {
				err := Filter{CA: ca}.FilterRequest(nil, r, x)
				if got := httperr.DeniedReason(err); got != tc.reason || (err == nil) != (tc.reason == "") {
					t.Fatalf("error %v (reason %q), want reason %q", err, got, tc.reason)
				}
				if err != nil {
					if status, code, _, _ := httperr.Map(err); status != 403 || code != "Forbidden" {
						t.Fatalf("denial %d %s", status, code)
					}
					if strings.Contains(err.Error(), "BEGIN CERTIFICATE") {
						t.Fatalf("the denial carries a certificate: %v", err)
					}
					continue
				}
				cc := x.Auth.ClientCert
				if cc == nil || !strings.HasPrefix(cc.PEM, "-----BEGIN CERTIFICATE-----") || cc.SubjectDN != "CN=client,O=Example" || !strings.HasPrefix(cc.IssuerDN, "CN=our ") {
					t.Fatalf("client cert %+v", cc)
				}
			}
		})
	}
	if got := ClientCert(good).SerialNumber; got != "a1:b2:c3" {
		t.Errorf("serial %q, want a1:b2:c3", got)
	}
	if _, err := ParseCA([]byte("not pem"), nil); err == nil {
		t.Error("ParseCA accepted a file without a certificate")
	}
}

func TestVerdictCache(t *testing.T) {
	ours := newAuthority(t, "our CA")
	ca, _ := ParseCA(ours.pem(), nil)
	leaf := ours.issue(t, 1, "client.example.com", "")
	now := time.Now()
	if _, err := ca.Verify([]*x509.Certificate{leaf}, now); err != nil {
		t.Fatal(err)
	}
	// A verdict is not reused past its lifetime nor past the certificate's.
	if _, err := ca.Verify([]*x509.Certificate{leaf}, leaf.NotAfter.Add(time.Second)); err == nil {
		t.Fatal("an expired certificate was accepted from the cache")
	}
	for i := range maxVerdicts + 10 {
		_, _ = ca.Verify([]*x509.Certificate{ours.issue(t, int64(i+2), "", "")}, now)
	}
	if n := len(ca.verdicts); n > maxVerdicts {
		t.Fatalf("%d verdicts cached, want at most %d", n, maxVerdicts)
	}
}

func BenchmarkFilter(b *testing.B) {
	ours := newAuthority(b, "our CA")
	ca, _ := ParseCA(ours.pem(), []string{"client.example.com"})
	r := httptest.NewRequest("GET", "https://mtls.example.com/", nil)
	r.TLS = presented(ours.issue(b, 1, "client.example.com", ""))
	f := Filter{CA: ca}
	b.ReportAllocs()
	for b.Loop() {
		x := &pipeline.Exchange{}
		if err := f.FilterRequest(nil, r, x); err != nil {
			b.Fatal(err)
		}
	}
}
