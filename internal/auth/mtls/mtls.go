// Package mtls checks client certificates for virtual services whose
// sslConfig asks for them (Gloo's sslFiles.rootCa, a Secret's ca.crt,
// verifySubjectAltName, oneWayTls) and puts the verified certificate
// where the API Gateway events carry it.
//
// The HTTPS listener asks for a certificate during the handshake (naming
// the CAs of the virtual service the client's SNI name selects) but does
// not refuse the handshake: as API Gateway does, a missing or untrusted
// certificate gets an HTTP 403, which the client can read and which is
// logged and counted like every other denial. Each route of a
// mutual-TLS virtual service runs Filter, which verifies the chain
// against its own CAs and names; requests are routed by Host, which may
// name another virtual service than the SNI name did.
package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// Reasons label lambdagate_auth_denied_total for a refused certificate.
const (
	ReasonMissingClientCert = "missing_client_certificate"
	ReasonInvalidClientCert = "invalid_client_certificate"
)

// verdictTTL bounds how long a chain's verdict is reused; maxVerdicts
// bounds the cache. A verdict is kept per presented leaf (one per TLS
// connection), so requests on a kept-alive connection verify once.
const (
	verdictTTL  = time.Minute
	maxVerdicts = 1024
)

// CA is a virtual service's client certificate authority set.
type CA struct {
	// Pool holds the CAs; the handshake names them to the client.
	Pool *x509.CertPool
	// subjects of the CA certificates, for Describe.
	subjects []string
	// SANs, when set, are the subject alternative names accepted
	// (verifySubjectAltName).
	SANs []string

	mu       sync.Mutex
	verdicts map[*x509.Certificate]verdict
}

type verdict struct {
	chain []*x509.Certificate // as presented; a verdict holds for it only
	err   error
	cert  *transform.ClientCert // as the events show it, when accepted
	until time.Time
}

// ParseCA reads PEM CA certificates. At least one is required.
func ParseCA(pemData []byte, sans []string) (*CA, error) {
	ca := &CA{Pool: x509.NewCertPool(), SANs: sans, verdicts: map[*x509.Certificate]verdict{}}
	for rest := pemData; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("invalid CA certificate: %v", err)
		}
		ca.Pool.AddCert(c)
		ca.subjects = append(ca.subjects, c.Subject.String())
	}
	if len(ca.subjects) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	slices.Sort(ca.subjects)
	return ca, nil
}

// Verify checks a presented chain (leaf first, then the intermediates the
// client sent) as crypto/tls checks a client certificate (the chain to one
// of the CAs, validity, the client-auth key usage), then the accepted
// names. The verdict for a leaf is reused for a while; an accepted
// certificate comes back as the events show it (shared: read only).
func (ca *CA) Verify(certs []*x509.Certificate, now time.Time) (*transform.ClientCert, error) {
	leaf := certs[0]
	ca.mu.Lock()
	v, ok := ca.verdicts[leaf]
	ca.mu.Unlock()
	if ok && now.Before(v.until) && slices.Equal(v.chain, certs) {
		return v.cert, v.err
	}
	err := ca.verify(certs, now)
	until := now.Add(verdictTTL)
	var cert *transform.ClientCert
	if err == nil {
		cert = ClientCert(leaf)
		for _, c := range certs {
			if c.NotAfter.Before(until) {
				until = c.NotAfter
			}
		}
	}
	ca.mu.Lock()
	if len(ca.verdicts) >= maxVerdicts {
		for k, old := range ca.verdicts {
			if !now.Before(old.until) {
				delete(ca.verdicts, k)
			}
		}
		for k := range ca.verdicts {
			if len(ca.verdicts) < maxVerdicts {
				break
			}
			delete(ca.verdicts, k)
		}
	}
	ca.verdicts[leaf] = verdict{slices.Clone(certs), err, cert, until}
	ca.mu.Unlock()
	return cert, err
}

