package jwt

import (
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/auth/jwks"
	"github.com/lambdagate/lambdagate/internal/auth/jwt/jwttest"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
)

// TestRemoteKeysRevoked: a key the issuer withdraws stops validating its
// tokens once the set is refreshed, even those already verified (the
// verified-token cache belongs to the key set it was checked with).
func TestRemoteKeysRevoked(t *testing.T) {
	old, next := jwttest.NewRSA("old"), jwttest.NewRSA("next")
	srv := jwttest.NewServer(old)
	defer srv.Close()
	p := &Provider{Name: "idp", Issuer: iss, Sources: DefaultSources, Skew: DefaultClockSkew,
		Keys: jwks.Shared(srv.URL+"/revoked", 100*time.Millisecond, 10*time.Millisecond)}
	s := &Stage{Providers: []*Provider{p}}
	oldTok := old.Sign(claims(nil))
	for i := 0; i < 2; i++ { // verified, then from the cache
		if err := s.FilterRequest(nil, bearer(oldTok), &pipeline.Exchange{}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	srv.SetKeys(next)
	time.Sleep(150 * time.Millisecond)
	// The stale set still serves this request and is refreshed behind it.
	_ = s.FilterRequest(nil, bearer(oldTok), &pipeline.Exchange{})
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.FilterRequest(nil, bearer(oldTok), &pipeline.Exchange{})
		if httperr.DeniedReason(err) == ReasonInvalid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a withdrawn key still validates: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.FilterRequest(nil, bearer(next.Sign(claims(nil))), &pipeline.Exchange{}); err != nil {
		t.Fatalf("the new key: %v", err)
	}
}
