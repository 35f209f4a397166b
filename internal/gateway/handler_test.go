package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// invoked is one Invoke request the stub received.
type invoked struct {
	Function, InvocationType string
	Body                     []byte
}

// handlerGateway serves routes (the items of a VirtualService's routes
// list, YAML) with the real translator and invoker, against a Lambda stub
// that answers each function with fns[name]. Each edit is applied to every
// compiled route before the snapshot is served. It returns the gateway's
// URL and a function listing what the stub received.
func handlerGateway(t *testing.T, routes string, fns map[string]http.HandlerFunc, edits ...func(*router.Route)) (string, func() []invoked) {
	t.Helper()
	var got []invoked
	calls := make(chan invoked, 64)
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
		if !ok {
			rest = strings.TrimPrefix(r.URL.Path, "/2021-11-15/functions/") // InvokeWithResponseStream
		}
		name, _, _ := strings.Cut(rest, "/")
		body, _ := io.ReadAll(r.Body)
		calls <- invoked{Function: name, InvocationType: r.Header.Get("X-Amz-Invocation-Type"), Body: body}
		f, ok := fns[name]
		if !ok {
			http.Error(w, "no such function", http.StatusNotFound)
			return
		}
		f(w, r)
	}))
	t.Cleanup(stub.Close)

	names := make([]string, 0, len(fns))
	for n := range fns {
		names = append(names, n)
	}
	slices.Sort(names)
	var fnList strings.Builder
	for _, n := range names {
		fmt.Fprintf(&fnList, "    - {logicalName: %s, lambdaFunctionName: %s}\n", n, n)
	}
	y := fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: gloo-system}
stringData: {aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: secret}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    endpointUrl: %s
    secretRef: {name: creds, namespace: gloo-system}
    lambdaFunctions:
%s---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system}
spec:
  virtualHost:
    domains: ["*"]
    routes:
