package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/metrics"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// A canary between two aliases of one function: over 10,000 requests
// through the handler each destination gets its weight's share within
// ±2 points, and the Invoke call, the metrics and the access log all name
// the destination taken. Both spellings are tried: routeAction.multi and
// an UpstreamGroup.
func TestWeightedDestinationsSplit(t *testing.T) {
	var mu sync.Mutex
	invoked := map[string]int{} // qualifier -> Invoke calls
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("Qualifier")
		mu.Lock()
		invoked[q]++
		mu.Unlock()
		fmt.Fprintf(w, `{"statusCode":200,"body":%q}`, q)
	}))
	t.Cleanup(stub.Close)
	y := fmt.Sprintf(ordersUpstream, stub.URL) + `---
apiVersion: gloo.solo.io/v1
kind: UpstreamGroup
metadata: {name: orders, namespace: gloo-system}
spec:
  destinations:
  - weight: 75
    destination: {upstream: {name: orders}, destinationSpec: {aws: {logicalName: orders-live, unwrapAsApiGateway: true}}}
  - weight: 25
    destination: {upstream: {name: orders}, destinationSpec: {aws: {logicalName: orders-canary, unwrapAsApiGateway: true}}}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - name: multi
      matchers: [{prefix: /multi}]
      routeAction:
        multi:
          destinations:
          - weight: 90
            destination: {upstream: {name: orders}, destinationSpec: {aws: {logicalName: orders-live, unwrapAsApiGateway: true}}}
          - weight: 10
            destination: {upstream: {name: orders}, destinationSpec: {aws: {logicalName: orders-canary, unwrapAsApiGateway: true}}}
          - destination: {upstream: {name: orders}, destinationSpec: {aws: {logicalName: orders-canary}}}
    - name: group
      matchers: [{prefix: /group}]
      routeAction: {upstreamGroup: {name: orders}}
`
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	snap := translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), translate.Env{Getenv: func(string) string { return "" }})
	for ref, st := range snap.Statuses {
		if st.State != "Accepted" {
			t.Fatalf("%s: %s %s", ref, st.State, st.Reason)
		}
	}
	h := &snapshot.Holder{}
	h.Store(snap)
	iv := lambda.NewInvoker(lambda.Options{})
	t.Cleanup(iv.CloseIdle)
	g := New(h, iv, slog.New(slog.NewTextHandler(io.Discard, nil)))
	logs := &lockedLines{}
	g.AccessLog = slog.New(slog.NewTextHandler(logs, nil))
	g.Metrics = metrics.New()

	const n = 10000
	for _, tc := range []struct {
		path     string
		wantLive float64 // percent
	}{
		{"/multi", 90},
		{"/group", 75},
	} {
		mu.Lock()
		clear(invoked)
		mu.Unlock()
		answered := map[string]int{}
		logged := map[string]int{}
		for range n {
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			if rec.Code != 200 {
				t.Fatalf("%s: status %d %s", tc.path, rec.Code, rec.Body)
			}
			answered[rec.Body.String()]++
			line := logs.next()
			switch {
			case strings.Contains(line, "function=orders-live ") && strings.Contains(line, "qualifier=live "):
				logged["live"]++
			case strings.Contains(line, "function=orders-canary ") && strings.Contains(line, "qualifier=canary "):
				logged["canary"]++
			default:
				t.Fatalf("%s: access log line names no destination: %s", tc.path, line)
			}
		}
		live := 100 * float64(answered["live"]) / n
		if live < tc.wantLive-2 || live > tc.wantLive+2 {
			t.Errorf("%s: %.2f%% of the requests went to live, want %.0f%% ± 2", tc.path, live, tc.wantLive)
		}
		if answered["live"]+answered["canary"] != n {
			t.Errorf("%s: answers %v", tc.path, answered)
		}
		mu.Lock()
		if invoked["live"] != answered["live"] || invoked["canary"] != answered["canary"] {
			t.Errorf("%s: Invoke calls %v, answers %v", tc.path, invoked, answered)
		}
		mu.Unlock()
		if logged["live"] != answered["live"] || logged["canary"] != answered["canary"] {
			t.Errorf("%s: access log %v, answers %v", tc.path, logged, answered)
		}
		route := strings.TrimPrefix(tc.path, "/")
		for fn, q := range map[string]string{"orders-live": "live", "orders-canary": "canary"} {
			if got := requestsOf(t, g.Metrics, route, fn); got != answered[q] {
				t.Errorf("%s: metrics count %d requests for %s, answers %d", tc.path, got, fn, answered[q])
			}
		}
		t.Logf("%s: live %.2f%% (%d of %d)", tc.path, live, answered["live"], n)
	}
}

// requestsOf sums lambdagate_requests_total of a route and function.
func requestsOf(t *testing.T, m *metrics.Metrics, route, fn string) int {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, mf := range mfs {
		if mf.GetName() != "lambdagate_requests_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["function"] == fn {
				total += int(mt.GetCounter().GetValue())
			}
		}
	}
	return total
}

// One destination of a weighted route whose alias is missing (Lambda
// answers 404) gives the route one runtime warning, set once: the other
// destination's successes do not clear it on every other request.
func TestWeightedMissingAliasWarnsOnce(t *testing.T) {
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Qualifier") == "canary" {
			w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"Type":"User","Message":"Function not found: orders:canary"}`)
			return
		}
		io.WriteString(w, `{"statusCode":200,"body":"live"}`)
	}))
	t.Cleanup(stub.Close)
	y := fmt.Sprintf(ordersUpstream, stub.URL) + `---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - name: canary
      routeAction:
        multi:
          destinations:
          - {weight: 1, destination: {upstream: {name: orders}, destinationSpec: {aws: {logicalName: orders-live, unwrapAsApiGateway: true}}}}
          - {weight: 1, destination: {upstream: {name: orders}, destinationSpec: {aws: {logicalName: orders-canary, unwrapAsApiGateway: true}}}}
`
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	snap := translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), translate.Env{Getenv: func(string) string { return "" }})
	h := &snapshot.Holder{}
	h.Store(snap)
	iv := lambda.NewInvoker(lambda.Options{})
	t.Cleanup(iv.CloseIdle)
	g := New(h, iv, slog.New(slog.NewTextHandler(io.Discard, nil)))
	changes := 0
	g.OnWarningChange = func() { changes++ }
	codes := map[int]int{}
	for range 200 {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		codes[rec.Code]++
	}
	if codes[200] == 0 || codes[200] == 200 {
		t.Fatalf("answers %v: want both destinations taken", codes)
	}
	if changes != 1 {
		t.Errorf("the route's warning changed %d times, want once", changes)
	}
	if w := g.RouteWarning("gloo-system/vs", "canary"); !strings.Contains(w, `qualifier "canary"`) {
		t.Errorf("route warning %q, want the canary alias named", w)
	}
}

// ordersUpstream is the credentials and the upstream of the weighted
// tests: two aliases of one function behind the endpoint %s.
const ordersUpstream = `
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: gloo-system}
stringData: {aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: secret}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: orders, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    endpointUrl: %s
    secretRef: {name: creds}
    lambdaFunctions:
    - {logicalName: orders-live, lambdaFunctionName: orders, qualifier: live}
    - {logicalName: orders-canary, lambdaFunctionName: orders, qualifier: canary}
`
