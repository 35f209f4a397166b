package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/gateway"
	"github.com/lambdagate/lambdagate/internal/metrics"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// multiStub is a Lambda endpoint whose behaviour depends on the function:
// "ok" answers, "fail" raises an unhandled error, "throttle" answers 429 to
// every other call. It records the trace headers it received.
type multiStub struct {
	calls       atomic.Int64
	throttled   atomic.Int64
	mu          sync.Mutex
	traceparent []string
	amzn        []string
}

func (l *multiStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := l.calls.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	l.mu.Lock()
	l.traceparent = append(l.traceparent, r.Header.Get("Traceparent"))
	l.amzn = append(l.amzn, r.Header.Get("X-Amzn-Trace-Id"))
	l.mu.Unlock()
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("lambda-req-%d", n))
	switch {
	case strings.Contains(r.URL.Path, "/functions/fail/"):
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		_, _ = w.Write([]byte(`{"errorType":"Error","errorMessage":"boom"}`))
	case strings.Contains(r.URL.Path, "/functions/throttle/") && l.throttled.Add(1)%2 == 1:
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`))
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"statusCode":200,"body":"hi"}`))
	}
}

// syncBuffer is an io.Writer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type observed struct {
	*harness
	srv      *Server
	admin    string
	accessLg *syncBuffer
	dbPath   string
}

// startObserved runs a real server (SQLite store, loopback Lambda stub)
// with an access log, and the walkthrough-shaped configuration with three
// routes.
func startObserved(t *testing.T, opts ...func(*Config)) (*observed, *multiStub) {
	t.Helper()
	stub := &multiStub{}
	ls := httptest.NewServer(stub)
	t.Cleanup(ls.Close)
	dbPath := filepath.Join(t.TempDir(), "lambdagate.db")
	st, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	buf := &syncBuffer{}
	cfg := Config{HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DiscoveryInterval: -1,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		AccessLog: slog.New(slog.NewJSONHandler(buf, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	srv := New(cfg, st)
	runServer(t, srv)
	h := &harness{t: t, st: st, url: "http://" + srv.HTTPListenAddr.String()}
	h.apply(fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: topsecretvalue}
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
    - {logicalName: echo, lambdaFunctionName: ok}
    - {logicalName: broken, lambdaFunctionName: fail}
    - {logicalName: busy, lambdaFunctionName: throttle, qualifier: live}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    routes:
    - name: ok
      matchers: [{exact: /ok}]
      routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: echo, unwrapAsApiGateway: true}}}}
    - name: fail
      matchers: [{exact: /fail}]
      routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: broken, unwrapAsApiGateway: true}}}}
    - name: busy
      matchers: [{exact: /busy}]
      routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: busy, unwrapAsApiGateway: true}}}}
`, ls.URL))
	h.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.State == core.StateAccepted })
	return &observed{harness: h, srv: srv, admin: "http://" + srv.AdminListenAddr.String(), accessLg: buf, dbPath: dbPath}, stub
}

func (o *observed) do(method, path string, hdr map[string]string) int {
	o.t.Helper()
	req, _ := http.NewRequest(method, o.url+path, strings.NewReader("hello"))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// sendKnownTraffic sends 3 successes, 2 function errors, 2 throttled-then-
// successful requests and 1 unrouted request.
func (o *observed) sendKnownTraffic() {
	o.t.Helper()
	want := []struct {
		path   string
		status int
	}{
		{"/ok", 200}, {"/ok", 200}, {"/ok?token=s3cr3t", 200},
		{"/fail", 502}, {"/fail", 502},
		{"/busy", 200}, {"/busy", 200},
		{"/nowhere", 404},
	}
	for _, w := range want {
		if got := o.do("POST", w.path, map[string]string{"Authorization": "Bearer supersecret"}); got != w.status {
			o.t.Fatalf("POST %s: status %d, want %d", w.path, got, w.status)
		}
	}
}

func TestMetricsAfterKnownTraffic(t *testing.T) {
	o, _ := startObserved(t)
	o.sendKnownTraffic()
	reg := o.srv.cfg.Metrics.Registry()

	const vs = `virtual_service="gloo-system/vs"`
	want := `
