package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Received is one Invoke request as the stub got it.
type Received struct {
	Function  string // decoded function name from the path
	RawPath   string // path as on the wire
	RawQuery  string
	Host      string
	Header    http.Header
	Body      []byte
	Transfer  string // how the body was framed: "content-length N" or "chunked"
	SigErr    string // "" when the signature verified
	AccessKey string
	Secret    string // the secret key that verified the signature
}

// Reply is a canned answer.
type Reply func(w http.ResponseWriter, r *http.Request, rec *Received, n int)

// LambdaStub is a Lambda Invoke API on loopback. Every request's SigV4
// signature is recomputed with the SDK signer from the keys the stub
// knows; a mismatch is answered 403 as AWS does.
type LambdaStub struct {
	t      testing.TB
	srv    *httptest.Server
	region string

	mu      sync.Mutex
	keys    map[string][]string // access key id -> accepted secret keys
	tokens  map[string]string   // access key id -> required session token
	replies map[string]Reply
	log     []*Received
	counts  map[string]int
}

// NewLambdaStub starts a stub on loopback that knows no keys and no
// functions yet; it stops when the test ends.
func NewLambdaStub(t testing.TB) *LambdaStub {
	s := &LambdaStub{t: t, region: "us-east-1", keys: map[string][]string{}, tokens: map[string]string{}, replies: map[string]Reply{}, counts: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the endpointUrl for upstreams.
func (s *LambdaStub) URL() string { return s.srv.URL }

// Accept makes the stub accept the key pair (and require the token when not
// empty).
func (s *LambdaStub) Accept(id, secret, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = append(s.keys[id], secret)
	if token != "" {
		s.tokens[id] = token
	}
}

// On sets the canned answer for a function name (as sent, e.g. an ARN).
func (s *LambdaStub) On(function string, f Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies[function] = f
}

// Requests returns what the stub received for a function.
func (s *LambdaStub) Requests(function string) []*Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Received
	for _, r := range s.log {
		if r.Function == function {
			out = append(out, r)
		}
	}
	return out
}

// Only returns the one request received for function since the last
// reset, failing the test when there is not exactly one.
func (s *LambdaStub) Only(t testing.TB, function string) *Received {
	t.Helper()
	got := s.Requests(function)
	if len(got) != 1 {
		t.Fatalf("the Lambda stub received %d requests for %q, want 1", len(got), function)
	}
	return got[0]
}

// All returns every request the stub received since it started, in order,
// apart from those forgotten by Reset.
func (s *LambdaStub) All() []*Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Received(nil), s.log...)
}

// Reset forgets the requests received for function and restarts its call
// count.
func (s *LambdaStub) Reset(function string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.log[:0]
	for _, r := range s.log {
		if r.Function != function {
			kept = append(kept, r)
		}
	}
	s.log = kept
	s.counts[function] = 0
}

// InvokePrefix and InvokeSuffix frame the function name in an Invoke path.
const InvokePrefix, InvokeSuffix = "/2015-03-31/functions/", "/invocations"

