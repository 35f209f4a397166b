// Package jwks holds the keys that verify JSON Web Tokens: a JSON Web Key
// Set given inline (Gloo's jwks.local) or fetched from a URL and cached
// (jwks.remote), selected by key id. It only reads keys; the signature
// checks are go-jose's.
package jwks

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// KeySet is the verification keys of a provider, by key id. Immutable.
type KeySet struct {
	byKID map[string][]jose.JSONWebKey
	all   []jose.JSONWebKey
}

// Candidates returns the keys a token with key id kid may be signed
// with: those with that id, or every key for a token without one.
func (s *KeySet) Candidates(kid string) []jose.JSONWebKey {
	if kid == "" {
		return s.all
	}
	return s.byKID[kid]
}

// Has reports whether the set holds a key with id kid.
func (s *KeySet) Has(kid string) bool {
	_, ok := s.byKID[kid]
	return ok
}

// Len is the number of keys.
func (s *KeySet) Len() int { return len(s.all) }

func newKeySet(keys []jose.JSONWebKey) *KeySet {
	s := &KeySet{byKID: map[string][]jose.JSONWebKey{}, all: keys}
	for _, k := range keys {
		s.byKID[k.KeyID] = append(s.byKID[k.KeyID], k)
	}
	return s
}

// Parse reads a local key (Gloo's jwks.local.key): a JSON Web Key Set,
// one JSON Web Key, or PEM public keys, PKIX or PKCS #1, or certificates.
// Only public asymmetric signing keys are accepted: lambdagate verifies
// no HMAC tokens, and a private key does not belong in a manifest.
func Parse(text string) (*KeySet, error) {
	t := strings.TrimSpace(text)
	if t == "" {
		return nil, errors.New("empty key")
	}
	if t[0] == '{' {
		return parseJWKS([]byte(t))
	}
	var keys []jose.JSONWebKey
	rest := []byte(t)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var pub any
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				pub = c.PublicKey
			}
		default:
			return nil, fmt.Errorf("PEM block %q: must be a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", b.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %v", b.Type, err)
		}
		k := jose.JSONWebKey{Key: pub, Use: "sig"}
		if err := checkKey(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("not a JSON Web Key (Set) nor PEM public keys or certificates")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("text after the last PEM block")
	}
	return newKeySet(keys), nil
}

// parseJWKS reads a JSON Web Key Set or a single JSON Web Key.
func parseJWKS(b []byte) (*KeySet, error) {
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	var raw []json.RawMessage
	if probe.Keys != nil {
		if err := json.Unmarshal(probe.Keys, &raw); err != nil {
			return nil, fmt.Errorf("keys: must be a list of JSON Web Keys: %v", err)
		}
	} else {
		raw = []json.RawMessage{b}
	}
	keys := make([]jose.JSONWebKey, 0, len(raw))
	for i, r := range raw {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			return nil, fmt.Errorf("key %d: %v", i, err)
		}
		if err := checkKey(&k); err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %v", i, k.KeyID, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("the key set holds no key")
	}
	return newKeySet(keys), nil
}

// checkKey accepts public signing keys: RSA (2048 bits or more), ECDSA
// and Ed25519.
func checkKey(k *jose.JSONWebKey) error {
	if k.Use != "" && k.Use != "sig" {
		return fmt.Errorf("use %q: only signing keys (use \"sig\") verify tokens", k.Use)
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits: at least 2048 bits are required", pub.N.BitLen())
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return errors.New("a private key: give the public key only")
	case []byte:
		return errors.New("an HMAC (oct) key: only RSA, EC and OKP (Ed25519) public keys verify tokens")
	default:
		return fmt.Errorf("key type %T: only RSA, EC and OKP (Ed25519) public keys verify tokens; HMAC (oct) keys are not supported", k.Key)
	}
	return nil
}

// Source gives a provider's keys: fixed (local) or fetched (remote).
type Source interface {
	// Keys returns the key set to verify a token with key id kid. A
	// remote source may fetch, bounded by FetchTimeout.
	Keys(ctx context.Context, kid string) (*KeySet, error)
}

// Keys returns the set itself: a local key set never changes.
func (s *KeySet) Keys(context.Context, string) (*KeySet, error) { return s, nil }

// ErrNoKeys: a remote key set was never fetched successfully.
var ErrNoKeys = errors.New("the JSON Web Key Set could not be fetched")

// FetchTimeout bounds one JWKS fetch, as API Gateway bounds its own
// (1500 ms).
const FetchTimeout = 1500 * time.Millisecond

