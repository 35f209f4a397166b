package locallambda

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// maxTokenBytes bounds a web identity token; AWS allows 20000 characters.
const maxTokenBytes = 20000

// jwks is a parsed JSON Web Key Set: RSA public keys by key ID.
type jwks map[string]*rsa.PublicKey

// parseJWKS reads the RSA keys of a JSON Web Key Set ({"keys":[{"kty":
// "RSA","kid":..,"n":..,"e":..}]}), the document an OIDC issuer publishes.
func parseJWKS(b []byte) (jwks, error) {
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing JWKS: %w", err)
	}
	out := jwks{}
	for i, k := range doc.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("parsing JWKS: keys[%d]: n and e must be base64url big-endian integers", i)
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 {
			return nil, fmt.Errorf("parsing JWKS: keys[%d]: exponent %d is too small", i, exp)
		}
		out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	}
	if len(out) == 0 {
		return nil, errors.New("parsing JWKS: no RSA key")
	}
	return out, nil
}

// tokenClaims are the claims STS checks in a web identity token.
type tokenClaims struct {
	Issuer   string
	Subject  string
	Audience []string
	Expiry   time.Time
}

// tokenError is why a token was refused, with the STS error code.
type tokenError struct {
	code string // InvalidIdentityToken or ExpiredTokenException
	msg  string
}

func (e *tokenError) Error() string { return e.code + ": " + e.msg }

// verifyToken checks an RS256 JWT's signature against keys, then its
// issuer, audience and expiry, as STS does for AssumeRoleWithWebIdentity.
// Messages never repeat the token.
func verifyToken(token string, keys jwks, issuer, audience string, now time.Time) (*tokenClaims, error) {
	invalid := func(format string, args ...any) error {
		return &tokenError{code: "InvalidIdentityToken", msg: fmt.Sprintf(format, args...)}
	}
	if len(token) > maxTokenBytes {
		return nil, invalid("Token is longer than %d characters", maxTokenBytes)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, invalid("Token is not a JWT (header.payload.signature)")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return nil, invalid("Token header: %v", err)
	}
	if hdr.Alg != "RS256" {
		return nil, invalid("Token signing algorithm %q is not supported; use RS256", hdr.Alg)
	}
	key, ok := keys[hdr.Kid]
	if !ok && len(keys) == 1 && hdr.Kid == "" {
		for _, k := range keys {
			key, ok = k, true
		}
	}
	if !ok {
		return nil, invalid("No key with kid %q in the issuer's JWKS", hdr.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, invalid("Token signature is not base64url")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return nil, invalid("Token signature is invalid")
	}
	var raw struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp *json.Number    `json:"exp"`
	}
	if err := decodeSegment(parts[1], &raw); err != nil {
		return nil, invalid("Token payload: %v", err)
	}
	c := &tokenClaims{Issuer: raw.Iss, Subject: raw.Sub}
	if len(raw.Aud) > 0 {
		var one string
		if json.Unmarshal(raw.Aud, &one) == nil {
			c.Audience = []string{one}
		} else if json.Unmarshal(raw.Aud, &c.Audience) != nil {
			return nil, invalid("Token aud must be a string or a list of strings")
		}
	}
	if raw.Exp == nil {
		return nil, invalid("Token has no exp claim")
	}
	exp, err := raw.Exp.Int64()
	if err != nil {
		return nil, invalid("Token exp must be an integer number of seconds")
	}
	c.Expiry = time.Unix(exp, 0)
	if c.Issuer != issuer {
		return nil, invalid("Issuer %q is not trusted; the identity provider is %q", c.Issuer, issuer)
	}
	audOK := false
	for _, a := range c.Audience {
		audOK = audOK || a == audience
	}
	if !audOK {
		return nil, invalid("Incorrect token audience")
	}
	if c.Subject == "" {
		return nil, invalid("Token has no sub claim")
	}
	if !now.Before(c.Expiry) {
		return nil, &tokenError{code: "ExpiredTokenException", msg: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), exp)}
	}
	return c, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return errors.New("not base64url")
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return errors.New("not a JSON object")
	}
	return nil
}