func (ca *CA) verify(certs []*x509.Certificate, now time.Time) error {
	opts := x509.VerifyOptions{Roots: ca.Pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return err
	}
	if !ca.nameMatches(certs[0]) {
		return errors.New("the certificate has none of the accepted subject alternative names")
	}
	return nil
}

// nameMatches reports whether c carries one of the accepted names (any
// when none is configured), as Envoy's match_subject_alt_names compares
// DNS, URI, email and IP names exactly.
func (ca *CA) nameMatches(c *x509.Certificate) bool {
	if len(ca.SANs) == 0 {
		return true
	}
	for _, n := range c.DNSNames {
		if slices.Contains(ca.SANs, n) {
			return true
		}
	}
	for _, u := range c.URIs {
		if slices.Contains(ca.SANs, u.String()) {
			return true
		}
	}
	for _, e := range c.EmailAddresses {
		if slices.Contains(ca.SANs, e) {
			return true
		}
	}
	for _, ip := range c.IPAddresses {
		if slices.Contains(ca.SANs, ip.String()) {
			return true
		}
	}
	return false
}

// errForbidden is the answer to every refused certificate: API Gateway's
// 403 and message, as every denial's (the log line has the why).
var errForbidden = httperr.New(http.StatusForbidden, "Forbidden", "Forbidden")

// denial is a refused certificate: the client gets errForbidden; the
// access log line gets why (a verification error names certificates by
// subject, never by body).
type denial struct {
	reason string
	why    string
}

func (d *denial) Error() string {
	return "client certificate refused (" + d.reason + "): " + d.why
}
func (d *denial) Unwrap() error            { return errForbidden }
func (d *denial) AuthDeniedReason() string { return d.reason }

// Filter is the request filter of a mutual-TLS virtual service's routes.
type Filter struct{ CA *CA }

// FilterRequest accepts a request whose connection presented a client
// certificate that chains to this virtual service's CAs and carries one
// of its names, and puts the certificate in Exchange.Auth.ClientCert.
func (f Filter) FilterRequest(_ http.ResponseWriter, r *http.Request, x *pipeline.Exchange) error {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return &denial{ReasonMissingClientCert, "the client sent no certificate"}
	}
	cert, err := f.CA.Verify(r.TLS.PeerCertificates, time.Now())
	if err != nil {
		return &denial{ReasonInvalidClientCert, err.Error()}
	}
	if x.Auth == nil {
		x.Auth = &transform.Authorizer{}
	}
	x.Auth.ClientCert = cert
	return nil
}

// TLSConfig sets up cfg's handshake for this CA set: ask for a client
// certificate, naming the CAs, without refusing the handshake (Filter
// answers 403). No session tickets, so every connection presents its
// certificate.
func (ca *CA) TLSConfig(cfg *tls.Config) {
	cfg.ClientAuth = tls.RequestClientCert
	cfg.ClientCAs = ca.Pool
	cfg.SessionTicketsDisabled = true
}

// ClientCert is a certificate as API Gateway shows it.
func ClientCert(c *x509.Certificate) *transform.ClientCert {
	return &transform.ClientCert{
		PEM:          string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})),
		SubjectDN:    c.Subject.String(),
		IssuerDN:     c.Issuer.String(),
		SerialNumber: serial(c),
		NotBefore:    c.NotBefore,
		NotAfter:     c.NotAfter,
	}
}

// serial is the serial number in lower-case hex pairs separated by
// colons, as API Gateway's mutual TLS events show it.
func serial(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	if len(b) == 0 {
		return "00"
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(b)*3)
	for i, v := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[v>>4], hex[v&15])
	}
	return string(out)
}

// Describe names the CA set for tests and dumps (subjects, never
// certificate bodies).
func (ca *CA) Describe() string {
	return fmt.Sprintf("clientCA=%q verifySubjectAltName=%q", ca.subjects, ca.SANs)
}

// Describe names the filter for tests and dumps.
func (f Filter) Describe() string { return "mtls " + f.CA.Describe() }