// maxJWKS bounds the size of a fetched key set.
const maxJWKS = 1 << 20

// Defaults of Gloo's remote JWKS.
const (
	// DefaultCacheDuration is how long fetched keys are used before they
	// are fetched again (Gloo's default).
	DefaultCacheDuration = 5 * time.Minute
	// DefaultFailedRefetch is how long after a failed fetch the next one
	// may start (Envoy's failed_refetch_duration default).
	DefaultFailedRefetch = time.Second
)

// unknownKIDRefetch bounds how often a token with an unknown key id makes
// the key set be fetched again, so that made-up key ids cannot turn into
// a flood of fetches to the issuer. A variable for tests.
var unknownKIDRefetch = 5 * time.Second

// Remote is a remote JSON Web Key Set, fetched when a request first needs
// it (the requests wait for that fetch, at most FetchTimeout) and again in
// the background once cacheDuration has passed. A
// fetch that fails keeps the keys of the last one that worked. A token
// whose key id the keys lack (the issuer rotated its keys) makes the set
// be fetched at once, at most every few seconds. Remotes are shared by
// every snapshot (see Shared), so that a configuration change does not
// refetch the keys.
type Remote struct {
	url   string
	shown string // url for logs and statuses: no user info, query or fragment

	cacheDuration time.Duration
	failedRefetch time.Duration
	client        *http.Client

	cur atomic.Pointer[fetched]

	mu          sync.Mutex
	inflight    chan struct{} // closed when the running fetch ends
	lastAttempt time.Time
	lastFailed  bool
	// lastErr is the last fetch's error (nil after a success), for
	// status and logs; never carries the keys.
	lastErr error
}

type fetched struct {
	set *KeySet
	at  time.Time
}

var (
	remotesMu sync.Mutex
	remotes   = map[string]*Remote{}
)

// Shared returns the Remote for a URL and its durations (zero: the
// defaults), shared by every provider and snapshot using them. Nothing is
// fetched before a request needs the keys: translating a configuration
// (or checking one) makes no network call.
func Shared(url string, cacheDuration, failedRefetch time.Duration) *Remote {
	if cacheDuration <= 0 {
		cacheDuration = DefaultCacheDuration
	}
	if failedRefetch <= 0 {
		failedRefetch = DefaultFailedRefetch
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", url, cacheDuration, failedRefetch)
	remotesMu.Lock()
	defer remotesMu.Unlock()
	if r, ok := remotes[key]; ok {
		return r
	}
	r := &Remote{url: url, shown: shownURL(url), cacheDuration: cacheDuration, failedRefetch: failedRefetch,
		client: &http.Client{Timeout: FetchTimeout}}
	remotes[key] = r
	return r
}

// shownURL is a key set URL as logs and statuses show it: without user
// info, query or fragment, where credentials can travel.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// startLocked starts a fetch unless one runs; r.mu is held.
func (r *Remote) startLocked() chan struct{} {
	if r.inflight != nil {
		return r.inflight
	}
	done := make(chan struct{})
	r.inflight = done
	r.lastAttempt = time.Now()
	go func() {
		set, err := r.fetch()
		if err == nil {
			r.cur.Store(&fetched{set: set, at: time.Now()})
		}
		// One fetch runs at a time: lastFailed is this one's
		// predecessor's. Logged before the fetch is seen to end.
		r.mu.Lock()
		wasFailing := r.lastFailed
		r.mu.Unlock()
		r.logResult(err, wasFailing, set)
		r.mu.Lock()
		prev := r.lastErr
		r.inflight, r.lastErr, r.lastFailed = nil, err, err != nil
		r.mu.Unlock()
		close(done)
		if (prev == nil) != (err == nil) || (err != nil && prev.Error() != err.Error()) {
			notify()
		}
	}()
	return done
}

// refresh starts a fetch when none runs and the last attempt is older
// than minAge (the failed refetch delay after a failure); it returns the
// running fetch's channel, nil when none runs.
func (r *Remote) refresh(minAge time.Duration) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight != nil {
		return r.inflight
	}
	if r.lastFailed && minAge < r.failedRefetch {
		minAge = r.failedRefetch
	}
	if time.Since(r.lastAttempt) < minAge {
		return nil
	}
	return r.startLocked()
}

