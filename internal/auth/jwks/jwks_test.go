package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/auth/jwt/jwttest"
)

func pemBlock(typ string, b []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}))
}

func TestParse(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkix1, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	pkixSmall, _ := x509.MarshalPKIXPublicKey(&small.PublicKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	cert, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ek.PublicKey, ek)
	priv, _ := x509.MarshalPKCS8PrivateKey(rk)
	k1, k2 := jwttest.NewRSA("a"), jwttest.NewEC("b")
	single := string(jwttest.JWKS(k1))
	single = single[len(`{"keys":[`) : len(single)-2]
	for _, tc := range []struct {
		name, key string
		keys      int
		err       string
	}{
		{"JWKS", string(jwttest.JWKS(k1, k2)), 2, ""},
		{"one JWK", single, 1, ""},
		{"PEM public key", pemBlock("PUBLIC KEY", pkix1), 1, ""},
		{"PKCS1 public key", pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rk.PublicKey)), 1, ""},
		{"certificate", pemBlock("CERTIFICATE", cert), 1, ""},
		{"two PEM blocks", pemBlock("PUBLIC KEY", pkix1) + pemBlock("CERTIFICATE", cert), 2, ""},
		{"private key", pemBlock("PRIVATE KEY", priv), 0, "must be a PUBLIC KEY"},
		{"HMAC JWK", `{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`, 0, "an HMAC (oct) key"},
		{"small RSA", pemBlock("PUBLIC KEY", pkixSmall), 0, "at least 2048 bits"},
		{"encryption key", `{"keys":[{"kty":"EC","use":"enc","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`, 0, "only signing keys"},
		{"empty set", `{"keys":[]}`, 0, "holds no key"},
		{"not JSON", `{"keys":`, 0, "not valid JSON"},
		{"nothing", "hello", 0, "not a JSON Web Key"},
		{"empty", " ", 0, "empty key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Parse(tc.key)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if set.Len() != tc.keys {
				t.Fatalf("%d keys, want %d", set.Len(), tc.keys)
			}
		})
	}
}

// TestRemoteRotation: a token signed with a key the cached set lacks (the
// issuer rotated) makes the set be fetched at once; once the issuer is
// unreachable the last keys stay in use, and a stale set is refreshed in
// the background without holding requests.
func TestRemoteRotation(t *testing.T) {
	defer func(d time.Duration) { unknownKIDRefetch = d }(unknownKIDRefetch)
	unknownKIDRefetch = 0
	var logs strings.Builder
	SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	defer SetLogger(nil)
	old, next := jwttest.NewRSA("old"), jwttest.NewRSA("next")
	srv := jwttest.NewServer(old)
	defer srv.Close()
	r := Shared(srv.URL+"/rotation", 200*time.Millisecond, 10*time.Millisecond)
	if srv.Fetches() != 0 {
		t.Fatal("a key set was fetched before a request needed it")
	}
	ctx := context.Background()
	set, err := r.Keys(ctx, "old")
	if err != nil || !set.Has("old") {
		t.Fatalf("first fetch: %v, %v", set, err)
	}
	if set2, _ := r.Keys(ctx, "old"); set2 != set || srv.Fetches() != 1 {
		t.Fatalf("a fresh set was fetched again (%d fetches)", srv.Fetches())
	}

	srv.SetKeys(old, next)
	set, err = r.Keys(ctx, "next")
	if err != nil || !set.Has("next") || !set.Has("old") {
		t.Fatalf("after rotation: %v has next=%v", err, set != nil && set.Has("next"))
	}

	srv.SetDown(true)
	time.Sleep(250 * time.Millisecond) // the cache duration passes
	n := srv.Fetches()
	set, err = r.Keys(ctx, "next") // stale: served, refreshed in the background
	if err != nil || !set.Has("next") {
		t.Fatalf("stale keys while the issuer is down: %v", err)
	}
	waitFor(t, func() bool { return srv.Fetches() > n && r.LastError() != nil })
	set, err = r.Keys(ctx, "next")
	if err != nil || !set.Has("next") {
		t.Fatalf("an unreachable JWKS must keep the last keys: %v", err)
	}
	if !strings.Contains(r.LastError().Error(), "status 503") {
		t.Errorf("last error %v", r.LastError())
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN msg=\"JWKS fetch failed; the last keys stay in use\"") || !strings.Contains(l, "keys_kept=2") {
		t.Errorf("the failure is not logged once at WARN:\n%s", l)
	}
}

// TestRemoteUnreachable: a key set that was never fetched refuses (the
// caller answers 401), and the wait is bounded by FetchTimeout even when
// the issuer hangs.
func TestRemoteUnreachable(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	// Credentials in the URL never reach a status or a log.
	r := Shared(strings.Replace(srv.URL, "http://", "http://user:pa55word@", 1)+"/hang?access_token=s3cret", time.Minute, time.Minute)
	start := time.Now()
	if _, err := r.Keys(context.Background(), "k"); err != ErrNoKeys {
		t.Fatalf("error %v, want ErrNoKeys", err)
	}
	if d := time.Since(start); d > FetchTimeout+time.Second {
		t.Fatalf("waited %s for a hanging JWKS; the bound is %s", d, FetchTimeout)
	}
	// After a failure the next fetch waits failedRefetch: the next
	// request is refused at once instead of waiting again.
	start = time.Now()
	if _, err := r.Keys(context.Background(), "k"); err != ErrNoKeys || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("second request: %v after %s", err, time.Since(start))
	}
	if p := r.Problem(); !strings.Contains(p, srv.URL+"/hang failed") || !strings.Contains(p, "no keys yet") || strings.Contains(p, "s3cret") || strings.Contains(p, "pa55word") {
		t.Fatalf("Problem() = %q: want the URL without its credentials, and that every token is refused", p)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FuzzParse: a key set from a manifest or from the network never panics
// the parser, and whatever it accepts holds only usable public keys.
func FuzzParse(f *testing.F) {
	f.Add(string(jwttest.JWKS(jwttest.NewRSA("a"), jwttest.NewEC("b"))))
	f.Add(`{"kty":"oct","k":"c2VjcmV0"}`)
	f.Add("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n")
	f.Add(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (*KeySet, error){Parse, func(s string) (*KeySet, error) { return parseRemoteJWKS([]byte(s)) }} {
			set, err := parse(s)
			if err != nil {
				continue
			}
			if set.Len() == 0 {
				t.Fatal("an empty key set was accepted")
			}
			for _, k := range set.all {
				if err := checkKey(&k); err != nil || !k.IsPublic() {
					t.Fatalf("accepted an unusable key: %v", err)
				}
			}
		}
	})
}
