package jwt

import (
	"sync"
	"time"

	"github.com/lambdagate/lambdagate/internal/auth/jwks"
)

// maxCached bounds the verified tokens a provider remembers.
const maxCached = 1024

// tokenCache remembers the tokens a provider verified, by their exact
// text, so that a client sending the same token again (a browser, a
// service calling in a loop) costs a map lookup instead of a signature
// check, as Envoy's jwt_cache_config does. A hit is only used while the
// key set it was verified with is still the provider's (a refetch or a
// new configuration starts afresh), and its time claims are checked again
// on every use.
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]*verified
}

// verified is a token that passed every check: its claims (shared, never
// modified), scopes and validity window.
type verified struct {
	claims map[string]any
	scopes []string
	keys   *jwks.KeySet
	// exp, nbf and iat as checked; zero nbf/iat: absent.
	exp, nbf, iat time.Time
}

func (c *tokenCache) get(tok string) *verified {
	c.mu.RLock()
	v := c.m[tok]
	c.mu.RUnlock()
	return v
}

func (c *tokenCache) put(tok string, v *verified) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*verified)
	}
	if len(c.m) >= maxCached {
		// Drop about a quarter, at random (map order): cheap, and a
		// flood of distinct tokens cannot grow the cache.
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= maxCached/4 {
				break
			}
		}
	}
	c.m[tok] = v
}

// timely checks a verified token's time claims again at now.
func (v *verified) timely(now time.Time, skew time.Duration) *failure {
	switch {
	case !now.Before(v.exp.Add(skew)):
		return failExpired
	case !v.nbf.IsZero() && now.Add(skew).Before(v.nbf):
		return failNotYet
	case !v.iat.IsZero() && now.Add(skew).Before(v.iat):
		return failIssued
	}
	return nil
}
