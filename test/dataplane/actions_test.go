package dataplane

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// TestGatewayAnswers: the actions the gateway answers itself
// (directResponseAction, redirectAction) reach the client from the real
// binary without a Lambda call, with headerManipulation's response edits;
// the ALB "HTTP to HTTPS" rule is one route on the HTTP listener, and its
// Location leads to the same host's function on the HTTPS listener.
func TestGatewayAnswers(t *testing.T) {
	t.Parallel()
	stub := harness.NewLambdaStub(t)
	stub.Accept(mainKeyID, mainSecret, "")
	stub.On("secure-fn", harness.LambdaOK(`{"secure":true}`))
	stub.On("echo-fn", harness.Echo)
	certPEM, keyPEM, pool := harness.SelfSigned(t, "secure.example.com")

	upstream := harness.Obj{"name": "up", "namespace": harness.Namespace}
	g := startGateway(t, true)
	g.Apply(t,
		harness.AWSSecret("creds", mainKeyID, mainSecret, ""),
		harness.TLSSecret("tls-cert", certPEM, keyPEM),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "secure-fn", Name: "secure-fn"}, {Logical: "echo-fn", Name: "echo-fn"}}, nil),
		harness.VirtualService("secure", []string{"secure.example.com"}, harness.Obj{"secretRef": harness.Obj{"name": "tls-cert", "namespace": harness.Namespace}},
			harness.Route{Prefix: "/", Upstream: "up", AWS: harness.Dest("secure-fn")}),
		harness.Obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": harness.Meta("upgrade"),
			"spec": harness.Obj{"virtualHost": harness.Obj{"domains": []string{"secure.example.com"},
				"routes": []harness.Obj{{"redirectAction": harness.Obj{"httpsRedirect": true}}}}}},
		harness.Obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": harness.Meta("answers"),
			"spec": harness.Obj{"virtualHost": harness.Obj{
				"domains": []string{"*"},
				"options": harness.Obj{"headerManipulation": harness.Obj{
					"requestHeadersToAdd":     []harness.Obj{{"header": harness.Obj{"key": "x-vhost", "value": "v"}}, {"header": harness.Obj{"key": "x-both", "value": "vhost"}, "append": false}},
					"responseHeadersToAdd":    []harness.Obj{{"header": harness.Obj{"key": "x-served-by", "value": "lambdagate"}}},
					"responseHeadersToRemove": []string{"x-drop-me"},
				}},
				"routes": []harness.Obj{
					{"matchers": []harness.Obj{{"prefix": "/maintenance"}},
						"directResponseAction": harness.Obj{"status": 503, "body": "down for maintenance"},
						"options": harness.Obj{"headerManipulation": harness.Obj{
							"responseHeadersToAdd": []harness.Obj{{"header": harness.Obj{"key": "content-type", "value": "text/html"}, "append": false}, {"header": harness.Obj{"key": "retry-after", "value": "120"}}}}}},
					{"matchers": []harness.Obj{{"prefix": "/old/"}},
						"redirectAction": harness.Obj{"prefixRewrite": "/new/", "responseCode": "FOUND", "stripQuery": true}},
					{"matchers": []harness.Obj{{"prefix": "/echo"}},
						"routeAction": harness.Obj{"single": harness.Obj{"upstream": upstream, "destinationSpec": harness.Obj{"aws": harness.Dest("echo-fn", "wrapAsApiGateway", true)}}},
						"options": harness.Obj{"headerManipulation": harness.Obj{
							"requestHeadersToAdd":     []harness.Obj{{"header": harness.Obj{"key": "x-both", "value": "route"}, "append": false}, {"header": harness.Obj{"key": "x-multi", "value": "added"}}},
							"requestHeadersToRemove":  []string{"authorization"},
							"responseHeadersToRemove": []string{"content-type"},
						}}},
				}}}},
	)
	for _, vs := range []string{"secure", "upgrade", "answers"} {
		if st, why := g.WaitState(t, "vs", harness.Namespace, vs, "Accepted", "Warning", "Rejected"); st != "Accepted" {
			t.Fatalf("virtual service %s: %s: %s", vs, st, why)
		}
	}
	noFollow := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(c *http.Client, url, host string, h http.Header) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	before := len(stub.All())

	t.Run("direct response", func(t *testing.T) {
		resp, body := get(noFollow, g.URL+"/maintenance/now", "a.example.com", nil)
		if resp.StatusCode != 503 || body != "down for maintenance" {
			t.Fatalf("got %d %q, want 503 %q", resp.StatusCode, body, "down for maintenance")
		}
		want := map[string]string{"Content-Type": "text/html", "Retry-After": "120", "X-Served-By": "lambdagate", "Content-Length": "20"}
		for k, v := range want {
			if got := resp.Header.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("%s: %q, want %q\n%s", k, got, v, headerDump(resp.Header))
			}
		}
	})
	t.Run("redirect", func(t *testing.T) {
		resp, _ := get(noFollow, g.URL+"/old/a/b?x=1", "a.example.com", nil)
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "http://a.example.com/new/a/b" {
			t.Fatalf("got %d Location %q, want 302 http://a.example.com/new/a/b", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	if n := len(stub.All()); n != before {
		t.Errorf("the gateway's own answers called Lambda %d times", n-before)
	}
	t.Run("http to https", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(g.Addr)
		resp, _ := get(noFollow, g.URL+"/orders?id=7", "secure.example.com:"+port, nil)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != 301 || loc != "https://secure.example.com/orders?id=7" {
			t.Fatalf("got %d Location %q, want 301 https://secure.example.com/orders?id=7", resp.StatusCode, loc)
		}
		// Follow it: the name resolves to the gateway's HTTPS listener.
		dialer := &net.Dialer{}
		c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, g.TLSAddr)
			},
		}}
		resp, body := get(c, loc, "secure.example.com", nil)
		if resp.StatusCode != 200 || body != `{"secure":true}` {
			t.Fatalf("following the redirect: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("header manipulation", func(t *testing.T) {
		resp, body := get(noFollow, g.URL+"/echo", "a.example.com", http.Header{
			"Authorization": {"Bearer secret"}, "X-Multi": {"client"}, "X-Both": {"client"}})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var ev struct {
			Headers           map[string]string   `json:"headers"`
			MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		}
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			t.Fatalf("event: %v: %s", err, body)
		}
		mv := map[string][]string{}
		for k, v := range ev.MultiValueHeaders {
			mv[strings.ToLower(k)] = v
		}
		for k, want := range map[string][]string{"x-vhost": {"v"}, "x-both": {"route"}, "x-multi": {"client", "added"}} {
			if got := mv[k]; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("event header %s: %q, want %q", k, got, want)
			}
		}
		if _, ok := mv["authorization"]; ok {
			t.Errorf("authorization reached the event: %v", mv["authorization"])
		}
		// Removed, and not sniffed back by Go's server either.
		if resp.Header.Get("X-Served-By") != "lambdagate" || resp.Header["Content-Type"] != nil {
			t.Errorf("response headers:\n%s", headerDump(resp.Header))
		}
	})
}