# HELP lambdagate_requests_total HTTP requests handled, by virtual service, route, function (logical name), status class and error code (empty on success). Unrouted requests have empty route labels.
# TYPE lambdagate_requests_total counter
lambdagate_requests_total{code="",function="busy",route="busy",status_class="2xx",` + vs + `} 2
lambdagate_requests_total{code="",function="echo",route="ok",status_class="2xx",` + vs + `} 3
lambdagate_requests_total{code="FunctionError",function="broken",route="fail",status_class="5xx",` + vs + `} 2
lambdagate_requests_total{code="NoRoute",function="",route="",status_class="4xx",virtual_service=""} 1
# HELP lambdagate_lambda_errors_total Failed invocations by kind: FunctionError, FunctionTimeout, Throttled, Timeout, FunctionNotFound, AccessDenied, LambdaUnreachable, ...
# TYPE lambdagate_lambda_errors_total counter
lambdagate_lambda_errors_total{function="broken",kind="FunctionError",route="fail",` + vs + `} 2
# HELP lambdagate_lambda_retries_total Invoke calls repeated after a retryable failure (throttling; what the route's retries policy allows), beyond the first call of each request.
# TYPE lambdagate_lambda_retries_total counter
lambdagate_lambda_retries_total{function="busy",route="busy",` + vs + `} 2
# HELP lambdagate_requests_in_flight Requests being handled now.
# TYPE lambdagate_requests_in_flight gauge
lambdagate_requests_in_flight 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"lambdagate_requests_total", "lambdagate_lambda_errors_total", "lambdagate_lambda_retries_total", "lambdagate_requests_in_flight"); err != nil {
		t.Fatal(err)
	}

	// Histograms: one observation per request; Lambda time only for the
	// requests that reached Lambda.
	counts := histogramCounts(t, o.srv.cfg.Metrics)
	for _, tc := range []struct {
		name, series string
		want         uint64
	}{
		{"total ok", "lambdagate_request_duration_seconds/gloo-system/vs/ok/echo", 3},
		{"total unrouted", "lambdagate_request_duration_seconds///", 1},
		{"lambda fail", "lambdagate_lambda_duration_seconds/gloo-system/vs/fail/broken", 2},
		{"lambda busy", "lambdagate_lambda_duration_seconds/gloo-system/vs/busy/busy", 2},
		{"lambda unrouted", "lambdagate_lambda_duration_seconds///", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := counts[tc.series]; got != tc.want {
				t.Errorf("%s: %d observations, want %d", tc.series, got, tc.want)
			}
		})
	}

	// Snapshot and resource gauges.
	snap := o.srv.Snapshot()
	if got := gaugeValue(t, o.srv.cfg.Metrics, "lambdagate_snapshot_version", nil); got != float64(snap.Version) {
		t.Errorf("snapshot_version %v, want %d", got, snap.Version)
	}
	if got := gaugeValue(t, o.srv.cfg.Metrics, "lambdagate_resources", map[string]string{"kind": "VirtualService", "state": "Accepted"}); got != 1 {
		t.Errorf("resources{VirtualService,Accepted} %v, want 1", got)
	}

	// The admin listener serves the same registry.
	body := get(t, o.admin+"/metrics")
	for _, s := range []string{
		`lambdagate_requests_total{code="",function="echo",route="ok",status_class="2xx",virtual_service="gloo-system/vs"} 3`,
		"lambdagate_snapshot_age_seconds ", "lambdagate_discovery_runs_total", "lambdagate_credential_refreshes_total", "go_goroutines",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("/metrics lacks %q", s)
		}
	}
	if strings.Contains(body, "nowhere") || strings.Contains(body, "token") {
		t.Error("/metrics has a raw request path in a label")
	}
}

// histogramCounts returns the sample count of every histogram series, keyed
// "name/vs/route/function".
func histogramCounts(t *testing.T, m *metrics.Metrics) map[string]uint64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, f := range fams {
		if f.GetType().String() != "HISTOGRAM" {
			continue
		}
		for _, mt := range f.GetMetric() {
			l := map[string]string{}
			for _, lp := range mt.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out[f.GetName()+"/"+l["virtual_service"]+"/"+l["route"]+"/"+l["function"]] = mt.GetHistogram().GetSampleCount()
		}
	}
	return out
}

