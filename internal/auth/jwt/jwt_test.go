package jwt

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/lambdagate/lambdagate/internal/auth/jwks"
	"github.com/lambdagate/lambdagate/internal/auth/jwt/jwttest"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
)

const (
	iss = "https://issuer.test"
	aud = "api"
)

var (
	rsaKey   = jwttest.NewRSA("rsa-1")
	ecKey    = jwttest.NewEC("ec-1")
	otherKey = jwttest.NewRSA("rsa-1") // same kid, not in the set
)

func localKeys(t testing.TB, keys ...*jwttest.Key) *jwks.KeySet {
	t.Helper()
	set, err := jwks.Parse(string(jwttest.JWKS(keys...)))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func provider(t testing.TB) *Provider {
	return &Provider{Name: "idp", Issuer: iss, Audiences: []string{aud}, Sources: DefaultSources, Skew: DefaultClockSkew, Keys: localKeys(t, rsaKey, ecKey)}
}

func bearer(tok string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func claims(extra map[string]any) map[string]any { return jwttest.Claims(iss, aud, extra) }

// hsToken is an HS256 token: a gateway verifying with public keys must
// never accept one (the classic algorithm confusion).
func hsToken(t *testing.T) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(`{"iss":"` + iss + `","aud":"api","exp":9999999999}`))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := obj.CompactSerialize()
	return tok
}

func TestStage(t *testing.T) {
	now := time.Now()
	valid := rsaKey.Sign(claims(map[string]any{"scope": "read write", "email": "a@example.com"}))
	tests := []struct {
		name   string
		req    *http.Request
		policy Policy
		// reason is the denial's reason; "" for a request let through.
		reason string
		authed bool
	}{
		{name: "RS256", req: bearer(valid), authed: true},
		{name: "ES256", req: bearer(ecKey.Sign(claims(nil))), authed: true},
		{name: "bearer scheme any case", req: func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "bearer "+valid)
			return r
		}(), authed: true},
		{name: "access_token query", req: httptest.NewRequest("GET", "/?a=1&access_token="+valid, nil), authed: true},
		{name: "missing", req: httptest.NewRequest("GET", "/", nil), reason: ReasonMissing},
		{name: "other scheme", req: func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
			return r
		}(), reason: ReasonMissing},
		{name: "garbage", req: bearer("not.a.token"), reason: ReasonInvalid},
		{name: "tampered", req: bearer(valid[:len(valid)-4] + "AAAA"), reason: ReasonInvalid},
		{name: "unknown key with a known kid", req: bearer(otherKey.Sign(claims(nil))), reason: ReasonInvalid},
		{name: "HS256", req: bearer(hsToken(t)), reason: ReasonInvalid},
		{name: "alg none", req: bearer("eyJhbGciOiJub25lIn0." + strings.Split(valid, ".")[1] + "."), reason: ReasonInvalid},
		{name: "expired", req: bearer(rsaKey.Sign(claims(map[string]any{"exp": now.Add(-2 * time.Minute).Unix()}))), reason: ReasonExpired},
		{name: "expired within skew", req: bearer(rsaKey.Sign(claims(map[string]any{"exp": now.Add(-30 * time.Second).Unix()}))), authed: true},
		{name: "no exp", req: bearer(rsaKey.Sign(map[string]any{"iss": iss, "aud": aud})), reason: ReasonInvalid},
		{name: "exp not a number", req: bearer(rsaKey.Sign(claims(map[string]any{"exp": "tomorrow"}))), reason: ReasonInvalid},
		{name: "not yet valid", req: bearer(rsaKey.Sign(claims(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()}))), reason: ReasonNotYetValid},
		{name: "nbf within skew", req: bearer(rsaKey.Sign(claims(map[string]any{"nbf": now.Add(30 * time.Second).Unix()}))), authed: true},
		{name: "issued in the future", req: bearer(rsaKey.Sign(claims(map[string]any{"iat": now.Add(5 * time.Minute).Unix()}))), reason: ReasonInvalid},
		{name: "wrong issuer", req: bearer(rsaKey.Sign(claims(map[string]any{"iss": "https://evil.test"}))), reason: ReasonIssuer},
		{name: "wrong audience", req: bearer(rsaKey.Sign(claims(map[string]any{"aud": "other"}))), reason: ReasonAudience},
		{name: "audience list", req: bearer(rsaKey.Sign(claims(map[string]any{"aud": []string{"x", aud}}))), authed: true},
		{name: "client_id without aud", req: bearer(rsaKey.Sign(map[string]any{"iss": iss, "client_id": aud, "exp": now.Add(time.Hour).Unix()})), authed: true},
		{name: "ALLOW_MISSING: missing", req: httptest.NewRequest("GET", "/", nil), policy: AllowMissing},
		{name: "ALLOW_MISSING: invalid", req: bearer("not.a.token"), policy: AllowMissing, reason: ReasonInvalid},
		{name: "ALLOW_MISSING_OR_FAILED: invalid", req: bearer("not.a.token"), policy: AllowMissingOrFailed},
		{name: "ALLOW_MISSING_OR_FAILED: valid", req: bearer(valid), policy: AllowMissingOrFailed, authed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Stage{Providers: []*Provider{provider(t)}, Policy: tc.policy}
			var x pipeline.Exchange
			err := s.FilterRequest(httptest.NewRecorder(), tc.req, &x)
			if got := httperr.DeniedReason(err); got != tc.reason || (err != nil) != (tc.reason != "") {
				t.Fatalf("error %v (reason %q), want reason %q", err, got, tc.reason)
			}
			if tc.authed != (x.Auth != nil && x.Auth.Claims != nil) {
				t.Fatalf("authenticated %v, want %v", x.Auth != nil, tc.authed)
			}
			if err != nil {
				status, code, msg, hdr := httperr.Map(err)
				if status != 401 || code != "Unauthorized" || msg != "Unauthorized" {
					t.Errorf("mapped to %d %s %q, want 401 Unauthorized", status, code, msg)
				}
				ch := hdr.Get("Www-Authenticate")
				if tc.reason == ReasonMissing && ch != "Bearer" {
					t.Errorf("WWW-Authenticate %q, want Bearer (RFC 6750 3.1: no error code without credentials)", ch)
				}
				if tc.reason != ReasonMissing && !strings.HasPrefix(ch, `Bearer error="invalid_token"`) {
					t.Errorf("WWW-Authenticate %q, want Bearer error=\"invalid_token\"", ch)
				}
				if strings.Contains(err.Error(), "eyJ") || strings.Contains(ch, "eyJ") {
					t.Errorf("the denial quotes the token: %v / %s", err, ch)
				}
			}
		})
	}
}

