package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/auth/jwt/jwttest"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
)

// BenchmarkStage is the CPU a JWT stage adds to a request, with the keys
// cached (local keys; a remote set's cached keys take the same path): the
// ratio to BenchmarkStageNone is the cost of authentication. The budget
// is 30 µs per request.
func BenchmarkStage(b *testing.B) {
	for _, tc := range []struct {
		name string
		key  *jwttest.Key
		// fresh: every request carries a token not seen before (the
		// signature is checked each time); otherwise the same token
		// again, as a client reusing its token sends it.
		fresh bool
	}{{"RS256", rsaKey, false}, {"ES256", ecKey, false}, {"RS256/fresh", rsaKey, true}, {"ES256/fresh", ecKey, true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := &Stage{Providers: []*Provider{provider(b)}}
			p := s.Providers[0]
			p.KeepToken = true
			h := http.Header{"Authorization": {"Bearer " + tc.key.Sign(jwttest.Claims(iss, aud, map[string]any{"scope": "read write"}))}}
			r := &http.Request{Method: "GET", Header: h, URL: mustURL("")}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if tc.fresh {
					p.cache = tokenCache{}
				}
				var x pipeline.Exchange
				if err := s.FilterRequest(nil, r, &x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStageNone is the same loop without a filter: the baseline.
func BenchmarkStageNone(b *testing.B) {
	var filters []pipeline.RequestFilter
	r := &http.Request{Method: "GET", Header: http.Header{}, URL: mustURL("")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var x pipeline.Exchange
		for _, f := range filters {
			if err := f.FilterRequest(nil, r, &x); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkSignatureFloor is the signature check alone (SHA-256 and the
// RSA or ECDSA verification of crypto/*), for the same tokens as
// BenchmarkStage: the part of a never-seen token's cost that no JWT code
// can remove on this CPU.
func BenchmarkSignatureFloor(b *testing.B) {
	for _, key := range []*jwttest.Key{rsaKey, ecKey} {
		b.Run(string(key.Alg), func(b *testing.B) {
			tok := key.Sign(jwttest.Claims(iss, aud, map[string]any{"scope": "read write"}))
			dot := strings.LastIndexByte(tok, '.')
			sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
			if err != nil {
				b.Fatal(err)
			}
			input := []byte(tok[:dot])
			pub := key.Public().Key
			b.ReportAllocs()
			for b.Loop() {
				sum := sha256.Sum256(input)
				switch k := pub.(type) {
				case *rsa.PublicKey:
					err = rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig)
				case *ecdsa.PublicKey:
					r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
					if !ecdsa.Verify(k, sum[:], r, s) {
						err = errors.New("bad signature")
					}
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
