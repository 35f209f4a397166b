package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// lambdaStub answers Invoke; status404 switches it to ResourceNotFound.
type lambdaStub struct {
	status404 atomic.Bool
	calls     atomic.Int64
}

func (l *lambdaStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.calls.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	if l.status404.Load() {
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:hello"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"statusCode":200,"body":"hi"}`))
}

// runServer binds srv's listeners and serves until the test ends.
func runServer(t *testing.T, srv *Server) {
	t.Helper()
	ls, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx, ls) }()
	t.Cleanup(func() { cancel(); <-done })
}

type harness struct {
	t   *testing.T
	st  store.Store
	url string
}

func startServer(t *testing.T, lambdaURL string) *harness {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "lambdagate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := New(Config{HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DiscoveryInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st)
	runServer(t, srv)
	h := &harness{t: t, st: st, url: "http://" + srv.HTTPListenAddr.String()}
	h.apply(fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: secret}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up}
spec:
  aws:
    region: us-east-1
    endpointUrl: %s
    secretRef: {name: creds}
    lambdaFunctions:
    - {logicalName: hello, lambdaFunctionName: hello}
`, lambdaURL))
	return h
}

// apply creates or updates every object in y.
func (h *harness) apply(y string) {
	h.t.Helper()
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		h.t.Fatal(err)
	}
	ctx := context.Background()
	for _, o := range objs {
		_, err := h.st.Create(ctx, o)
		if store.IsAlreadyExists(err) {
			_, err = h.st.Update(ctx, o)
		}
		if err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *harness) status(kind resource.Kind, name string) core.Status {
	o, err := h.st.Get(context.Background(), kind, core.DefaultNamespace, name)
	if err != nil || o.GetStatus() == nil {
		return core.Status{}
	}
	return *o.GetStatus()
}

func (h *harness) waitStatus(kind resource.Kind, name string, ok func(core.Status) bool) core.Status {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := h.status(kind, name)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s %s: status %+v never matched", kind, name, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) get(path string) int {
	resp, err := http.Get(h.url + path)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const vsTemplate = `
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    routes:
    - matchers: [{prefix: /a}]
      routeAction: {single: {upstream: {name: %s}, destinationSpec: {aws: {logicalName: hello, unwrapAsApiGateway: true}}}}
`

func TestLambda404WarnsOnTheRouteUntilItWorks(t *testing.T) {
	stub := &lambdaStub{}
	ls := httptest.NewServer(stub)
	defer ls.Close()
	h := startServer(t, ls.URL)
	h.apply(fmt.Sprintf(vsTemplate, "up"))
	h.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.State == core.StateAccepted })

	stub.status404.Store(true)
	if got := h.get("/a"); got != http.StatusBadGateway {
		t.Fatalf("Lambda 404: status %d, want 502", got)
	}
	st := h.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.State == core.StateWarning })
	if !strings.Contains(st.Reason, "Lambda answered 404") || !strings.Contains(st.Reason, "routes[0]") {
		t.Fatalf("warning reason %q does not name the route and the 404", st.Reason)
	}
	stub.status404.Store(false)
	if got := h.get("/a"); got != http.StatusOK {
		t.Fatalf("after recovery: status %d, want 200", got)
	}
	h.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.State == core.StateAccepted })
}

func TestBadUpdateKeepsServingTheLastGoodVersion(t *testing.T) {
	stub := &lambdaStub{}
	ls := httptest.NewServer(stub)
	defer ls.Close()
	h := startServer(t, ls.URL)
	h.apply(fmt.Sprintf(vsTemplate, "up"))
	h.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.State == core.StateAccepted })
	if got := h.get("/a"); got != http.StatusOK {
		t.Fatalf("status %d, want 200", got)
	}
	// Generation 2 points the route at an upstream that does not exist.
	h.apply(fmt.Sprintf(vsTemplate, "missing"))
	st := h.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.ObservedGeneration == 2 })
	if st.State != core.StateRejected || !strings.Contains(st.Reason, "upstream gloo-system/missing not found") || !strings.Contains(st.Reason, "still serving generation 1") {
		t.Fatalf("status %+v: want Rejected naming the missing upstream and the generation still served", st)
	}
	if got := h.get("/a"); got != http.StatusOK {
		t.Fatalf("after the bad update: status %d, want 200 from generation 1", got)
	}
	// Fixing it serves generation 3.
	h.apply(fmt.Sprintf(vsTemplate, "up"))
	h.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.ObservedGeneration == 3 && s.State == core.StateAccepted })
}

func TestUnroutedRequestNeverReachesLambda(t *testing.T) {
	stub := &lambdaStub{}
	ls := httptest.NewServer(stub)
	defer ls.Close()
	h := startServer(t, ls.URL)
	h.waitStatus(resource.KindUpstream, "up", func(s core.Status) bool { return s.State == core.StateAccepted })
	if got := h.get("/nothing"); got != http.StatusNotFound {
		t.Fatalf("no virtual service: status %d, want 404", got)
	}
	if stub.calls.Load() != 0 {
		t.Fatalf("Lambda was called %d times for an unrouted request", stub.calls.Load())
	}
}
