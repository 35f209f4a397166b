package locallambda

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"
)

// TestIssuer is an OIDC identity provider for tests and local development:
// it signs the web identity tokens (like an EKS service account token) that
// the local STS accepts when STSOptions.Issuer and JWKS are its own.
type TestIssuer struct {
	// URL is the issuer (the tokens' iss).
	URL string
	key *rsa.PrivateKey
	kid string
}

// NewTestIssuer creates an issuer with a fresh 2048-bit RSA key.
func NewTestIssuer(url string) (*TestIssuer, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating the issuer key: %w", err)
	}
	sum := sha256.Sum256(k.N.Bytes())
	return &TestIssuer{URL: url, key: k, kid: base64.RawURLEncoding.EncodeToString(sum[:8])}, nil
}

// JWKS is the issuer's public JSON Web Key Set (for STSOptions.JWKS).
func (i *TestIssuer) JWKS() []byte {
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": i.kid,
		"n": base64.RawURLEncoding.EncodeToString(i.key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(i.key.E)).Bytes()),
	}}})
	return b
}

// Token returns an RS256 JWT for subject sub and audience aud, expiring
// at exp.
func (i *TestIssuer) Token(sub, aud string, exp time.Time) string {
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": i.kid})
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": i.URL, "sub": sub, "aud": []string{aud}, "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix()})
	signed := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, i.key, crypto.SHA256, sum[:])
	if err != nil {
		panic("signing a token: " + err.Error()) // only fails for a broken key
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}
