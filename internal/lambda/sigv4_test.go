package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signBoth signs the same Invoke request with the SDK's signer and with
// sigv4 and fails unless every header, the Host and the URL are identical.
func signBoth(t *testing.T, tg *Target, creds aws.Credentials, payload []byte, extra http.Header, at time.Time) {
	t.Helper()
	tg.Prepare()
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	mk := func() *http.Request {
		u := *tg.invokeURL
		req := &http.Request{Method: http.MethodPost, URL: &u, Host: tg.invokeURL.Host, Header: make(http.Header), ContentLength: int64(len(payload))}
		req.Header["X-Amz-Invocation-Type"] = []string{"RequestResponse"}
		for k, v := range extra {
			req.Header[k] = append([]string(nil), v...)
		}
		return req
	}
	want := mk()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, want, hash, "lambda", tg.Region, at); err != nil {
		t.Fatal(err)
	}
	got := mk()
	got.Host = tg.host
	var s sigv4
	s.sign(got, tg, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, hash, at)
	if got.Host != want.Host {
		t.Errorf("Host %q, SDK %q", got.Host, want.Host)
	}
	if got.URL.String() != want.URL.String() {
		t.Errorf("URL %q, SDK %q", got.URL.String(), want.URL.String())
	}
	if len(got.Header) != len(want.Header) {
		t.Errorf("headers %v, SDK %v", got.Header, want.Header)
	}
	for k, v := range want.Header {
		if g := got.Header[k]; len(g) != len(v) || (len(v) > 0 && g[0] != v[0]) {
			t.Errorf("%s: %q, SDK %q", k, g, v)
		}
	}
}