func TestAccept(t *testing.T) {
	p := provider(t)
	p.Claims = []ClaimHeader{{Claim: "email", Header: "X-Email"}, {Claim: "groups", Header: "X-Groups", Append: true}, {Claim: "absent", Header: "X-Absent"}}
	tok := rsaKey.Sign(claims(map[string]any{"scope": "read write", "email": "a@example.com", "groups": []string{"g1"}}))
	r := bearer(tok)
	r.Header.Set("X-Email", "spoofed")
	r.Header.Set("X-Groups", "before")
	var x pipeline.Exchange
	if err := (&Stage{Providers: []*Provider{p}}).FilterRequest(nil, r, &x); err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Values("X-Email"); !slices.Equal(got, []string{"a@example.com"}) {
		t.Errorf("X-Email %q: the claim must replace the client's value", got)
	}
	if got := r.Header.Values("X-Groups"); !slices.Equal(got, []string{"before", `["g1"]`}) {
		t.Errorf("X-Groups %q", got)
	}
	if _, ok := r.Header["X-Absent"]; ok {
		t.Error("a missing claim set a header")
	}
	// Without a token (ALLOW_MISSING), the client's own value of a claim
	// header does not reach the function.
	anon := httptest.NewRequest("GET", "/", nil)
	anon.Header.Set("X-Email", "admin@example.com")
	if err := (&Stage{Providers: []*Provider{p}, Policy: AllowMissing}).FilterRequest(nil, anon, &pipeline.Exchange{}); err != nil {
		t.Fatal(err)
	}
	if v := anon.Header.Get("X-Email"); v != "" {
		t.Errorf("a client passed off X-Email %q without a token", v)
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("keepToken false: the Authorization header must be removed")
	}
	if !slices.Equal(x.Auth.Scopes, []string{"read", "write"}) || x.Auth.Claims["email"] != "a@example.com" || x.JWTProvider != "idp" {
		t.Errorf("exchange %+v provider %q", x.Auth, x.JWTProvider)
	}

	p.KeepToken = true
	r = bearer(tok)
	if err := (&Stage{Providers: []*Provider{p}}).FilterRequest(nil, r, &pipeline.Exchange{}); err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("Authorization") == "" {
		t.Error("keepToken true: the Authorization header must be kept")
	}
}

