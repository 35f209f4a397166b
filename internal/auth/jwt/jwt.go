// Package jwt validates JSON Web Tokens for a route (Gloo Enterprise's
// jwt and jwtStaged options) as a request filter of the route pipeline,
// with the checks of an API Gateway HTTP API JWT authorizer: the
// signature, by key id, with keys from a JSON Web Key Set (inline or
// fetched and cached), the issuer, the audience (aud, or client_id
// without aud), exp (required), nbf and iat, with a clock skew. A valid
// token's claims and scopes go into the exchange for the event builders
// (requestContext.authorizer) and the RBAC filter. Signature checks are
// go-jose's; nothing here is cryptography.
package jwt

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/lambdagate/lambdagate/internal/auth/jwks"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// Algorithms a token may be signed with: asymmetric ones only. An HMAC
// token would need a shared secret in the manifest, and "none" is never
// accepted.
var Algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// DefaultClockSkew is Gloo's default clockSkewSeconds.
const DefaultClockSkew = 60 * time.Second

// Policy says what a stage does with a request without a valid token.
type Policy int

// The policies, as Gloo's validationPolicy.
const (
	RequireValid Policy = iota
	AllowMissing
	AllowMissingOrFailed
)

// Provider is one compiled JWT provider.
type Provider struct {
	Name      string
	Issuer    string   // "" accepts any
	Audiences []string // empty accepts any
	Sources   []Source
	KeepToken bool
	Claims    []ClaimHeader
	Skew      time.Duration
	// Keys verify the tokens: a *jwks.KeySet or a *jwks.Remote.
	Keys jwks.Source

	cache tokenCache
}

// ClaimHeader copies a claim into a request header.
type ClaimHeader struct {
	Claim  string
	Header string // canonical
	Append bool
}

// Stage is one JWT stage of a route (Gloo's VhostExtension): its
// providers, OR-ed, and its validation policy. It is a request filter.
type Stage struct {
	Providers []*Provider // by name
	Policy    Policy
	// now is the clock (tests); nil: time.Now.
	now func() time.Time
}

// The denial reasons (metric label values).
const (
	ReasonMissing     = "missing_token"
	ReasonInvalid     = "invalid_token"
	ReasonExpired     = "expired_token"
	ReasonNotYetValid = "token_not_yet_valid"
	ReasonIssuer      = "wrong_issuer"
	ReasonAudience    = "wrong_audience"
	ReasonNoKeys      = "jwks_unavailable"
)

// failure is why one token was refused: the reason and RFC 6750's
// error_description, fixed texts that never quote the token.
type failure struct {
	reason, description string
}

var (
	failMalformed = &failure{ReasonInvalid, "the token is malformed"}
	failSignature = &failure{ReasonInvalid, "the token's signature is not valid"}
	failNoKeys    = &failure{ReasonNoKeys, "the issuer's signing keys are unavailable"}
	failExpired   = &failure{ReasonExpired, "the token has expired"}
	failNoExp     = &failure{ReasonInvalid, "the token has no exp claim"}
	failNotYet    = &failure{ReasonNotYetValid, "the token is not valid yet"}
	failIssued    = &failure{ReasonInvalid, "the token is issued in the future"}
	failIssuer    = &failure{ReasonIssuer, "the token's issuer is not accepted"}
	failAudience  = &failure{ReasonAudience, "the token's audience is not accepted"}
)

// challengeMissing is RFC 6750 §3.1's answer to a request without
// credentials: no error code.
const challengeMissing = `Bearer`

func (f *failure) deny() error {
	return httperr.Unauthorized(f.reason, `Bearer error="invalid_token", error_description="`+f.description+`"`)
}

// RuntimeProblem names the stage's providers whose keys cannot be fetched
// now, and why; "" when none.
func (s *Stage) RuntimeProblem() string {
	var out []string
	for _, p := range s.Providers {
		if k, ok := p.Keys.(interface{ Problem() string }); ok {
			if msg := k.Problem(); msg != "" {
				out = append(out, fmt.Sprintf("jwt provider %q: %s", p.Name, msg))
			}
		}
	}
	return strings.Join(out, "; ")
}

// FilterRequest validates the request's token. On success it sets the
// exchange's claims and scopes, copies claims to headers and removes the
// token's header unless keepToken; without a valid token it refuses the
// request (401) unless the stage's policy lets it through.
func (s *Stage) FilterRequest(_ http.ResponseWriter, r *http.Request, x *pipeline.Exchange) error {
	// A header that claimsToHeaders sets (append false) carries only a
	// verified claim: the client's own value is dropped first, so that a
	// request without a token (ALLOW_MISSING) or without the claim cannot
	// pass one off as the issuer's.
	for _, p := range s.Providers {
		for _, c := range p.Claims {
			if !c.Append {
				delete(r.Header, c.Header)
			}
		}
	}
	var fail *failure
	found := false
	for _, p := range s.Providers {
		tok, src, ok := Extract(r, p.Sources)
		if !ok {
			continue
		}
		found = true
		v, f := p.verify(r.Context(), tok, s.clock())
		if f != nil {
			if fail == nil || fail == failIssuer {
				// The first failure explains best, except that a token
				// for another provider's issuer says little.
				fail = f
			}
			continue
		}
		p.accept(r, x, v, src)
		return nil
	}
	switch {
	case !found && s.Policy != RequireValid:
		return nil
	case !found:
		return httperr.Unauthorized(ReasonMissing, challengeMissing)
	case s.Policy == AllowMissingOrFailed:
		return nil
	}
	return fail.deny()
}

