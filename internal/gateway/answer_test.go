package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// The actions the gateway answers itself: HEAD gets a direct response's
// head only, a redirect has an empty body, and the access log names the
// virtual service and route although no function was called.
func TestAnswersLocally(t *testing.T) {
	const y = `
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - name: fixed
      matchers: [{exact: /fixed}]
      directResponseAction: {status: 418, body: teapot}
    - name: moved
      matchers: [{prefix: /old}]
      redirectAction: {prefixRewrite: /new, responseCode: PERMANENT_REDIRECT}
`
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	snap := translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), translate.Env{Getenv: func(string) string { return "" }})
	h := &snapshot.Holder{}
	h.Store(snap)
	logs := &lockedLines{}
	g := New(h, lambda.NewInvoker(lambda.Options{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.AccessLog = slog.New(slog.NewTextHandler(logs, nil))
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, tc := range []struct {
		method, path string
		status       int
		body, header string
		log          string
	}{
		{"GET", "/fixed", 418, "teapot", "Content-Type: text/plain", "route=fixed"},
		{"HEAD", "/fixed", 418, "", "Content-Length: 6", "route=fixed"},
		{"POST", "/old/x?q=1", 308, "", "Location: " + srv.URL + "/new/x?q=1", "route=moved"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("ignored"))
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name, value, _ := strings.Cut(tc.header, ": ")
		if resp.StatusCode != tc.status || string(b) != tc.body || resp.Header.Get(name) != value {
			t.Errorf("%s %s: %d %q %s=%q, want %d %q %s", tc.method, tc.path, resp.StatusCode, b, name, resp.Header.Get(name), tc.status, tc.body, tc.header)
		}
		line := logs.next()
		if !strings.Contains(line, "virtual_service=gloo-system/vs") || !strings.Contains(line, tc.log) {
			t.Errorf("%s %s: access log %q does not name the route (%s)", tc.method, tc.path, line, tc.log)
		}
	}
}

// lockedLines is an access log sink the server's goroutines write and the
// test reads.
type lockedLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLines) next() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _ := l.buf.ReadString('\n')
	return s
}
