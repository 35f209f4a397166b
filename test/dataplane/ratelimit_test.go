package dataplane

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/ratelimit/redistest"
	"github.com/lambdagate/lambdagate/test/harness"
)

func settings(spec harness.Obj) harness.Obj {
	return harness.Obj{"apiVersion": "gloo.solo.io/v1", "kind": "Settings",
		"metadata": harness.Obj{"name": "default", "namespace": harness.Namespace}, "spec": spec}
}

// rateLimitedVS routes /limited to fn with options and / to fn plainly.
func rateLimitedVS(options harness.Obj) harness.Obj {
	dest := harness.Obj{"single": harness.Obj{"upstream": harness.Obj{"name": "up", "namespace": harness.Namespace},
		"destinationSpec": harness.Obj{"aws": harness.Dest("fn")}}}
	return harness.Obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": harness.Meta("limited"),
		"spec": harness.Obj{"virtualHost": harness.Obj{"domains": []string{"*"}, "routes": []harness.Obj{
			{"name": "limited", "matchers": []harness.Obj{{"prefix": "/limited"}}, "routeAction": dest, "options": options},
			{"name": "plain", "matchers": []harness.Obj{{"prefix": "/"}}, "routeAction": dest},
		}}}}
}

func getStatus(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := harness.Client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestRateLimitLocal: a route's local token bucket lets maxTokens
// requests through, then answers 429 with the x-ratelimit headers
// Settings ask for, without calling Lambda; the route beside it is not
// limited and carries no header.
func TestRateLimitLocal(t *testing.T) {
	t.Parallel()
	stub := harness.NewLambdaStub(t)
	stub.Accept(mainKeyID, mainSecret, "")
	stub.On("fn", harness.LambdaOK(`{"ok":true}`))
	g := startGateway(t, false)
	g.Apply(t,
		settings(harness.Obj{"httpLocalRatelimit": harness.Obj{"enableXRatelimitHeaders": true}}),
		harness.AWSSecret("creds", mainKeyID, mainSecret, ""),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "fn", Name: "fn"}}, nil),
		rateLimitedVS(harness.Obj{"ratelimit": harness.Obj{"localRatelimit": harness.Obj{"maxTokens": 3, "tokensPerFill": 1, "fillInterval": "1h"}}}),
	)
	if st, why := g.WaitState(t, "settings", harness.Namespace, "default", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("settings: %s: %s", st, why)
	}
	if st, why := g.WaitState(t, "vs", harness.Namespace, "limited", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("virtual service: %s: %s", st, why)
	}
	for i := 0; i < 3; i++ {
		code, h, body := getStatus(t, g.URL+"/limited")
		if code != http.StatusOK || h.Get("X-Ratelimit-Limit") != "3" || h.Get("X-Ratelimit-Remaining") != fmt.Sprint(2-i) {
			t.Fatalf("request %d: %d %v %s", i, code, h, body)
		}
	}
	code, h, body := getStatus(t, g.URL+"/limited")
	var e struct{ Code, Message string }
	_ = json.Unmarshal([]byte(body), &e)
	if code != http.StatusTooManyRequests || e.Code != "TooManyRequests" || e.Message != "Too Many Requests" ||
		h.Get("X-Ratelimit-Remaining") != "0" || h.Get("X-Ratelimit-Reset") == "" || h.Get("X-Ratelimit-Reset") == "0" {
		t.Fatalf("over the limit: %d %v %s", code, h, body)
	}
	if n := len(stub.Requests("fn")); n != 3 {
		t.Fatalf("Lambda called %d times, want 3 (a refused request must not reach it)", n)
	}
	for i := 0; i < 5; i++ {
		if code, h, body := getStatus(t, g.URL+"/other"); code != http.StatusOK || h.Get("X-Ratelimit-Limit") != "" {
			t.Fatalf("plain route: %d %v %s", code, h, body)
		}
	}
}

// TestRateLimitSharedRedis: two gateway processes counting a
// ratelimitBasic limit in one redis-server let the limit through between
// them, not twice the limit; when Redis goes away a gateway with
// denyOnFail false lets requests through, one with denyOnFail true
// refuses them with 500, and both routes' statuses say so.
func TestRateLimitSharedRedis(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	stub := harness.NewLambdaStub(t)
	stub.Accept(mainKeyID, mainSecret, "")
	stub.On("fn", harness.LambdaOK(`{"ok":true}`))
	const limit = 100
	server := func(denyOnFail bool) harness.Obj {
		return settings(harness.Obj{"ratelimitServer": harness.Obj{"redis": harness.Obj{"url": redis.Addr}, "denyOnFail": denyOnFail, "requestTimeout": "500ms"}})
	}
	vs := rateLimitedVS(harness.Obj{"ratelimitBasic": harness.Obj{"anonymousLimits": harness.Obj{"unit": "HOUR", "requestsPerUnit": limit}}})
	gws := []*harness.Gateway{startGateway(t, false), startGateway(t, false)}
	for i, g := range gws {
		g.Apply(t, server(i == 1), harness.AWSSecret("creds", mainKeyID, mainSecret, ""),
			harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "fn", Name: "fn"}}, nil), vs)
		if st, why := g.WaitState(t, "vs", harness.Namespace, "limited", "Accepted", "Warning", "Rejected"); st != "Accepted" {
			t.Fatalf("gateway %d: virtual service: %s: %s", i, st, why)
		}
	}

	// 2×limit requests, alternating between the gateways, 4 at a time.
	// The window is the clock's hour: a run that crosses an hour counts in
	// two windows and is run again.
	var allowed int64
	for attempt := 0; ; attempt++ {
		hour := time.Now().Truncate(time.Hour)
		var ok, other atomic.Int64
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= 2*limit {
						return
					}
					resp, err := harness.Client.Get(gws[i%2].URL + fmt.Sprintf("/limited/%d", attempt))
					if err != nil {
						other.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						ok.Add(1)
					case http.StatusTooManyRequests:
					default:
						other.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if other.Load() != 0 {
			t.Fatalf("%d requests neither 200 nor 429", other.Load())
		}
		allowed = ok.Load()
		if time.Now().Truncate(time.Hour).Equal(hour) || attempt > 0 {
			break
		}
		redis.Stop()
		redis.Restart(t) // a fresh count for the new hour's run
	}
	if allowed < limit*95/100 || allowed > limit*105/100 {
		t.Fatalf("%d of %d requests through two gateways sharing a limit of %d, want within ±5%%", allowed, 2*limit, limit)
	}
	t.Logf("%d of %d requests allowed through two gateways sharing a limit of %d", allowed, 2*limit, limit)

	redis.Stop()
	if code, _, body := getStatus(t, gws[0].URL+"/limited"); code != http.StatusOK {
		t.Fatalf("denyOnFail false, Redis down: %d %s, want 200 (fail open)", code, body)
	}
	if code, _, body := getStatus(t, gws[1].URL+"/limited"); code != http.StatusInternalServerError || !strings.Contains(body, "RateLimitUnavailable") {
		t.Fatalf("denyOnFail true, Redis down: %d %s, want 500", code, body)
	}
	for i, want := range []string{"requests pass without the limit", "requests are refused with 500"} {
		harness.Eventually(t, 15*time.Second, func() error {
			st, why, err := gws[i].Status("vs", harness.Namespace, "limited")
			if err != nil {
				return err
			}
			if st != "Warning" || !strings.Contains(why, "routes[0]") || !strings.Contains(why, "unreachable") || !strings.Contains(why, want) {
				return fmt.Errorf("gateway %d status %s: %s", i, st, why)
			}
			return nil
		})
	}
}
