package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/auth/jwt/jwttest"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/metrics"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// TestSecurityOptions runs a route with CORS, a JWT provider and an RBAC
// policy through the real translator and handler: the preflight is
// answered before authentication without calling the function; a request
// without a valid token or scope is refused with the one JSON error shape
// (and the CORS headers a page needs to read it); a valid one reaches the
// function with its claims where API Gateway puts them, without the token,
// and the function's own CORS headers are replaced.
func TestSecurityOptions(t *testing.T) {
	const issuer = "https://issuer.test"
	key := jwttest.NewRSA("k1")
	keyJSON, _ := json.Marshal(string(jwttest.JWKS(key)))
	opts := fmt.Sprintf(`      options:
        cors: {allowOrigin: ["https://app.test"], allowMethods: [GET], allowHeaders: [authorization], maxAge: "300"}
        jwtProvidersStaged:
          beforeExtAuth:
            providers:
              idp: {issuer: %q, audiences: [api], jwks: {local: {key: %s}}}
        rbac:
          policies:
            readers:
              principals: [{jwtPrincipal: {claims: {scope: "orders:read"}, matcher: LIST_CONTAINS}}]
`, issuer, keyJSON)
	fn := answer(`{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"*","X-Fn":"1"},"body":"ok"}`)
	url, calls := handlerGateway(t,
		route("exact: /orders", "fn", `wrapAsApiGateway: true, unwrapAsApiGateway: true, payloadFormatVersion: "2.0"`)+opts,
		map[string]http.HandlerFunc{"fn": fn})

	send := func(method, token string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url+"/orders", nil)
		req.Header.Set("Origin", "https://app.test")
		if method == "OPTIONS" {
			req.Header.Set("Access-Control-Request-Method", "GET")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, _ := send("OPTIONS", "")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.test" ||
		resp.Header.Get("Access-Control-Allow-Methods") != "GET" || resp.Header.Get("Access-Control-Max-Age") != "300" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	resp, body := send("GET", "")
	if resp.StatusCode != 401 || resp.Header.Get("Www-Authenticate") != "Bearer" ||
		!strings.Contains(body, `"code":"Unauthorized"`) || !strings.Contains(body, `"message":"Unauthorized"`) {
		t.Fatalf("no token: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.test" {
		t.Errorf("a 401 without CORS headers cannot be read by the page: %v", resp.Header)
	}

	noScope := key.Sign(jwttest.Claims(issuer, "api", map[string]any{"scope": "orders:write"}))
	resp, body = send("GET", noScope)
	if resp.StatusCode != 403 || !strings.Contains(body, `"code":"Forbidden"`) {
		t.Fatalf("token without the scope: %d %s", resp.StatusCode, body)
	}
	if n := len(calls()); n != 0 {
		t.Fatalf("refused requests invoked the function %d times", n)
	}

	good := key.Sign(jwttest.Claims(issuer, "api", map[string]any{"scope": "orders:read profile"}))
	resp, body = send("GET", good)
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("valid token: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "https://app.test" {
		t.Errorf("Access-Control-Allow-Origin %q: the function's must be replaced", got)
	}
	c := calls()
	if len(c) != 1 {
		t.Fatalf("%d invocations", len(c))
	}
	var ev struct {
		Headers        map[string]string `json:"headers"`
		RequestContext struct {
			Authorizer struct {
				JWT struct {
					Claims map[string]string `json:"claims"`
					Scopes []string          `json:"scopes"`
				} `json:"jwt"`
			} `json:"authorizer"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(c[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if a := ev.RequestContext.Authorizer.JWT; a.Claims["sub"] != "user-1" || a.Claims["iss"] != issuer || strings.Join(a.Scopes, " ") != "orders:read profile" {
		t.Errorf("authorizer in the event: %+v", a)
	}
	if _, ok := ev.Headers["authorization"]; ok {
		t.Error("the token reached the function (keepToken is false)")
	}
	if strings.Contains(string(c[0].Body), good) {
		t.Error("the event carries the token")
	}
}

// TestDenialCounted: a denial is counted in lambdagate_auth_denied_total
// under its reason and the route's names, also on a route the gateway
// answers itself (a direct response).
func TestDenialCounted(t *testing.T) {
	key := jwttest.NewRSA("k1")
	keyJSON, _ := json.Marshal(string(jwttest.JWKS(key)))
	y := fmt.Sprintf(`
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - name: fixed
      matchers: [{prefix: /}]
      directResponseAction: {status: 200, body: ok}
      options:
        jwtProvidersStaged: {beforeExtAuth: {providers: {idp: {jwks: {local: {key: %s}}}}}}
`, keyJSON)
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	snap := translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), translate.Env{Getenv: func(string) string { return "" }})
	h := &snapshot.Holder{}
	h.Store(snap)
	g := New(h, lambda.NewInvoker(lambda.Options{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.Metrics = metrics.New()
	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		g.ServeHTTP(w, httptest.NewRequest("GET", "http://x/", nil))
		if w.Code != 401 {
			t.Fatalf("status %d", w.Code)
		}
	}
	w := httptest.NewRecorder()
	g.Metrics.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	want := `lambdagate_auth_denied_total{reason="missing_token",route="fixed",virtual_service="gloo-system/vs"} 2`
	if !strings.Contains(w.Body.String(), want) {
		t.Errorf("metrics lack %s:\n%s", want, grepLines(w.Body.String(), "auth_denied"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRateLimitAfterAuthentication pins the pipeline's order (CORS,
// authentication, authorization, then rate limits): requests refused by
// authentication do not spend the route's tokens, so a flood without
// tokens cannot lock out the callers who have one.
func TestRateLimitAfterAuthentication(t *testing.T) {
	const issuer = "https://issuer.test"
	key := jwttest.NewRSA("k1")
	keyJSON, _ := json.Marshal(string(jwttest.JWKS(key)))
	opts := fmt.Sprintf(`      options:
        ratelimit: {localRatelimit: {maxTokens: 1, tokensPerFill: 1, fillInterval: 1h}}
        jwtProvidersStaged:
          beforeExtAuth:
            providers:
              idp: {issuer: %q, audiences: [api], jwks: {local: {key: %s}}}
`, issuer, keyJSON)
	url, calls := handlerGateway(t, route("exact: /orders", "fn", "")+opts,
		map[string]http.HandlerFunc{"fn": answer(`ok`)})
	get := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url+"/orders", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 3 {
		if got := get(""); got != http.StatusUnauthorized {
			t.Fatalf("without a token: %d, want 401 (authentication runs before the rate limit)", got)
		}
	}
	token := key.Sign(jwttest.Claims(issuer, "api", nil))
	if got := get(token); got != http.StatusOK {
		t.Fatalf("the first authenticated request: %d, want 200 (the refused ones spent no token)", got)
	}
	if got := get(token); got != http.StatusTooManyRequests {
		t.Fatalf("the second authenticated request: %d, want 429 (one token per hour)", got)
	}
	if n := len(calls()); n != 1 {
		t.Fatalf("the function ran %d times, want 1", n)
	}
}

// TestDelegatedRoutesAreGuarded: the routes a RouteTable adds get their
// virtual host's security (here a JWT requirement) and rate limit like the
// virtual service's own routes; a delegated route is never served open.
func TestDelegatedRoutesAreGuarded(t *testing.T) {
	const issuer = "https://issuer.test"
	key := jwttest.NewRSA("k1")
	keyJSON, _ := json.Marshal(string(jwttest.JWKS(key)))
	routes := fmt.Sprintf(`    - matchers: [{prefix: /team}]
      delegateAction: {ref: {name: team, namespace: gloo-system}}
    options:
      jwtStaged:
        beforeExtAuth:
          providers:
            idp: {issuer: %q, audiences: [api], jwks: {local: {key: %s}}}
---
apiVersion: gateway.solo.io/v1
kind: RouteTable
metadata: {name: team, namespace: gloo-system}
spec:
  routes:
  - matchers: [{prefix: /team/orders}]
    routeAction: {single: {upstream: {name: up, namespace: gloo-system}, destinationSpec: {aws: {logicalName: fn}}}}
    options:
      ratelimit: {localRatelimit: {maxTokens: 1, tokensPerFill: 1, fillInterval: 1h}}
`, issuer, keyJSON)
	url, calls := handlerGateway(t, routes, map[string]http.HandlerFunc{"fn": answer(`ok`)})
	get := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url+"/team/orders", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(""); got != http.StatusUnauthorized {
		t.Fatalf("a delegated route without a token: %d, want 401", got)
	}
	token := key.Sign(jwttest.Claims(issuer, "api", nil))
	if got := get(token); got != http.StatusOK {
		t.Fatalf("with a token: %d, want 200", got)
	}
	if got := get(token); got != http.StatusTooManyRequests {
		t.Fatalf("the delegated route's rate limit: %d, want 429", got)
	}
	if n := len(calls()); n != 1 {
		t.Fatalf("the function ran %d times, want 1", n)
	}
}
