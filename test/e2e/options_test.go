package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/test/harness"
)

// TestRouteOptions runs the real binary with Gloo's traffic options
// against a Lambda stub on loopback: prefixRewrite shows in the payload
// 2.0 event's rawPath, retries recover from Lambda service errors (the
// function did not run), faults.abort answers without Lambda, and the
// virtual host's gzip compresses the answer for a client that accepts it.
func TestRouteOptions(t *testing.T) {
	const keyID, secret = "AKIDOPTIONS", "options-secret"
	stub := harness.NewLambdaStub(t)
	stub.Accept(keyID, secret, "")
	stub.On("echo", harness.Echo)
	stub.On("flaky", func(w http.ResponseWriter, r *http.Request, rec *harness.Received, n int) {
		if n <= 2 {
			w.Header().Set("X-Amzn-ErrorType", "ServiceException")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"Message":"internal service error"}`)
			return
		}
		harness.LambdaOK(`{"recovered":true}`)(w, r, rec, n)
	})

	g := harness.Start(t, harness.Options{Args: harness.NoDiscovery})
	up := harness.Obj{"name": "up", "namespace": harness.Namespace}
	dest := func(fn string, kv ...any) harness.Obj {
		return harness.Obj{"single": harness.Obj{"upstream": up, "destinationSpec": harness.Obj{"aws": harness.Dest(fn, kv...)}}}
	}
	g.Apply(t,
		harness.AWSSecret("creds", keyID, secret, ""),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "echo", Name: "echo"}, {Logical: "flaky", Name: "flaky"}}, nil),
		harness.Obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": harness.Meta("options"),
			"spec": harness.Obj{"virtualHost": harness.Obj{
				"domains": []string{"*"},
				"options": harness.Obj{"gzip": harness.Obj{"contentLength": 100}},
				"routes": []harness.Obj{
					{"matchers": []harness.Obj{{"prefix": "/api/"}},
						"routeAction": dest("echo", "wrapAsApiGateway", true, "payloadFormatVersion", "2.0"),
						"options":     harness.Obj{"prefixRewrite": "/"}},
					{"matchers": []harness.Obj{{"exact": "/flaky"}},
						"routeAction": dest("flaky"),
						"options":     harness.Obj{"retries": harness.Obj{"numRetries": 3, "retryBackOff": harness.Obj{"baseInterval": "5ms"}}}},
					{"matchers": []harness.Obj{{"exact": "/maintenance"}},
						"routeAction": dest("echo"),
						"options":     harness.Obj{"faults": harness.Obj{"abort": harness.Obj{"percentage": 100, "httpStatus": 503}}}},
				}}}})
	if st, why := g.WaitState(t, "vs", harness.Namespace, "options", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("virtual service: %s: %s", st, why)
	}

	do := func(method, path, accept string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, g.URL+path, strings.NewReader(`{}`))
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gunzip
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	// prefixRewrite: payload 2.0's rawPath excludes the rewritten prefix.
	resp, body := do("POST", "/api/orders/7", "")
	var ev struct{ RawPath, RouteKey string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &ev) != nil || ev.RawPath != "/orders/7" || ev.RouteKey != "ANY /{proxy+}" {
		t.Errorf("/api/orders/7: %d, rawPath %q routeKey %q, want 200 /orders/7 \"ANY /{proxy+}\"\n%s", resp.StatusCode, ev.RawPath, ev.RouteKey, body)
	}
	if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("no Accept-Encoding: Content-Encoding %q Vary %q, want none and Accept-Encoding", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
	}

	// gzip: the same answer, compressed for a client that accepts it.
	resp, raw := do("POST", "/api/orders/7", "br;q=1, gzip;q=0.5")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Contains(plain, []byte(`"rawPath":"/orders/7"`)) {
		t.Errorf("decompressed answer: %s", plain)
	}

	// retries: two service errors, then the answer.
	resp, body = do("POST", "/flaky", "")
	if resp.StatusCode != 200 || string(body) != `{"recovered":true}` || len(stub.Requests("flaky")) != 3 {
		t.Errorf("/flaky: %d %s after %d Invokes, want 200 after 3", resp.StatusCode, body, len(stub.Requests("flaky")))
	}

	// faults.abort: 503, no Invoke.
	before := len(stub.Requests("echo"))
	resp, body = do("POST", "/maintenance", "")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "FaultInjected") || len(stub.Requests("echo")) != before {
		t.Errorf("/maintenance: %d %s, want 503 FaultInjected without an Invoke", resp.StatusCode, body)
	}
}