func (r *Remote) Keys(ctx context.Context, kid string) (*KeySet, error) {
	f := r.cur.Load()
	if f == nil {
		// Never fetched yet (or every fetch failed): wait for one.
		if !wait(ctx, r.refresh(0)) {
			return nil, ErrNoKeys
		}
		if f = r.cur.Load(); f == nil {
			return nil, ErrNoKeys
		}
	}
	if time.Since(f.at) > r.cacheDuration {
		// Stale: served while a fetch runs in the background.
		r.refresh(0)
	}
	if kid != "" && !f.set.Has(kid) {
		// A new key the issuer rotated in: fetch now and wait for it.
		if wait(ctx, r.refresh(unknownKIDRefetch)) {
			if nf := r.cur.Load(); nf != nil {
				f = nf
			}
		}
	}
	return f.set, nil
}

// wait waits for a fetch to end, bounded by the request's context; false
// when there was no fetch to wait for or the request ended first.
func wait(ctx context.Context, done chan struct{}) bool {
	if done == nil {
		return false
	}
	t := time.NewTimer(FetchTimeout + 100*time.Millisecond)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}

// SetLogger sets where key set fetches that fail (and recover) are logged;
// default: nowhere.
func SetLogger(l *slog.Logger) { logger.Store(l) }

var logger atomic.Pointer[slog.Logger]

// logResult logs a fetch's failure once (Warn, then Debug while it keeps
// failing) and the recovery; never a key.
func (r *Remote) logResult(err error, wasFailing bool, set *KeySet) {
	l := logger.Load()
	if l == nil {
		return
	}
	switch {
	case err != nil && !wasFailing:
		kept := 0
		if f := r.cur.Load(); f != nil {
			kept = f.set.Len()
		}
		l.Warn("JWKS fetch failed; the last keys stay in use", "url", r.shown, "error", err.Error(), "keys_kept", kept)
	case err != nil:
		l.Debug("JWKS fetch failed again", "url", r.shown, "error", err.Error())
	case wasFailing:
		l.Info("JWKS fetched again", "url", r.shown, "keys", set.Len())
	}
}

// Subscribe calls f whenever a remote key set's Problem changes (a fetch
// fails after working, fails differently, or works again), so that
// statuses can show it; the returned function unsubscribes.
func Subscribe(f func()) (unsubscribe func()) {
	subsMu.Lock()
	defer subsMu.Unlock()
	id := subsNext
	subsNext++
	subs[id] = f
	return func() {
		subsMu.Lock()
		defer subsMu.Unlock()
		delete(subs, id)
	}
}

var (
	subsMu   sync.Mutex
	subsNext int
	subs     = map[int]func(){}
)

func notify() {
	subsMu.Lock()
	fs := make([]func(), 0, len(subs))
	for _, f := range subs {
		fs = append(fs, f)
	}
	subsMu.Unlock()
	for _, f := range fs {
		f()
	}
}

// Problem says why the key set cannot be fetched now, and what tokens get
// meanwhile; "" while the last fetch worked (or none has run: nothing is
// fetched before a request needs the keys). It never carries a key.
func (r *Remote) Problem() string {
	err := r.LastError()
	if err == nil {
		return ""
	}
	if f := r.cur.Load(); f != nil {
		return fmt.Sprintf("fetching the JWKS at %s failed: %v; the %d keys fetched at %s stay in use", r.shown, err, f.set.Len(), f.at.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("fetching the JWKS at %s failed: %v; no keys yet, so every token is refused with 401 (jwks_unavailable)", r.shown, err)
}

// LastError is the last fetch's error (nil after a success).
func (r *Remote) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func (r *Remote) fetch() (*KeySet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		// The error without the URL: its query may hold a credential,
		// and the caller names the URL as shown.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxJWKS {
		return nil, errors.New("larger than 1 MiB")
	}
	set, err := parseRemoteJWKS(b)
	if err != nil {
		return nil, err
	}
	return set, nil
}

// parseRemoteJWKS reads a fetched key set, skipping the keys lambdagate
// cannot verify with (encryption keys, HMAC keys, small RSA keys) rather
// than refusing the whole set: issuers publish such keys beside the
// signing ones.
func parseRemoteJWKS(b []byte) (*KeySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) != nil || !k.IsPublic() || checkKey(&k) != nil {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable signing key (RSA, EC or Ed25519 public key)")
	}
	return newKeySet(keys), nil
}

// Describe names a key source without its keys: "local(N keys)" or
// "remote(url, cache D)".
func Describe(s Source) string {
	switch k := s.(type) {
	case *KeySet:
		return fmt.Sprintf("local(%d keys)", k.Len())
	case *Remote:
		return fmt.Sprintf("remote(%s, cache %s, failed refetch %s)", k.url, k.cacheDuration, k.failedRefetch)
	}
	return fmt.Sprintf("%T", s)
}