func TestSigV4MatchesSDK(t *testing.T) {
	at := time.Date(2026, 11, 24, 23, 59, 59, 0, time.FixedZone("x", 3600))
	static := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	session := static
	session.SessionToken = "FQoGZXIvYXdzEJr//////////wEaDOpLM=="
	regional := &url.URL{Scheme: "https", Host: "lambda.eu-west-1.amazonaws.com"}
	tests := []struct {
		name    string
		target  Target
		creds   aws.Credentials
		payload string
		extra   http.Header
	}{
		{"plain name", Target{FunctionName: "hello", Region: "eu-west-1", Endpoint: regional}, static, `{"a":1}`, nil},
		{"empty payload", Target{FunctionName: "hello", Region: "eu-west-1", Endpoint: regional}, static, ``, nil},
		{"session token", Target{FunctionName: "hello", Region: "eu-west-1", Endpoint: regional}, session, `{}`, nil},
		{"arn and alias", Target{FunctionName: "arn:aws:lambda:eu-west-1:123456789012:function:my-fn", Qualifier: "prod", Region: "eu-west-1", Endpoint: regional}, static, `{}`, nil},
		{"qualifier with space and plus", Target{FunctionName: "f", Qualifier: "a b+c/d", Region: "eu-west-1", Endpoint: regional}, static, `{}`, nil},
		{"odd characters in name", Target{FunctionName: "we!rd*name(1)~_.-%", Region: "eu-west-1", Endpoint: regional}, static, `{}`, nil},
		{"endpoint with default port", Target{FunctionName: "f", Region: "us-east-1", Endpoint: &url.URL{Scheme: "http", Host: "127.0.0.1:80"}}, static, `{}`, nil},
		{"endpoint with https default port", Target{FunctionName: "f", Region: "us-east-1", Endpoint: &url.URL{Scheme: "https", Host: "lambda.local:443"}}, static, `{}`, nil},
		{"endpoint with port and base path", Target{FunctionName: "f", Region: "us-east-1", Endpoint: &url.URL{Scheme: "http", Host: "127.0.0.1:9001", Path: "/base/"}}, static, `{}`, nil},
		{"IPv6 endpoint", Target{FunctionName: "f", Region: "us-east-1", Endpoint: &url.URL{Scheme: "http", Host: "[::1]:9001"}}, static, `{}`, nil},
		{"trace and routing headers", Target{FunctionName: "f", Region: "eu-west-1", Endpoint: regional}, session, `{}`, http.Header{
			"X-Amzn-Trace-Id":         {"Root=1-5759e988-bd862e3fe1be46a994272793"},
			"Traceparent":             {"  00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01  "},
			"X-Envoy-Original-Path":   {"/a/b?x=1  y\tz"},
			"X-Envoy-Original-Method": {"POST\t"},
		}},
		{"async", Target{FunctionName: "f", Region: "eu-west-1", Endpoint: regional}, static, `{}`, http.Header{"X-Amz-Invocation-Type": {"Event"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signBoth(t, &tc.target, tc.creds, []byte(tc.payload), tc.extra, at)
		})
	}
}

// TestSigV4KeyRotation: a new secret under the same key id signs with the
// new secret (the SDK's own cache would keep the old one).
func TestSigV4KeyRotation(t *testing.T) {
	tg := &Target{FunctionName: "f", Region: "us-east-1", Endpoint: &url.URL{Scheme: "http", Host: "127.0.0.1:9001"}}
	tg.Prepare()
	var s sigv4
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	sig := func(secret string, at time.Time) string {
		req := &http.Request{Method: http.MethodPost, URL: tg.invokeURL, Host: tg.host, Header: http.Header{}}
		s.sign(req, tg, "AKID", secret, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", at)
		return req.Header.Get("Authorization")
	}
	a, b := sig("one", at), sig("two", at)
	if a == b {
		t.Error("a rotated secret signed like the old one")
	}
	if sig("one", at) != a {
		t.Error("signing is not deterministic")
	}
	if sig("one", at.Add(24*time.Hour)) == a {
		t.Error("the next day signed with the same key and date")
	}
}

// TestSigV4ForgetsOldKeys: keys of credentials unused since yesterday are
// dropped when a new key is derived, so rotating credentials do not grow
// the cache for the whole uptime.
func TestSigV4ForgetsOldKeys(t *testing.T) {
	tg := &Target{FunctionName: "f", Region: "us-east-1", Endpoint: &url.URL{Scheme: "http", Host: "127.0.0.1:9001"}}
	tg.Prepare()
	var s sigv4
	day := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	sign := func(id string, at time.Time) {
		req := &http.Request{Method: http.MethodPost, URL: tg.invokeURL, Host: tg.host, Header: http.Header{}}
		s.sign(req, tg, id, "secret", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", at)
	}
	count := func() int {
		n := 0
		s.keys.Range(func(any, any) bool { n++; return true })
		return n
	}
	for h := range 24 {
		sign(fmt.Sprintf("ASIA%02d", h), day.Add(time.Duration(h)*time.Minute))
	}
	sign("ASIA-NEXT-DAY", day.Add(24*time.Hour))
	if n := count(); n != 25 {
		t.Fatalf("%d keys the day after, want all 25 (yesterday's are kept)", n)
	}
	sign("ASIA-TWO-DAYS-LATER", day.Add(48*time.Hour))
	if n := count(); n != 2 {
		t.Fatalf("%d keys two days later, want 2 (yesterday's and today's)", n)
	}
}

// FuzzSigV4MatchesSDK: any trace header value and qualifier sign exactly
// as the SDK signs them.
func FuzzSigV4MatchesSDK(f *testing.F) {
	f.Add("hello", "live", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "/x?y=1", "token")
	f.Add("arn:aws:lambda:us-east-1:1:function:f", "", " a  b ", "", "")
	f.Fuzz(func(t *testing.T, name, qualifier, traceparent, origPath, token string) {
		if name == "" {
			return
		}
		tg := &Target{FunctionName: name, Qualifier: qualifier, Region: "us-east-1", Endpoint: &url.URL{Scheme: "http", Host: "127.0.0.1:9001"}}
		creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: token}
		extra := http.Header{"Traceparent": {traceparent}, "X-Envoy-Original-Path": {origPath}}
		signBoth(t, tg, creds, []byte(`{}`), extra, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	})
}