// gaugeValue returns the value of the gauge series with exactly labels.
func gaugeValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, mt := range f.GetMetric() {
			if len(mt.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range mt.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			return mt.GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s%v", name, labels)
	return 0
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// accessLines parses the JSON access log, waiting (bounded) for n lines:
// Observe runs after the response is written, so the last line may lag.
func accessLines(t *testing.T, buf *syncBuffer, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out []map[string]any
		sc := bufio.NewScanner(strings.NewReader(buf.String()))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("access log line %q is not JSON: %v", sc.Text(), err)
			}
			out = append(out, m)
		}
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAccessLog(t *testing.T) {
	o, stub := startObserved(t)
	o.sendKnownTraffic()
	lines := accessLines(t, o.accessLg, 8)
	if len(lines) != 8 {
		t.Fatalf("%d access log lines, want 8 (one per request):\n%s", len(lines), o.accessLg.String())
	}
	raw := o.accessLg.String()
	for _, secret := range []string{"supersecret", "Bearer", "s3cr3t", "topsecretvalue", "Authorization"} {
		if strings.Contains(raw, secret) {
			t.Errorf("access log contains %q:\n%s", secret, raw)
		}
	}
	// Every line has the same core fields.
	for i, l := range lines {
		for _, k := range []string{"time", "msg", "request_id", "method", "path", "status", "duration_ms", "bytes_in", "bytes_out"} {
			if _, ok := l[k]; !ok {
				t.Errorf("line %d lacks %q: %v", i, k, l)
			}
		}
	}
	tests := []struct {
		name string
		line map[string]any
		want map[string]any
	}{
		{"success", lines[0], map[string]any{"method": "POST", "path": "/ok", "virtual_service": "gloo-system/vs", "route": "ok",
			"function": "echo", "function_name": "ok", "qualifier": "", "status": 200.0, "bytes_in": 5.0, "bytes_out": 2.0,
			"lambda_request_id": "lambda-req-1", "attempts": 1.0, "upstream": "gloo-system/up"}},
		{"query not logged", lines[2], map[string]any{"path": "/ok", "status": 200.0}},
		{"function error", lines[3], map[string]any{"route": "fail", "function": "broken", "status": 502.0, "code": "FunctionError",
			"error_kind": "FunctionError"}},
		{"throttled then served", lines[5], map[string]any{"route": "busy", "function": "busy", "qualifier": "live", "status": 200.0,
			"attempts": 2.0}},
		{"unrouted", lines[7], map[string]any{"path": "/nowhere", "status": 404.0, "code": "NoRoute"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.want {
				if got := tc.line[k]; got != v {
					t.Errorf("%s = %#v, want %#v (line %v)", k, got, v, tc.line)
				}
			}
		})
	}
	if _, ok := lines[7]["lambda_ms"]; ok {
		t.Error("unrouted request has lambda_ms")
	}
	for i, l := range lines[:7] {
		if id, _ := l["trace_id"].(string); len(id) != 32 {
			t.Errorf("routed line %d: trace_id %q, want 32 hex digits", i, id)
		}
	}
	if lm, _ := lines[0]["lambda_ms"].(float64); lm <= 0 || lm > lines[0]["duration_ms"].(float64) {
		t.Errorf("lambda_ms %v must be positive and at most duration_ms %v", lines[0]["lambda_ms"], lines[0]["duration_ms"])
	}
	_ = stub
}

func TestTracePropagation(t *testing.T) {
	o, stub := startObserved(t)
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	const amzn = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	tests := []struct {
		name    string
		hdr     map[string]string
		wantTP  func(string) bool
		wantAmz string
	}{
		{"both forwarded", map[string]string{"Traceparent": tp, "X-Amzn-Trace-Id": amzn},
			func(s string) bool { return s == tp }, amzn},
		{"generated when absent", nil,
			func(s string) bool { _, ok := gateway.ParseTraceparent(s); return ok && strings.HasSuffix(s, "-00") }, ""},
		{"invalid replaced", map[string]string{"Traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
			func(s string) bool {
				_, ok := gateway.ParseTraceparent(s)
				return ok && !strings.Contains(s, "-00000000000000000000000000000000-")
			}, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := o.do("GET", "/ok", tc.hdr); got != 200 {
				t.Fatalf("status %d", got)
			}
			stub.mu.Lock()
			gotTP, gotAmz := stub.traceparent[i], stub.amzn[i]
			stub.mu.Unlock()
			if !tc.wantTP(gotTP) {
				t.Errorf("Lambda got traceparent %q", gotTP)
			}
			if gotAmz != tc.wantAmz {
				t.Errorf("Lambda got X-Amzn-Trace-Id %q, want %q", gotAmz, tc.wantAmz)
			}
			lines := accessLines(t, o.accessLg, i+1)
			if id, _ := gateway.ParseTraceparent(gotTP); lines[i]["trace_id"] != id {
				t.Errorf("access log trace_id %v, want %q", lines[i]["trace_id"], id)
			}
		})
	}
}

// TestMetricsForgetRemovedRoutes: once a route is removed from the
// configuration its series are no longer exported; the others stay.
func TestMetricsForgetRemovedRoutes(t *testing.T) {
	o, _ := startObserved(t)
	o.sendKnownTraffic()
	exported := func(route string) bool {
		fams, err := o.srv.cfg.Metrics.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			for _, mt := range f.GetMetric() {
				for _, lp := range mt.GetLabel() {
					if lp.GetName() == "route" && lp.GetValue() == route {
						return true
					}
				}
			}
		}
		return false
	}
	if !exported("busy") || !exported("ok") {
		t.Fatal("no series for the routes that served traffic")
	}
	o.apply(`
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    routes:
    - name: ok
      matchers: [{exact: /ok}]
      routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: echo, unwrapAsApiGateway: true}}}}
`)
	for deadline := time.Now().Add(10 * time.Second); exported("busy"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the removed route busy is still exported 10s after the change")
		}
	}
	if !exported("ok") {
		t.Error("the kept route ok lost its series")
	}
}