func (s *Stage) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// accept records a valid token's claims for the event and the filters
// after this one.
func (p *Provider) accept(r *http.Request, x *pipeline.Exchange, v *verified, src Source) {
	if x.Auth == nil {
		x.Auth = &transform.Authorizer{}
	}
	claims := v.claims
	x.Auth.Claims, x.Auth.Scopes = claims, v.scopes
	x.JWTProvider = p.Name
	for _, c := range p.Claims {
		v, ok := claims[c.Claim]
		if !ok {
			continue
		}
		s := ClaimText(v)
		if strings.ContainsAny(s, "\r\n\x00") {
			continue
		}
		if c.Append {
			r.Header[c.Header] = append(r.Header[c.Header], s)
		} else {
			r.Header[c.Header] = []string{s}
		}
	}
	if !p.KeepToken && src.Header != "" {
		delete(r.Header, src.Header)
	}
}

// verify checks one token against the provider; it returns the verified
// token, or why it is refused.
func (p *Provider) verify(ctx context.Context, tok string, now time.Time) (*verified, *failure) {
	if v := p.cache.get(tok); v != nil {
		if ks, err := p.Keys.Keys(ctx, ""); err == nil && ks == v.keys {
			if f := v.timely(now, p.Skew); f != nil {
				return nil, f
			}
			return v, nil
		}
	}
	jws, err := jose.ParseSignedCompact(tok, Algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, failMalformed
	}
	h := jws.Signatures[0].Header
	ks, err := p.Keys.Keys(ctx, h.KeyID)
	if err != nil {
		return nil, failNoKeys
	}
	var payload []byte
	for _, k := range ks.Candidates(h.KeyID) {
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if b, err := jws.Verify(k.Key); err == nil {
			payload = b
			break
		}
	}
	if payload == nil {
		return nil, failSignature
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil || claims == nil {
		return nil, failMalformed
	}
	v := &verified{claims: claims, scopes: Scopes(claims), keys: ks}
	if f := p.checkClaims(claims, v, now); f != nil {
		return nil, f
	}
	p.cache.put(tok, v)
	return v, nil
}

// checkClaims checks a verified token's registered claims, as an HTTP API
// JWT authorizer does: iss, aud or client_id, exp (required), nbf and iat
// when present, each time with the clock skew.
func (p *Provider) checkClaims(c map[string]any, v *verified, now time.Time) *failure {
	if p.Issuer != "" {
		if iss, _ := c["iss"].(string); iss != p.Issuer {
			return failIssuer
		}
	}
	if len(p.Audiences) > 0 && !p.audienceOK(c) {
		return failAudience
	}
	var ok, valid bool
	if v.exp, ok, valid = numericDate(c, "exp"); !valid {
		return failMalformed
	} else if !ok {
		return failNoExp
	}
	if v.nbf, _, valid = numericDate(c, "nbf"); !valid {
		return failMalformed
	}
	if v.iat, _, valid = numericDate(c, "iat"); !valid {
		return failMalformed
	}
	return v.timely(now, p.Skew)
}

// audienceOK: one of the token's audiences (aud, a string or a list; or,
// without aud, client_id, as API Gateway accepts) is accepted.
func (p *Provider) audienceOK(c map[string]any) bool {
	aud, ok := c["aud"]
	if !ok {
		aud = c["client_id"]
	}
	switch a := aud.(type) {
	case string:
		return slices.Contains(p.Audiences, a)
	case []any:
		for _, e := range a {
			if s, ok := e.(string); ok && slices.Contains(p.Audiences, s) {
				return true
			}
		}
	}
	return false
}

// numericDate reads a NumericDate claim: ok when present, valid unless
// present and not a number.
func numericDate(c map[string]any, name string) (t time.Time, ok, valid bool) {
	v, present := c[name]
	if !present {
		return time.Time{}, false, true
	}
	f, isNum := v.(float64)
	if !isNum || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return time.Time{}, false, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, true
}

// Scopes are a token's scopes: its scope claim split on spaces (OAuth 2.0)
// or its scp claim (a list or a string), as API Gateway reads them. Nil
// when it has none.
func Scopes(c map[string]any) []string {
	if s, ok := c["scope"].(string); ok {
		return strings.Fields(s)
	}
	switch v := c["scp"].(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ClaimText is a claim as a header value: a string as it is, anything
// else as its JSON text.
func ClaimText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// String describes the stage (for golden tests and dumps); it names no
// key.
func (s *Stage) String() string {
	var b strings.Builder
	b.WriteString("jwt: policy=")
	b.WriteString([...]string{"REQUIRE_VALID", "ALLOW_MISSING", "ALLOW_MISSING_OR_FAILED"}[s.Policy])
	for _, p := range s.Providers {
		fmt.Fprintf(&b, " provider=%s(issuer=%q audiences=%v sources=%v keepToken=%v claimsToHeaders=%v skew=%s keys=%s)",
			p.Name, p.Issuer, p.Audiences, p.Sources, p.KeepToken, p.Claims, p.Skew, jwks.Describe(p.Keys))
	}
	return b.String()
}
