package discovery_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/locallambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

const ns = core.DefaultNamespace

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens the real SQLite store in a temporary directory.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "store.db"), sqlite.WithLogger(quiet()), sqlite.WithPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// writeFunction creates dir/name/index.js and, when manifest is not empty,
// dir/name/function.yaml.
func writeFunction(t *testing.T, dir, name, manifest string) {
	t.Helper()
	fdir := filepath.Join(dir, name)
	if err := os.MkdirAll(fdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fdir, "index.js"), []byte("exports.handler = async (event) => event;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if manifest != "" {
		if err := os.WriteFile(filepath.Join(fdir, "function.yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startLambda serves the real local Lambda over loopback for the functions
// of dir and returns it with its base URL.
func startLambda(t *testing.T, dir string) (*locallambda.Server, *url.URL) {
	t.Helper()
	ll, err := locallambda.New(locallambda.Options{Dir: dir, Logger: quiet(), PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = ll.Serve(ln) }()
	t.Cleanup(func() { ll.Close(); <-done })
	u, _ := url.Parse("http://" + ln.Addr().String())
	return ll, u
}

// lambdaWith starts a local Lambda with the named functions (no manifest).
func lambdaWith(t *testing.T, names ...string) (*locallambda.Server, *url.URL) {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		writeFunction(t, dir, n, "")
	}
	return startLambda(t, dir)
}

// Front-end modes.
const (
	modeOK   = iota // forward to the backend
	mode500         // answer 500
	modeHang        // never answer until the request or the test ends
)

// front is a loopback HTTP server in front of a local Lambda that counts
// requests and can fail or hang on demand, so that tests see how often
// discovery calls the endpoint.
type front struct {
	srv      *httptest.Server
	requests atomic.Int64
	mode     atomic.Int32
	mu       sync.Mutex
	backend  http.Handler
	stop     chan struct{}
}

func newFront(t *testing.T, backend http.Handler) *front {
	t.Helper()
	f := &front{backend: backend, stop: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		switch f.mode.Load() {
		case mode500:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "ServiceException")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"Type":"Service","message":"injected failure"}`)
			return
		case modeHang:
			select {
			case <-r.Context().Done():
			case <-f.stop:
			}
			return
		}
		f.mu.Lock()
		h := f.backend
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	// Cleanups run last-in first-out: release hanging handlers first, since
	// Close waits for them.
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) })
	return f
}

func (f *front) setBackend(h http.Handler) {
	f.mu.Lock()
	f.backend = h
	f.mu.Unlock()
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// createSecret stores gloo-system/aws-creds with placeholder keys.
func createSecret(t *testing.T, st *sqlite.Store) {
	t.Helper()
	s := &resource.Secret{}
	s.Metadata = core.ObjectMeta{Name: "aws-creds", Namespace: ns}
	s.Data = map[string][]byte{core.AWSAccessKeyID: []byte("AKIDEXAMPLE"), core.AWSSecretAccessKey: []byte("placeholder-secret")}
	if _, err := st.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

type upOpt func(*resource.Upstream)

func withEndpoint(u string) upOpt {
	return func(up *resource.Upstream) { up.Spec.AWS.EndpointURL = u }
}

func withLabel(k, v string) upOpt {
	return func(up *resource.Upstream) {
		if up.Metadata.Labels == nil {
			up.Metadata.Labels = map[string]string{}
		}
		up.Metadata.Labels[k] = v
	}
}

func withFunctions(fs ...gloo.LambdaFunctionSpec) upOpt {
	return func(up *resource.Upstream) { up.Spec.AWS.LambdaFunctions = fs }
}

func withoutSecret() upOpt {
	return func(up *resource.Upstream) { up.Spec.AWS.SecretRef = nil }
}

// createUpstream stores an aws upstream in us-east-1 using aws-creds.
func createUpstream(t *testing.T, st *sqlite.Store, name string, opts ...upOpt) *resource.Upstream {
	t.Helper()
	u := &resource.Upstream{}
	u.Metadata = core.ObjectMeta{Name: name, Namespace: ns}
	u.Spec.AWS = &gloo.AWSUpstreamSpec{Region: "us-east-1", SecretRef: &core.ResourceRef{Name: "aws-creds", Namespace: ns}}
	for _, o := range opts {
		o(u)
	}
	got, err := st.Create(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return got.(*resource.Upstream)
}

func getUpstream(t *testing.T, st *sqlite.Store, name string) *resource.Upstream {
	t.Helper()
	o, err := st.Get(context.Background(), resource.KindUpstream, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return o.(*resource.Upstream)
}

// createSettings stores gloo-system/default with the given fdsMode.
func createSettings(t *testing.T, st *sqlite.Store, fdsMode string) {
	t.Helper()
	s := &resource.Settings{}
	s.Metadata = core.ObjectMeta{Name: "default", Namespace: ns}
	s.Spec.Discovery = &gloo.DiscoveryOptions{FdsMode: fdsMode}
	if _, err := st.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func fn(logical, name, qualifier string) gloo.LambdaFunctionSpec {
	return gloo.LambdaFunctionSpec{LogicalName: logical, LambdaFunctionName: name, Qualifier: qualifier}
}

// eventually polls cond every 20ms for up to 15s (a generous bound).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
