// Package jwttest issues JSON Web Tokens for tests: signing keys made on
// the spot, their key set (to serve on loopback or inline), and tokens
// with any claims. Signing is go-jose's.
package jwttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is a signing key with its key id and algorithm.
type Key struct {
	KID  string
	Alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

// NewRSA returns an RS256 key (2048 bits).
func NewRSA(kid string) *Key {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &Key{KID: kid, Alg: jose.RS256, priv: k}
}

// NewEC returns an ES256 key (P-256).
func NewEC(kid string) *Key {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Key{KID: kid, Alg: jose.ES256, priv: k}
}

// Public is the key's public JSON Web Key.
func (k *Key) Public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.KID, Algorithm: string(k.Alg), Use: "sig"}
}

// JWKS returns the JSON Web Key Set of keys.
func JWKS(keys ...*Key) []byte {
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.Public())
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic(err)
	}
	return b
}

// Sign returns a compact token with claims, signed by k (with its kid).
func (k *Key) Sign(claims map[string]any) string {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if k.KID != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), k.KID)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Alg, Key: k.priv}, opts)
	if err != nil {
		panic(err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	obj, err := s.Sign(b)
	if err != nil {
		panic(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return tok
}

// Claims returns standard claims for issuer and audience, valid for an
// hour from now, plus extra.
func Claims(issuer, audience string, extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": issuer, "aud": audience, "sub": "user-1", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// Server serves a key set on loopback and can change it or fail, to
// test rotation and an unreachable issuer.
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	down    bool
	fetches int
}

// NewServer starts a JWKS server serving keys.
func NewServer(keys ...*Key) *Server {
	s := &Server{body: JWKS(keys...)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.fetches++
		body, down := s.body, s.down
		s.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	return s
}

// SetKeys changes the key set served.
func (s *Server) SetKeys(keys ...*Key) {
	s.mu.Lock()
	s.body = JWKS(keys...)
	s.mu.Unlock()
}

// SetDown makes the server answer 503 (true) or serve again (false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// Fetches counts the requests served.
func (s *Server) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}