func (s *LambdaStub) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	rec := &Received{RawPath: rawPath, RawQuery: rawQuery, Host: r.Host, Header: r.Header.Clone(), Body: body}
	switch {
	case len(r.TransferEncoding) > 0:
		rec.Transfer = "chunked"
	case r.ContentLength >= 0:
		rec.Transfer = fmt.Sprintf("content-length %d", r.ContentLength)
	}
	if _, ok := r.Header["Content-Length"]; !ok && r.ContentLength == 0 {
		rec.Transfer = "no content-length, no body"
	}
	if strings.HasPrefix(r.URL.Path, InvokePrefix) && strings.HasSuffix(r.URL.Path, InvokeSuffix) && r.Method == http.MethodPost {
		rec.Function = strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, InvokePrefix), InvokeSuffix)
	}
	rec.AccessKey, rec.Secret, rec.SigErr = s.verify(r, body)

	s.mu.Lock()
	s.log = append(s.log, rec)
	s.counts[rec.Function]++
	n := s.counts[rec.Function]
	f := s.replies[rec.Function]
	s.mu.Unlock()

	if rec.SigErr != "" {
		// What AWS answers to a bad signature.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "InvalidSignatureException")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}`)
		return
	}
	if rec.Function == "" || f == nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"Type":"User","Message":"Function not found: %s"}`, rec.Function)
		return
	}
	f(w, r, rec, n)
}

// verify recomputes the request's signature with the SDK signer over the
// request as received: the same method, escaped path, query and signed
// headers, the payload's hash and the request's X-Amz-Date.
func (s *LambdaStub) verify(r *http.Request, body []byte) (accessKey, matched, problem string) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return "", "", "no AWS4-HMAC-SHA256 Authorization header"
	}
	fields := map[string]string{}
	for _, p := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[3] != "lambda" || cred[4] != "aws4_request" {
		return "", "", "bad credential scope " + fields["Credential"]
	}
	accessKey = cred[0]
	if cred[2] != s.region {
		return accessKey, "", "signed for region " + cred[2]
	}
	date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return accessKey, "", "bad X-Amz-Date " + r.Header.Get("X-Amz-Date")
	}
	if cred[1] != date.Format("20060102") {
		return accessKey, "", "credential date differs from X-Amz-Date"
	}
	s.mu.Lock()
	secrets := append([]string(nil), s.keys[accessKey]...)
	token := s.tokens[accessKey]
	s.mu.Unlock()
	if len(secrets) == 0 {
		return accessKey, "", "unknown access key " + accessKey
	}
	if token != "" && r.Header.Get("X-Amz-Security-Token") != token {
		return accessKey, "", "missing or wrong X-Amz-Security-Token"
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	// AWS refuses x-amz-* headers that are not signed.
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") && !slices.Contains(signed, lk) {
			return accessKey, "", "header " + k + " is not signed"
		}
	}
	u, err := url.Parse("http://" + r.Host + r.RequestURI)
	if err != nil {
		return accessKey, "", "bad request URI " + r.RequestURI
	}
	sum := sha256.Sum256(body)
	for _, secret := range secrets {
		uu := *u // the signer rewrites the query
		req := &http.Request{Method: r.Method, URL: &uu, Host: r.Host, Header: http.Header{}}
		for _, h := range signed {
			switch h {
			case "host":
			case "content-length":
				req.ContentLength = r.ContentLength
			default:
				req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
			}
		}
		creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret, SessionToken: token}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", s.region, date); err != nil {
			return accessKey, "", "signing: " + err.Error()
		}
		if req.Header.Get("Authorization") == auth {
			return accessKey, secret, ""
		}
	}
	return accessKey, "", "signature mismatch"
}

// Canned answers.

// LambdaOK answers like a successful synchronous Invoke.
func LambdaOK(body string) Reply {
	return func(w http.ResponseWriter, r *http.Request, rec *Received, n int) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Requestid", fmt.Sprintf("stub-%s-%d", sanitize(rec.Function), n))
		h.Set("X-Amz-Executed-Version", "$LATEST")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
	}
}

// Echo answers with the payload it received.
func Echo(w http.ResponseWriter, r *http.Request, rec *Received, n int) {
	LambdaOK(string(rec.Body))(w, r, rec, n)
}

// AsyncAccepted answers like an Event invocation.
func AsyncAccepted(w http.ResponseWriter, r *http.Request, rec *Received, n int) {
	w.Header().Set("X-Amzn-Requestid", "stub-async")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// FunctionError answers like a function that threw (status 200 plus
// X-Amz-Function-Error).
func FunctionError(payload string) Reply {
	return func(w http.ResponseWriter, r *http.Request, rec *Received, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.Header().Set("X-Amzn-Requestid", "stub-fnerr")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, payload)
	}
}

// APIError answers like the Lambda API refusing the call.
func APIError(status int, typ, body string) Reply {
	return func(w http.ResponseWriter, r *http.Request, rec *Received, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", typ)
		w.Header().Set("X-Amzn-Requestid", "stub-apierr")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// ThrottleBody is what Lambda answers with a 429.
const ThrottleBody = `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`

// ThrottleThen answers 429 for the first k calls, then f.
func ThrottleThen(k int, f Reply) Reply {
	return func(w http.ResponseWriter, r *http.Request, rec *Received, n int) {
		if n <= k {
			APIError(http.StatusTooManyRequests, "TooManyRequestsException", ThrottleBody)(w, r, rec, n)
			return
		}
		f(w, r, rec, n)
	}
}

// Slow answers after d, or when the caller gives up.
func Slow(d time.Duration, f Reply) Reply {
	return func(w http.ResponseWriter, r *http.Request, rec *Received, n int) {
		select {
		case <-time.After(d):
			f(w, r, rec, n)
		case <-r.Context().Done():
		}
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ':' || r == '$' {
			return '-'
		}
		return r
	}, s)
}

// ClosedPort returns a loopback address nothing listens on.
func ClosedPort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