%s`, stub.URL, fnList.String(), routes)
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	snap := translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), translate.Env{Getenv: func(string) string { return "" }})
	if snap.HTTP.Empty() {
		t.Fatalf("no routes built: %v", snap.Statuses)
	}
	for _, vh := range snap.HTTP.VirtualHosts() {
		for _, rt := range vh.Routes {
			for _, e := range edits {
				e(rt)
			}
		}
	}
	h := &snapshot.Holder{}
	h.Store(snap)
	iv := lambda.NewInvoker(lambda.Options{})
	t.Cleanup(iv.CloseIdle)
	g := New(h, iv, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if configureGateway != nil {
		configureGateway(g)
	}
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	return gw.URL, func() []invoked {
		for {
			select {
			case c := <-calls:
				got = append(got, c)
			default:
				return got
			}
		}
	}
}

// configureGateway, when set, is applied to the next handlerGateway's
// Gateway before it serves (a test that sets it must not run in parallel).
var configureGateway func(*Gateway)

// answer is a Lambda stub reply: a successful Invoke with body.
func answer(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// route is one routes item for handlerGateway: a matcher and the aws
// destination's fields (flow style YAML, without braces).
func route(matcher, fn, dest string) string {
	if dest != "" {
		dest = ", " + dest
	}
	return fmt.Sprintf("    - matchers: [{%s}]\n      routeAction: {single: {upstream: {name: up, namespace: gloo-system}, destinationSpec: {aws: {logicalName: %s%s}}}}\n", matcher, fn, dest)
}

// HEAD answers carry the length a GET would have (RFC 9110 §8.6): a
// function that answers HEAD with an empty body and the GET length (as
// Express does) keeps that length, and no wrong length is ever sent.
func TestHeadKeepsTheFunctionsContentLength(t *testing.T) {
	url, _ := handlerGateway(t,
		route("exact: /declared", "declared", "unwrapAsApiGateway: true")+
			route("exact: /declared-alb", "declared", "unwrapAsAlb: true")+
			route("exact: /bad", "bad", "unwrapAsApiGateway: true")+
			route("exact: /none", "none", "unwrapAsApiGateway: true")+
			route("exact: /body", "body", "unwrapAsApiGateway: true"),
		map[string]http.HandlerFunc{
			"declared": answer(`{"statusCode":200,"headers":{"Content-Type":"text/html","Content-Length":"1234"},"body":""}`),
			"bad":      answer(`{"statusCode":200,"multiValueHeaders":{"Content-Length":["12","13"]},"body":""}`),
			"none":     answer(`{"statusCode":200,"body":""}`),
			"body":     answer(`{"statusCode":200,"headers":{"Content-Length":"99"},"body":"hello"}`),
		})
	for _, tc := range []struct {
		path, want string // want "" means no Content-Length
	}{
		{"/declared", "1234"},
		{"/declared-alb", "1234"},
		{"/bad", ""},
		{"/none", ""},
		{"/body", "5"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Head(url + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := strings.Join(resp.Header.Values("Content-Length"), ","); got != tc.want {
				t.Errorf("Content-Length %q, want %q", got, tc.want)
			}
		})
	}
	// GET still counts the body it sends.
	resp, err := http.Get(url + "/declared")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cl := resp.Header.Get("Content-Length"); cl != "0" || len(b) != 0 {
		t.Errorf("GET: Content-Length %q, body %q: want 0 and empty", cl, b)
	}
}

// An ALB-shaped event never carries X-Amzn-Mtls-* headers a client sent:
// functions written for an ALB in mutual TLS verify mode trust them as the
// load balancer's. Other headers, and other event shapes, pass as sent.
func TestALBEventDropsClientMTLSHeaders(t *testing.T) {
	url, calls := handlerGateway(t,
		route("exact: /alb", "echo", "wrapAsAlb: true")+route("exact: /apigw", "echo", "wrapAsApiGateway: true"),
		map[string]http.HandlerFunc{"echo": answer(`{}`)})
	for _, path := range []string{"/alb", "/apigw"} {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("X-Amzn-Mtls-Clientcert-Subject", "CN=admin")
		req.Header["x-amzn-mtls-clientcert-leaf"] = []string{"forged"}
		req.Header.Set("X-Other", "kept")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c := calls()
		ev := strings.ToLower(string(c[len(c)-1].Body))
		if !strings.Contains(ev, "x-other") {
			t.Fatalf("%s: the event lost an ordinary header: %s", path, ev)
		}
		if got := strings.Contains(ev, "x-amzn-mtls-"); got != (path == "/apigw") {
			t.Errorf("%s: event carries the client's X-Amzn-Mtls-* headers: %v, want %v\n%s", path, got, path == "/apigw", ev)
		}
	}
}

// ALB modes apply an Application Load Balancer's Lambda limits (ELB guide,
// lambda-functions and load-balancer-troubleshooting): a request body over
// 1 MB is 413, a function response over 1 MB is 502.
// disableAlbPayloadLimits lifts both; other modes keep Lambda's own limits.
func TestALBPayloadLimits(t *testing.T) {
	big := `{"statusCode":200,"body":"` + strings.Repeat("x", 1<<20) + `"}`
	url, calls := handlerGateway(t,
		route("exact: /alb-in", "echo", "wrapAsAlb: true")+
			route("exact: /alb-out", "big", "unwrapAsAlb: true")+
			route("exact: /alb-in-lifted", "echo", "wrapAsAlb: true, disableAlbPayloadLimits: true")+
			route("exact: /alb-out-lifted", "big", "unwrapAsAlb: true, disableAlbPayloadLimits: true")+
			route("exact: /apigw-in", "echo", "wrapAsApiGateway: true")+
			route("exact: /apigw-out", "big", "unwrapAsApiGateway: true"),
		map[string]http.HandlerFunc{
			"echo": answer(`{}`),
			"big":  answer(big),
		})
	post := func(path string, n int) int {
		t.Helper()
		resp, err := http.Post(url+path, "application/octet-stream", strings.NewReader(strings.Repeat("a", n)))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path  string
		n     int
		want  int
		calls int // Invoke requests expected
	}{
		{"/alb-in", 1 << 20, 200, 1},
		{"/alb-in", 1<<20 + 1, 413, 0},
		{"/alb-in-lifted", 1<<20 + 1, 200, 1},
		{"/apigw-in", 2 << 20, 200, 1},
		{"/alb-out", 0, 502, 1},
		{"/alb-out-lifted", 0, 200, 1},
		{"/apigw-out", 0, 200, 1},
	} {
		before := len(calls())
		if got := post(tc.path, tc.n); got != tc.want {
			t.Errorf("%s with %d bytes: status %d, want %d", tc.path, tc.n, got, tc.want)
		}
		if n := len(calls()) - before; n != tc.calls {
			t.Errorf("%s with %d bytes: %d Invoke requests, want %d", tc.path, tc.n, n, tc.calls)
		}
	}
}

// Event invocations take payloads up to 1 MB (API_Invoke: "For
// asynchronous invocations, the maximum payload size is 1 MB").
func TestAsyncPayloadLimit(t *testing.T) {
	url, calls := handlerGateway(t, route("exact: /async", "event", "invocationStyle: ASYNC"),
		map[string]http.HandlerFunc{"event": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }})
	for _, tc := range []struct{ n, want int }{{1 << 20, 202}, {1<<20 + 1, 413}} {
		before := len(calls())
		resp, err := http.Post(url+"/async", "application/json", strings.NewReader(`"`+strings.Repeat("a", tc.n-2)+`"`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%d bytes: status %d, want %d", tc.n, resp.StatusCode, tc.want)
		}
		got := calls()[before:]
		if wantCalls := map[bool]int{true: 1, false: 0}[tc.want == 202]; len(got) != wantCalls || (wantCalls == 1 && (got[0].InvocationType != "Event" || len(got[0].Body) != tc.n)) {
			t.Errorf("%d bytes: Invoke requests %d, want %d", tc.n, len(got), wantCalls)
		}
	}
}

// Endpoints that never send X-Amz-Function-Error (AWS's Runtime Interface
// Emulator) answer a thrown error with 200 and the error object, and a
// timeout with 200 and "Task timed out after N seconds". The timeout text
// is recognised on every route; the error object only where the unwrap
// needs a proxy response (payload 1.0, ALB), since elsewhere the same
// object can be a legitimate result.
func TestUnflaggedFunctionErrors(t *testing.T) {
	const thrown = `{"errorMessage":"boom","errorType":"Error","stackTrace":["Error: boom","    at handler (/var/task/index.js:2:9)"]}`
	url, _ := handlerGateway(t,
		route("exact: /err-v1", "thrown", "unwrapAsApiGateway: true")+
			route("exact: /err-alb", "thrown", "unwrapAsAlb: true")+
			route("exact: /err-v2", "thrown", `unwrapAsApiGateway: true, payloadFormatVersion: "2.0"`)+
			route("exact: /err-pass", "thrown", "")+
			route("exact: /timeout-v1", "timeout", "unwrapAsApiGateway: true")+
			route("exact: /timeout-v2", "timeout", `unwrapAsApiGateway: true, payloadFormatVersion: "2.0"`)+
			route("exact: /timeout-pass", "timeout", "")+
			route("exact: /timeout-json-v1", "timeout-json", "unwrapAsApiGateway: true")+
			route("exact: /extra-key-v1", "extra", "unwrapAsApiGateway: true")+
			route("exact: /status-v1", "status", "unwrapAsApiGateway: true"),
		map[string]http.HandlerFunc{
			"thrown":       answer(thrown),
			"timeout":      answer("Task timed out after 3.00 seconds"),
			"timeout-json": answer(`{"errorMessage":"2024-05-01T10:00:00Z 1f2e3d4c Task timed out after 3.00 seconds"}`),
			// Not the error shape: a key an error object never has.
			"extra":  answer(`{"errorMessage":"boom","errorType":"Error","body":"hi"}`),
			"status": answer(`{"statusCode":200,"errorMessage":"boom","errorType":"Error","body":"ok"}`),
		})
	for _, tc := range []struct {
		path, code string
		status     int
		body       string // "" to skip the check
	}{
		{"/err-v1", "FunctionError", 502, ""},
		{"/err-alb", "FunctionError", 502, ""},
		{"/err-v2", "", 200, thrown},
		{"/err-pass", "", 200, thrown},
		{"/timeout-v1", "FunctionTimeout", 504, ""},
		{"/timeout-v2", "FunctionTimeout", 504, ""},
		{"/timeout-pass", "FunctionTimeout", 504, "Task timed out after 3.00 seconds"},
		{"/timeout-json-v1", "FunctionTimeout", 504, ""},
		{"/extra-key-v1", "", 200, ""},
		{"/status-v1", "", 200, "ok"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(url + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if tc.code != "" && !strings.Contains(string(b), `"code":"`+tc.code+`"`) && tc.body == "" {
				t.Errorf("body %s, want code %s", b, tc.code)
			}
			if tc.body != "" && string(b) != tc.body {
				t.Errorf("body %q, want %q", b, tc.body)
			}
		})
	}
}
