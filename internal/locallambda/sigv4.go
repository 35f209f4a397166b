package locallambda

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	sigAlgorithm  = "AWS4-HMAC-SHA256"
	amzDateLayout = "20060102T150405Z"
	// maxClockSkew is how far X-Amz-Date may be from now, as on AWS.
	maxClockSkew = 5 * time.Minute
)

var (
	hexSignatureRE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	signedHeadersRE  = regexp.MustCompile(`^[a-z0-9!#$%&'*+.^_` + "`" + `|~-]+(;[a-z0-9!#$%&'*+.^_` + "`" + `|~-]+)*$`)
	credentialDateRE = regexp.MustCompile(`^[0-9]{8}$`)
)

// sigV4Auth is a parsed Authorization header.
type sigV4Auth struct {
	AccessKeyID   string
	Date          string // yyyymmdd from the credential scope
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/date/region/
// service/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (sigV4Auth, error) {
	var a sigV4Auth
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return a, fmt.Errorf("authorization header: algorithm must be %s", sigAlgorithm)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, fmt.Errorf("authorization header: component %q is not key=value", strings.TrimSpace(part))
		}
		if _, dup := fields[k]; dup {
			return a, fmt.Errorf("authorization header: component %s repeated", k)
		}
		fields[k] = v
	}
	cred, sh, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || sh == "" || sig == "" || len(fields) != 3 {
		return a, fmt.Errorf("authorization header: need exactly Credential, SignedHeaders and Signature")
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[0] == "" || scope[2] == "" || scope[4] != "aws4_request" || !credentialDateRE.MatchString(scope[1]) {
		return a, fmt.Errorf("authorization header: credential %q must be accesskey/yyyymmdd/region/service/aws4_request", cred)
	}
	if !signedHeadersRE.MatchString(sh) {
		return a, fmt.Errorf("authorization header: signed headers %q must be lowercase names separated by ';'", sh)
	}
	if !hexSignatureRE.MatchString(sig) {
		return a, fmt.Errorf("authorization header: signature must be 64 lowercase hex digits")
	}
	a = sigV4Auth{
		AccessKeyID:   scope[0],
		Date:          scope[1],
		Region:        scope[2],
		Service:       scope[3],
		SignedHeaders: strings.Split(sh, ";"),
		Signature:     sig,
	}
	hasHost := false
	for _, name := range a.SignedHeaders {
		if name == "host" {
			hasHost = true
		}
	}
	if !hasHost {
		return a, fmt.Errorf("authorization header: signed headers must include host")
	}
	return a, nil
}

// authError is an AWS error answered before routing.
type authError struct {
	status int
	code   string
	msg    string
}

// authenticate checks the request's SigV4 signature. Without configured
// credentials any well-formed signature passes (like LocalStack), so
// placeholder keys work; with credentials the signature is recomputed with
// the SDK's signer and compared.
func (s *Server) authenticate(r *http.Request, body []byte, now time.Time) *authError {
	h := r.Header.Get("Authorization")
	if h == "" {
		return &authError{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return &authError{http.StatusForbidden, "IncompleteSignatureException", err.Error()}
	}
	if a.Service != "lambda" {
		return &authError{http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to correct service: 'lambda', not %q.", a.Service)}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signTime, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return &authError{http.StatusForbidden, "IncompleteSignatureException", "X-Amz-Date header: must be present in the form yyyymmddThhmmssZ"}
	}
	if signTime.Format("20060102") != a.Date {
		return &authError{http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.Date, signTime.Format("20060102"), amzDate)}
	}
	token := r.Header.Get("X-Amz-Security-Token")
	// Credentials issued by the local STS are always checked: their
	// expiry is the point of issuing them.
	secret, issued, aerr := s.issuedSecret(a.AccessKeyID, token, now)
	if aerr != nil {
		return aerr
	}
	if !issued {
		if len(s.opts.Credentials) == 0 {
			return nil
		}
		var ok bool
		secret, ok = s.opts.Credentials[a.AccessKeyID]
		if !ok {
			return &authError{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."}
		}
		if want, ok := s.opts.SessionTokens[a.AccessKeyID]; ok && subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 {
			return &authError{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."}
		}
	}
	if a.Region != s.opts.Region {
		return &authError{http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", a.Region)}
	}
	if d := now.Sub(signTime); d > maxClockSkew {
		return &authError{http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)", amzDate, now.Add(-maxClockSkew).UTC().Format(amzDateLayout), now.UTC().Format(amzDateLayout))}
	} else if d < -maxClockSkew {
		return &authError{http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)", amzDate, now.Add(maxClockSkew).UTC().Format(amzDateLayout), now.UTC().Format(amzDateLayout))}
	}

	want, err := expectedSignature(r, a, body, aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: secret, SessionToken: token}, signTime)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(a.Signature)) != 1 {
		return &authError{http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return nil
}

// expectedSignature signs a copy of r holding only the headers the client
// signed, with the client's date, and returns the signature.
func expectedSignature(r *http.Request, a sigV4Auth, body []byte, creds aws.Credentials, signTime time.Time) (string, error) {
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	// The canonical path is built from the path exactly as sent on the wire;
	// passing it as Opaque keeps the signer from re-deriving a different
	// escaping (function ARNs carry ':' that clients may or may not escape).
	wirePath := r.RequestURI
	if i := strings.IndexByte(wirePath, '?'); i >= 0 {
		wirePath = wirePath[:i]
	}
	if wirePath == "" || wirePath[0] != '/' {
		wirePath = r.URL.EscapedPath()
	}
	u := &url.URL{Scheme: "http", Host: r.Host, Opaque: "//" + r.Host + wirePath, RawQuery: r.URL.RawQuery}
	cp := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	for _, name := range a.SignedHeaders {
		switch name {
		case "host":
		case "content-length":
			cp.ContentLength = r.ContentLength
		default:
			if vs, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
				cp.Header[http.CanonicalHeaderKey(name)] = vs
			}
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = false })
	if err := signer.SignHTTP(context.Background(), creds, cp, payloadHash, a.Service, a.Region, signTime); err != nil {
		return "", fmt.Errorf("signing request copy: %w", err)
	}
	got, err := parseAuthorization(cp.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	// A client that signed headers it did not send, or left out headers the
	// signer always signs, produces a different header list: reject.
	if strings.Join(got.SignedHeaders, ";") != strings.Join(a.SignedHeaders, ";") {
		return "", fmt.Errorf("signed headers differ")
	}
	return got.Signature, nil
}