// TestProviders: providers are OR-ed; each reads its own token source.
func TestProviders(t *testing.T) {
	a := &Provider{Name: "a", Issuer: "https://a.test", Sources: []Source{{Header: "X-A-Token"}}, Skew: DefaultClockSkew, Keys: localKeys(t, rsaKey)}
	b := &Provider{Name: "b", Issuer: "https://b.test", Sources: DefaultSources, Skew: DefaultClockSkew, Keys: localKeys(t, ecKey)}
	s := &Stage{Providers: []*Provider{a, b}}

	r := bearer(ecKey.Sign(jwttest.Claims("https://b.test", "x", nil)))
	var x pipeline.Exchange
	if err := s.FilterRequest(nil, r, &x); err != nil || x.JWTProvider != "b" {
		t.Fatalf("b's token: %v, provider %q", err, x.JWTProvider)
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-A-Token", rsaKey.Sign(jwttest.Claims("https://a.test", "x", nil)))
	x = pipeline.Exchange{}
	if err := s.FilterRequest(nil, r, &x); err != nil || x.JWTProvider != "a" {
		t.Fatalf("a's token: %v, provider %q", err, x.JWTProvider)
	}
	// a's token where b looks: b's issuer check refuses it.
	r = bearer(rsaKey.Sign(jwttest.Claims("https://a.test", "x", nil)))
	err := s.FilterRequest(nil, r, &pipeline.Exchange{})
	var d *httperr.Denied
	if !errors.As(err, &d) || d.Status != 401 {
		t.Fatalf("a's token in b's place: %v", err)
	}
}

func TestQueryValue(t *testing.T) {
	for _, tc := range []struct {
		raw, name, want string
		ok              bool
	}{
		{"access_token=abc", "access_token", "abc", true},
		{"x=1&access_token=a%2Eb&access_token=second", "access_token", "a.b", true},
		{"access%5Ftoken=abc", "access_token", "abc", true},
		{"access_token=%zz&access_token=ok", "access_token", "ok", true},
		{"access_token", "access_token", "", true},
		{"x=1", "access_token", "", false},
		{"", "access_token", "", false},
	} {
		got, ok := QueryValue(tc.raw, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("QueryValue(%q) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add("Bearer abc.def.ghi", "access_token=x&y=%20", "Bearer ")
	f.Add("bearer   ", "access_token", "")
	f.Add("", "%zz=%zz&access%5ftoken=a+b", "Token ")
	f.Fuzz(func(t *testing.T, header, query, prefix string) {
		r := &http.Request{Header: http.Header{"Authorization": {header}}, URL: mustURL(query)}
		tok, src, ok := Extract(r, []Source{{Header: "Authorization", Prefix: prefix}, {Query: "access_token"}})
		if !ok {
			return
		}
		if tok == "" || len(tok) > maxToken || tok != strings.TrimSpace(tok) && src.Header != "" {
			t.Fatalf("token %q from %+v", tok, src)
		}
		if src.Header != "" && !strings.Contains(header, tok) {
			t.Fatalf("token %q is not in the header %q", tok, header)
		}
	})
}

// FuzzStage: whatever a client sends as a token, the filter answers
// (lets through or refuses with 401), never panics, and never quotes it.
func FuzzStage(f *testing.F) {
	valid := rsaKey.Sign(claims(nil))
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	s := &Stage{Providers: []*Provider{provider(f)}}
	f.Fuzz(func(t *testing.T, tok string) {
		r := &http.Request{Method: "GET", Header: http.Header{"Authorization": {"Bearer " + tok}}, URL: mustURL("")}
		err := s.FilterRequest(nil, r, &pipeline.Exchange{})
		if err == nil {
			return
		}
		var d *httperr.Denied
		if !errors.As(err, &d) || d.Status != 401 {
			t.Fatalf("error %v is not a 401 denial", err)
		}
		if len(tok) > 8 && (strings.Contains(err.Error(), tok) || strings.Contains(d.Challenge, tok)) {
			t.Fatalf("the denial quotes the token")
		}
	})
}

func mustURL(rawQuery string) *url.URL { return &url.URL{Path: "/", RawQuery: rawQuery} }
