// Package mtls checks client certificates for virtual services whose
// sslConfig asks for them (Gloo's sslFiles.rootCa, a Secret's ca.crt,
// verifySubjectAltName, oneWayTls) and puts the verified certificate
// where the API Gateway events carry it.
//
// The HTTPS listener verifies the certificate during the handshake,
// against the CAs of the virtual service the client's SNI name selects
// (Config.VerifyConnection). Requests are then routed by their Host,
// which a client may point at another virtual service than its SNI
// name; so every route of a mutual-TLS virtual service also runs Filter,
// which accepts only a certificate that chains to one of its own CAs and
// carries one of its names.
package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// ReasonClientCert labels lambdagate_auth_denied_total for a request
// without a certificate this virtual service trusts.
const ReasonClientCert = "client_certificate"

// CA is a virtual service's client certificate authority set.
type CA struct {
	// Pool verifies client certificates during the handshake.
	Pool *x509.CertPool
	// roots are the DER bytes of the CA certificates, to recognise a
	// chain verified against them.
	roots map[string]bool
	// SANs, when set, are the subject alternative names accepted
	// (verifySubjectAltName).
	SANs []string
}

// ParseCA reads PEM CA certificates. At least one is required.
func ParseCA(pemData []byte, sans []string) (*CA, error) {
	ca := &CA{Pool: x509.NewCertPool(), roots: map[string]bool{}, SANs: sans}
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
		ca.roots[string(c.Raw)] = true
	}
	if len(ca.roots) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return ca, nil
}

// VerifyConnection is the handshake's check of verifySubjectAltName (the
// chain itself is verified by crypto/tls against Pool).
func (ca *CA) VerifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate")
	}
	if !ca.nameMatches(cs.PeerCertificates[0]) {
		return errors.New("client certificate has none of the accepted subject alternative names")
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

var denyClientCert = &denial{httperr.New(http.StatusForbidden, "Forbidden", "a client certificate this host trusts is required")}

type denial struct{ err *httperr.Error }

func (d *denial) Error() string            { return d.err.Message + " (" + ReasonClientCert + ")" }
func (d *denial) Unwrap() error            { return d.err }
func (d *denial) AuthDeniedReason() string { return ReasonClientCert }

// Filter is the request filter of a mutual-TLS virtual service's routes.
type Filter struct{ CA *CA }

// FilterRequest accepts a request whose connection verified a client
// certificate against this virtual service's CAs and names, and puts the
// certificate in Exchange.Auth.ClientCert.
func (f Filter) FilterRequest(_ http.ResponseWriter, r *http.Request, x *pipeline.Exchange) error {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return denyClientCert
	}
	leaf := r.TLS.PeerCertificates[0]
	trusted := false
	for _, chain := range r.TLS.VerifiedChains {
		if len(chain) > 0 && chain[0] == leaf && f.CA.roots[string(chain[len(chain)-1].Raw)] {
			trusted = true
			break
		}
	}
	if !trusted || !f.CA.nameMatches(leaf) {
		return denyClientCert
	}
	if x.Auth == nil {
		x.Auth = &transform.Authorizer{}
	}
	x.Auth.ClientCert = ClientCert(leaf)
	return nil
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
	var subjects []string
	for raw := range ca.roots {
		if c, err := x509.ParseCertificate([]byte(raw)); err == nil {
			subjects = append(subjects, c.Subject.String())
		}
	}
	slices.Sort(subjects)
	return fmt.Sprintf("clientCA=%q verifySubjectAltName=%q", subjects, ca.SANs)
}

// Describe names the filter for tests and dumps.
func (f Filter) Describe() string { return "mtls " + f.CA.Describe() }
