package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/auth/jwt/jwttest"
	"github.com/lambdagate/lambdagate/test/harness"
)

// TestJWT runs the real binary with the local Lambda's echo function (it
// returns its event) behind a route requiring a JWT from an issuer whose
// key set is served on loopback: 401 without a token, 403 without the
// scope, 200 with it and the claims in the event where API Gateway puts
// them (payload 2.0 and 1.0); CORS preflights answered before
// authentication; the issuer's rotated key picked up and its keys kept
// while it is down; the denials counted by reason, and the token in no
// log line.
func TestJWT(t *testing.T) {
	requireNode(t)
	const issuer = "https://issuer.test"
	key, rotated := jwttest.NewRSA("k1"), jwttest.NewRSA("k2")
	idp := jwttest.NewServer(key)
	defer idp.Close()

	_, file, _, _ := runtime.Caller(0)
	g := startGateway(t, filepath.Join(filepath.Dir(file), "..", "..", "examples", "functions"))
	type obj = harness.Obj
	route := func(prefix, payload string) obj {
		return obj{
			"matchers": []obj{{"prefix": prefix}},
			"routeAction": obj{"single": obj{
				"upstream":        obj{"name": "fns", "namespace": harness.Namespace},
				"destinationSpec": obj{"aws": obj{"logicalName": "echo", "wrapAsApiGateway": true, "payloadFormatVersion": payload}},
			}},
		}
	}
	g.Apply(t,
		harness.AWSSecret("aws-creds", "AKID", "SECRET", ""),
		obj{"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": harness.Meta("fns"), "spec": obj{"aws": obj{
			"region": "us-east-1", "secretRef": obj{"name": "aws-creds", "namespace": harness.Namespace},
			"lambdaFunctions": []obj{{"logicalName": "echo", "lambdaFunctionName": "echo"}},
		}}},
		obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": harness.Meta("orders"), "spec": obj{"virtualHost": obj{
			"domains": []string{"*"},
			"options": obj{
				"cors": obj{"allowOrigin": []string{"https://app.test"}, "allowMethods": []string{"GET"}, "allowHeaders": []string{"authorization"}},
				"jwtStaged": obj{"beforeExtAuth": obj{"providers": obj{"idp": obj{
					"issuer": issuer, "audiences": []string{"orders-api"},
					"jwks":            obj{"remote": obj{"url": idp.URL + "/jwks.json", "cacheDuration": "1s"}},
					"claimsToHeaders": []obj{{"claim": "sub", "header": "x-user"}},
				}}}},
				"rbac": obj{"policies": obj{"readers": obj{"principals": []obj{
					{"jwtPrincipal": obj{"claims": obj{"scope": "orders:read"}, "matcher": "LIST_CONTAINS"}},
				}}}},
			},
			"routes": []obj{route("/v2", "2.0"), route("/v1", "1.0")},
		}}},
	)
	g.WaitState(t, "upstream", harness.Namespace, "fns", "Accepted")
	g.WaitState(t, "virtualservice", harness.Namespace, "orders", "Accepted")

	send := func(method, path, token string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, g.URL+path, nil)
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
		return resp.StatusCode, resp.Header, string(b)
	}
	good := key.Sign(jwttest.Claims(issuer, "orders-api", map[string]any{"scope": "orders:read profile"}))

	status, hdr, _ := send("OPTIONS", "/v2/1", "")
	if status != 204 || hdr.Get("Access-Control-Allow-Origin") != "https://app.test" {
		t.Fatalf("preflight: %d %v", status, hdr)
	}
	status, hdr, body := send("GET", "/v2/1", "")
	if status != 401 || hdr.Get("Www-Authenticate") != "Bearer" || !strings.Contains(body, `"code":"Unauthorized"`) {
		t.Fatalf("no token: %d %v %s", status, hdr, body)
	}
	status, _, body = send("GET", "/v2/1", key.Sign(jwttest.Claims(issuer, "orders-api", map[string]any{"scope": "orders:write"})))
	if status != 403 || !strings.Contains(body, `"code":"Forbidden"`) {
		t.Fatalf("without the scope: %d %s", status, body)
	}

	var v2 struct {
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
	status, hdr, body = send("GET", "/v2/1", good)
	if status != 200 {
		t.Fatalf("valid token: %d %s", status, body)
	}
	if err := json.Unmarshal([]byte(body), &v2); err != nil {
		t.Fatalf("the echo function's event: %v: %s", err, body)
	}
	if a := v2.RequestContext.Authorizer.JWT; a.Claims["sub"] != "user-1" || a.Claims["aud"] != "orders-api" || !slices.Contains(a.Scopes, "orders:read") {
		t.Errorf("payload 2.0 requestContext.authorizer.jwt: %+v", a)
	}
	if v2.Headers["x-user"] != "user-1" || v2.Headers["authorization"] != "" {
		t.Errorf("headers the function saw: %v (want x-user from the claim, no authorization)", v2.Headers)
	}
	if hdr.Get("Access-Control-Allow-Origin") != "https://app.test" {
		t.Errorf("CORS headers of the answer: %v", hdr)
	}

	var v1 struct {
		RequestContext struct {
			Authorizer struct {
				Claims map[string]any `json:"claims"`
				Scopes []string       `json:"scopes"`
			} `json:"authorizer"`
		} `json:"requestContext"`
	}
	status, _, body = send("GET", "/v1/1", good)
	if status != 200 || json.Unmarshal([]byte(body), &v1) != nil {
		t.Fatalf("payload 1.0: %d %s", status, body)
	}
	if c := v1.RequestContext.Authorizer.Claims; c["sub"] != "user-1" || c["exp"] == nil {
		t.Errorf("payload 1.0 requestContext.authorizer.claims: %v", c)
	}

	// The issuer rotates in a new key: a token signed with it is accepted
	// once the gateway refetches the set (a new key id triggers it).
	idp.SetKeys(key, rotated)
	next := rotated.Sign(jwttest.Claims(issuer, "orders-api", map[string]any{"scope": "orders:read"}))
	harness.Eventually(t, 15*time.Second, func() error {
		if status, _, body := send("GET", "/v2/1", next); status != 200 {
			return fmt.Errorf("token of the rotated key: %d %s", status, body)
		}
		return nil
	})
	// The issuer goes down: the cached keys keep working.
	idp.SetDown(true)
	fetches := idp.Fetches()
	time.Sleep(1500 * time.Millisecond) // past cacheDuration: refetches fail
	for i := 0; i < 3; i++ {
		if status, _, body := send("GET", "/v2/1", good); status != 200 {
			t.Fatalf("with the issuer down: %d %s", status, body)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if idp.Fetches() == fetches {
		t.Error("the stale key set was not refetched")
	}
	// The failing fetch is on the virtual service's status; it clears
	// once the issuer answers again.
	if _, reason := g.WaitState(t, "virtualservice", harness.Namespace, "orders", "Warning"); !strings.Contains(reason, `jwt provider "idp": fetching the JWKS at `+idp.URL) || !strings.Contains(reason, "stay in use") {
		t.Errorf("status reason %q: want the provider, the JWKS URL and that the last keys stay in use", reason)
	}
	idp.SetDown(false)
	harness.Eventually(t, 15*time.Second, func() error {
		send("GET", "/v2/1", good) // a request past cacheDuration refetches
		if state, reason, err := g.Status("virtualservice", harness.Namespace, "orders"); err != nil || state != "Accepted" {
			return fmt.Errorf("state %q (%q), %v", state, reason, err)
		}
		return nil
	})

	resp, err := http.Get(g.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`lambdagate_auth_denied_total{reason="missing_token",route="`,
		`lambdagate_auth_denied_total{reason="rbac_denied",route="`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	logs := g.Logs.String()
	for _, tok := range []string{good, next} {
		if strings.Contains(logs, tok) || strings.Contains(logs, tok[strings.LastIndex(tok, ".")+1:]) {
			t.Errorf("a token is in the gateway's logs")
		}
	}
	if !strings.Contains(logs, "missing_token") {
		t.Errorf("no log line names the denial's reason:\n%s", logs)
	}
}
