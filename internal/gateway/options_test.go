package gateway

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/router"
)

// optRoute is a routes item with options (flow-style YAML).
func optRoute(matcher, fn, dest, options string) string {
	return strings.TrimSuffix(route(matcher, fn, dest), "\n") + "\n      options: {" + options + "}\n"
}

// A rewrite shows in each event as API Gateway shows a request through a
// base-path mapping: payload 2.0's rawPath and ALB's path are rewritten,
// payload 1.0's path stays the client's, and resource and pathParameters
// describe the rewritten path.
func TestRewriteEvents(t *testing.T) {
	url, calls := handlerGateway(t,
		optRoute("prefix: /v1/orders/", "fn", "wrapAsApiGateway: true", "prefixRewrite: /orders/")+
			optRoute("prefix: /v2/orders/", "fn", "wrapAsApiGateway: true, payloadFormatVersion: \"2.0\"", "prefixRewrite: /")+
			optRoute("prefix: /alb/", "fn", "wrapAsAlb: true", "prefixRewrite: \"\"")+
			optRoute("exact: /ping", "fn", "wrapAsApiGateway: true", "prefixRewrite: /health")+
			optRoute("prefix: /users/", "fn", "wrapAsApiGateway: true, payloadFormatVersion: \"2.0\"", `regexRewrite: {pattern: {regex: '^/users/([0-9]+)$'}, substitution: '/profiles/\1'}`)+
			route("prefix: /plain/", "fn", "wrapAsApiGateway: true, payloadFormatVersion: \"2.0\""),
		map[string]http.HandlerFunc{"fn": answer(`{"statusCode":200}`)})

	type event struct {
		Path, RawPath, Resource, RouteKey string
		PathParameters                    map[string]string
		RequestContext                    struct {
			Path string
			HTTP struct{ Path string }
		}
	}
	for _, tc := range []struct {
		path string
		want event
	}{
		{"/v1/orders/42", event{Path: "/v1/orders/42", Resource: "/orders/{proxy+}", PathParameters: map[string]string{"proxy": "42"}}},
		{"/v2/orders/42", event{RawPath: "/42", Resource: "", RouteKey: "ANY /{proxy+}", PathParameters: map[string]string{"proxy": "42"}}},
		{"/alb/a/b", event{Path: "/a/b"}},
		{"/ping", event{Path: "/ping", Resource: "/health"}},
		{"/users/7", event{RawPath: "/profiles/7", RouteKey: "ANY /{proxy+}", PathParameters: map[string]string{"proxy": "profiles/7"}}},
		{"/plain/x", event{RawPath: "/plain/x", RouteKey: "ANY /plain/{proxy+}", PathParameters: map[string]string{"proxy": "x"}}},
	} {
		resp, body := do(t, "POST", url+tc.path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tc.path, resp.StatusCode, body)
		}
		c := calls()
		var ev event
		if err := json.Unmarshal(c[len(c)-1].Body, &ev); err != nil {
			t.Fatal(err)
		}
		got := event{Path: ev.Path, RawPath: ev.RawPath, Resource: ev.Resource, RouteKey: ev.RouteKey, PathParameters: ev.PathParameters}
		if tc.want.RawPath != "" && ev.RequestContext.HTTP.Path != tc.want.RawPath {
			t.Errorf("%s: requestContext.http.path %q, want %q", tc.path, ev.RequestContext.HTTP.Path, tc.want.RawPath)
		}
		if strings.HasPrefix(tc.path, "/v1/") && ev.RequestContext.Path != tc.path {
			t.Errorf("%s: 1.0 requestContext.path %q, want the client's path", tc.path, ev.RequestContext.Path)
		}
		if g, w := jsonOf(got), jsonOf(tc.want); g != w {
			t.Errorf("%s: event paths %s, want %s", tc.path, g, w)
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// faults.abort answers without calling Lambda; faults.delay holds the
// request first; a 0% fault never fires.
func TestFaults(t *testing.T) {
	url, calls := handlerGateway(t,
		optRoute("exact: /abort", "fn", "", "faults: {abort: {percentage: 100, httpStatus: 503}}")+
			optRoute("exact: /delay", "fn", "", "timeout: 1s, faults: {delay: {percentage: 100, fixedDelay: 300ms}}")+
			optRoute("exact: /never", "fn", "", "faults: {abort: {percentage: 0, httpStatus: 500}, delay: {percentage: 0, fixedDelay: 10s}}"),
		map[string]http.HandlerFunc{"fn": answer(`{"ok":true}`)})

	resp, body := do(t, "POST", url+"/abort")
	if resp.StatusCode != 503 || !strings.Contains(body, "FaultInjected") {
		t.Errorf("/abort: %d %q, want 503 FaultInjected", resp.StatusCode, body)
	}
	if n := len(calls()); n != 0 {
		t.Errorf("an aborted request invoked Lambda %d times", n)
	}
	start := time.Now()
	resp, _ = do(t, "POST", url+"/delay")
	if took := time.Since(start); resp.StatusCode != 200 || took < 300*time.Millisecond {
		t.Errorf("/delay: %d after %s, want 200 after at least 300ms", resp.StatusCode, took)
	}
	start = time.Now()
	resp, _ = do(t, "POST", url+"/never")
	if took := time.Since(start); resp.StatusCode != 200 || took > 5*time.Second {
		t.Errorf("/never: %d after %s, want 200 at once", resp.StatusCode, took)
	}
	if n := len(calls()); n != 2 {
		t.Errorf("Lambda invoked %d times, want 2", n)
	}
}

// A fault percentage holds across many requests.
func TestFaultAbortShare(t *testing.T) {
	f := &pipeline.FaultAbort{Percentage: 25, Status: 503}
	r, _ := http.NewRequest("GET", "/", nil)
	aborted := 0
	const n = 20000
	for range n {
		if f.FilterRequest(nil, r, &pipeline.Exchange{}) != nil {
			aborted++
		}
	}
	if share := float64(aborted) / n * 100; share < 23 || share > 27 {
		t.Errorf("aborted %.1f%% of the requests, want 25%% ± 2", share)
	}
}

// Retries: a route with a policy retries a Lambda service error (the
// function did not run) but not a function error unless retryOn has
// "5xx"; ASYNC routes never retry a failure after which the function may
// have run.
func TestRetries(t *testing.T) {
	var serviceFails, fnFails atomic.Int32
	serviceErrorTwice := func(w http.ResponseWriter, r *http.Request) {
		if serviceFails.Add(1) <= 2 {
			w.Header().Set("X-Amzn-ErrorType", "ServiceException")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"Message":"internal"}`)
			return
		}
		answer(`{"ok":true}`)(w, r)
	}
	functionErrorOnce := func(w http.ResponseWriter, r *http.Request) {
		if fnFails.Add(1) == 1 {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = io.WriteString(w, `{"errorMessage":"boom","errorType":"Error"}`)
			return
		}
		answer(`{"ok":true}`)(w, r)
	}
	url, calls := handlerGateway(t,
		optRoute("exact: /service", "svc", "", "retries: {numRetries: 2, retryBackOff: {baseInterval: 1ms}}")+
			optRoute("exact: /no-policy", "svc", "", "timeout: 2s")+
			optRoute("exact: /fn", "fnerr", "", "retries: {retryOn: connect-failure, numRetries: 3}")+
			optRoute("exact: /fn-5xx", "fnerr", "", "retries: {retryOn: 5xx, numRetries: 3, retryBackOff: {baseInterval: 1ms}}"),
		map[string]http.HandlerFunc{"svc": serviceErrorTwice, "fnerr": functionErrorOnce})

	seen := 0
	invokes := func() int {
		n := len(calls()) - seen
		seen += n
		return n
	}
	resp, body := do(t, "POST", url+"/service")
	if n := invokes(); resp.StatusCode != 200 || n != 3 {
		t.Errorf("/service: %d %q after %d Invokes; want 200 after 3", resp.StatusCode, body, n)
	}
	serviceFails.Store(0)
	resp, _ = do(t, "POST", url+"/no-policy")
	if n := invokes(); resp.StatusCode != http.StatusBadGateway || n != 1 {
		t.Errorf("/no-policy: %d after %d Invokes; want 502 after 1 (no policy retries throttling only)", resp.StatusCode, n)
	}
	resp, _ = do(t, "POST", url+"/fn")
	if n := invokes(); resp.StatusCode != http.StatusBadGateway || n != 1 {
		t.Errorf("/fn: %d after %d Invokes; want the function error (502) after 1: it ran", resp.StatusCode, n)
	}
	fnFails.Store(0)
	resp, _ = do(t, "POST", url+"/fn-5xx")
	if n := invokes(); resp.StatusCode != 200 || n != 2 {
		t.Errorf("/fn-5xx: %d after %d Invokes; want 200 after 2 (retryOn 5xx)", resp.StatusCode, n)
	}
}

// gzipRoute gives the route at path a gzip filter.
func gzipRoute(path string, g *pipeline.Gzip, removeAE bool) func(*router.Route) {
	return func(rt *router.Route) {
		if rt.Matchers[0].Path == path {
			p := pipeline.Of(rt)
			p.Request = append(p.Request, pipeline.GzipAcceptEncoding{Remove: removeAE})
			p.Response = append(p.Response, g)
		}
	}
}

// The gzip filter compresses a compressible answer above its minimum for
// a client that accepts gzip, adds Vary, and leaves alone HEAD, 204,
// encoded, small and other-typed answers and clients that refuse it.
func TestGzip(t *testing.T) {
	big := strings.Repeat(`{"item":"abcdefgh"},`, 100)
	fnBody := func(status int, ct, ce, etag string) string {
		h := map[string]string{"Content-Type": ct}
		if ce != "" {
			h["Content-Encoding"] = ce
		}
		if etag != "" {
			h["ETag"] = etag
		}
		b, _ := json.Marshal(map[string]any{"statusCode": status, "headers": h, "body": big})
		return string(b)
	}
	g := func() *pipeline.Gzip {
		return &pipeline.Gzip{MinLength: 100, Level: 6, Types: map[string]bool{"application/json": true, "text/html": true}}
	}
	url, calls := handlerGateway(t,
		route("exact: /json", "json", "unwrapAsApiGateway: true")+
			route("exact: /strong", "strong", "unwrapAsApiGateway: true")+
			route("exact: /encoded", "encoded", "unwrapAsApiGateway: true")+
			route("exact: /png", "png", "unwrapAsApiGateway: true")+
			route("exact: /nocontent", "nocontent", "unwrapAsApiGateway: true")+
			route("exact: /small", "small", "")+
			route("exact: /removed", "json", "wrapAsApiGateway: true, unwrapAsApiGateway: true"),
		map[string]http.HandlerFunc{
			"json":      answer(fnBody(200, "application/json; charset=utf-8", "", `W/"1"`)),
			"strong":    answer(fnBody(200, "text/html", "", `"abc"`)),
			"encoded":   answer(fnBody(200, "application/json", "br", "")),
			"png":       answer(fnBody(200, "image/png", "", "")),
			"nocontent": answer(`{"statusCode":204,"headers":{"Content-Type":"application/json"}}`),
			"small":     answer(`{"a":1}`),
		},
		gzipRoute("/json", g(), false), gzipRoute("/strong", g(), false), gzipRoute("/encoded", g(), false),
		gzipRoute("/png", g(), false), gzipRoute("/nocontent", g(), false), gzipRoute("/small", g(), false),
		gzipRoute("/removed", g(), true))

	for _, tc := range []struct {
		method, path, accept string
		gzipped              bool
		vary                 bool
		etag                 string
	}{
		{"GET", "/json", "gzip", true, true, `W/"1"`},
		{"GET", "/json", "br;q=1, gzip;q=0.5", true, true, `W/"1"`},
		{"GET", "/json", "*", true, true, `W/"1"`},
		{"GET", "/json", "gzip;q=0, *", false, true, `W/"1"`},
		{"GET", "/json", "identity", false, true, `W/"1"`},
		{"GET", "/json", "", false, true, `W/"1"`},
		{"HEAD", "/json", "gzip", false, false, `W/"1"`},
		{"GET", "/strong", "gzip", true, true, ""},
		{"GET", "/strong", "deflate", false, true, `"abc"`},
		{"GET", "/encoded", "gzip", false, false, ""},
		{"GET", "/png", "gzip", false, false, ""},
		{"GET", "/nocontent", "gzip", false, false, ""},
		{"GET", "/small", "gzip", false, false, ""},
		{"GET", "/removed", "gzip", true, true, `W/"1"`},
	} {
		req, _ := http.NewRequest(tc.method, url+tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept-Encoding", tc.accept)
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name := tc.method + " " + tc.path + " Accept-Encoding: " + tc.accept
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
			t.Errorf("%s: gzipped %v, want %v", name, got, tc.gzipped)
		}
		if got := resp.Header.Get("Vary") == "Accept-Encoding"; got != tc.vary {
			t.Errorf("%s: Vary %q, want Accept-Encoding: %v", name, resp.Header.Get("Vary"), tc.vary)
		}
		if tc.path != "/encoded" && tc.path != "/png" && tc.path != "/nocontent" && tc.path != "/small" && resp.Header.Get("Etag") != tc.etag {
			t.Errorf("%s: ETag %q, want %q", name, resp.Header.Get("Etag"), tc.etag)
		}
		if tc.gzipped {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil || string(plain) != big {
				t.Errorf("%s: decompressed body %d bytes (%v), want the function's %d", name, len(plain), err, len(big))
			}
			if resp.ContentLength >= int64(len(big)) {
				t.Errorf("%s: Content-Length %d not below the plain %d", name, resp.ContentLength, len(big))
			}
		} else if tc.method == "GET" && tc.path == "/json" && string(raw) != big {
			t.Errorf("%s: body changed without compression", name)
		}
	}
	// removeAcceptEncodingHeader: the function never saw Accept-Encoding.
	c := calls()
	if last := c[len(c)-1]; !bytes.Contains(last.Body, []byte(`"path":"/removed"`)) || bytes.Contains(bytes.ToLower(last.Body), []byte("accept-encoding")) {
		t.Errorf("/removed: the event still carries Accept-Encoding: %s", last.Body)
	}
}
