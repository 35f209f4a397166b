package dataplane

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// TestHotSwap hammers a stable route while 50 configuration changes are
// applied: another route comes and goes, a header matcher changes, and the
// upstream's credentials rotate (the stub accepts every key pair). No
// request on the stable route may fail.
func TestHotSwap(t *testing.T) {
	t.Parallel()
	const changes = 50
	stub := harness.NewLambdaStub(t)
	keyID := func(i int) string { return fmt.Sprintf("AKIDSWAP%010d", i) }
	secretKey := func(i int) string { return fmt.Sprintf("swap-secret-%d", i) }
	for i := 0; i <= changes; i++ {
		stub.Accept(keyID(i), secretKey(i), "")
	}
	stub.On("stable-fn", harness.Echo)
	stub.On("other-fn", harness.LambdaOK(`{"other":true}`))

	g := startGateway(t, false)
	vs := func(i int) harness.Obj {
		routes := []harness.Route{{Exact: "/stable", Upstream: "up", AWS: harness.Dest("stable-fn")}}
		// A header matcher whose value changes with every VS change.
		routes = append(routes, harness.Route{Exact: "/header", Upstream: "up", AWS: harness.Dest("other-fn"),
			Headers: []harness.Obj{{"name": "X-Version", "value": fmt.Sprintf("v%d", i)}}})
		if i%2 == 1 {
			routes = append(routes, harness.Route{Prefix: "/other", Upstream: "up", AWS: harness.Dest("other-fn")})
		}
		return harness.VirtualService("swap", []string{"*"}, nil, routes...)
	}
	fns := []harness.Fn{{Logical: "stable-fn", Name: "stable-fn"}, {Logical: "other-fn", Name: "other-fn"}}
	g.Apply(t, harness.AWSSecret("creds", keyID(0), secretKey(0), ""), harness.Upstream("up", "creds", stub.URL(), fns, nil), vs(0))
	if st, why := g.WaitState(t, "vs", harness.Namespace, "swap", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("virtual service swap: %s: %s", st, why)
	}

	var (
		sent, failed atomic.Int64
		mu           sync.Mutex
		failures     []string
	)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	const workers, maxRequests = 8, 30000
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && sent.Add(1) <= maxRequests; i++ {
				body := fmt.Sprintf(`{"worker":%d,"i":%d}`, w, i)
				problem, answered := harness.CheckEcho(ctx, harness.Client, "POST", g.URL+"/stable", body)
				if !answered && ctx.Err() != nil {
					return // the test is over, not a failure
				}
				if problem != "" {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, problem)
					mu.Unlock()
				}
			}
		}()
	}

	for i := 1; i <= changes; i++ {
		switch i % 3 {
		case 0:
			// Rotate the credentials: a new key pair, as IAM issues.
			g.Apply(t, harness.AWSSecret("creds", keyID(i), secretKey(i), ""))
		default:
			g.Apply(t, vs(i))
		}
	}
	last := changes - changes%3
	g.WaitState(t, "vs", harness.Namespace, "swap", "Accepted")
	// The last changes are served: the last key pair signs, the header
	// matcher wants the last VS version's value.
	lastVS := changes
	if lastVS%3 == 0 {
		lastVS--
	}
	harness.Eventually(t, 10*time.Second, func() error {
		stub.Reset("other-fn")
		resp := harness.Do(t, "GET", g.URL+"/header", nil, map[string]string{"X-Version": fmt.Sprintf("v%d", lastVS)})
		if resp.StatusCode != 200 {
			return fmt.Errorf("header route for v%d: %d %s", lastVS, resp.StatusCode, resp.Body)
		}
		recs := stub.Requests("other-fn")
		if len(recs) != 1 || recs[0].AccessKey != keyID(last) || recs[0].SigErr != "" {
			return fmt.Errorf("after the rotation the stub saw %+v, want one request signed by %s", recs, keyID(last))
		}
		return nil
	})
	cancel()
	wg.Wait()

	n := min(sent.Load(), maxRequests)
	t.Logf("%d requests on the stable route during %d changes, %d failed", n, changes, failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests on the stable route failed during hot swaps; first ones: %q", failed.Load(), n, failures[:min(len(failures), 5)])
	}
	if n < 100 {
		t.Errorf("only %d requests were sent; the hammer did not overlap the changes", n)
	}
}

// TestBadUpdateKeepsLastGood: an update the gateway cannot serve leaves
// the last good version serving, while the status says what is wrong.
func TestBadUpdateKeepsLastGood(t *testing.T) {
	t.Parallel()
	stub := harness.NewLambdaStub(t)
	stub.Accept(mainKeyID, mainSecret, "")
	stub.On("good-fn", harness.LambdaOK(`{"good":true}`))
	g := startGateway(t, false)
	good := harness.VirtualService("keep", []string{"*"}, nil, harness.Route{Exact: "/good", Upstream: "up", AWS: harness.Dest("good-fn")})
	g.Apply(t, harness.AWSSecret("creds", mainKeyID, mainSecret, ""), harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "good-fn", Name: "good-fn"}}, nil), good)
	if st, why := g.WaitState(t, "vs", harness.Namespace, "keep", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("virtual service keep: %s: %s", st, why)
	}
	serving := func(t *testing.T) {
		t.Helper()
		resp := harness.Do(t, "GET", g.URL+"/good", nil, nil)
		if resp.StatusCode != 200 || string(resp.Body) != `{"good":true}` {
			t.Errorf("the last good route no longer serves: %d %s", resp.StatusCode, resp.Body)
		}
	}
	serving(t)

	bad := []struct {
		name string
		vs   harness.Obj
	}{
		{"sslConfig secret missing", harness.VirtualService("keep", []string{"*"}, harness.Obj{"secretRef": harness.Obj{"name": "no-such-secret", "namespace": harness.Namespace}},
			harness.Route{Exact: "/good", Upstream: "up", AWS: harness.Dest("good-fn")})},
		{"upstream missing", harness.VirtualService("keep", []string{"*"}, nil,
			harness.Route{Exact: "/good", Upstream: "no-such-upstream", AWS: harness.Dest("good-fn")})},
		{"function missing", harness.VirtualService("keep", []string{"*"}, nil,
			harness.Route{Exact: "/good", Upstream: "up", AWS: harness.Dest("no-such-function")})},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			g.Apply(t, tc.vs)
			st, why := g.WaitState(t, "vs", harness.Namespace, "keep", "Accepted", "Warning", "Rejected")
			t.Logf("status after the bad update: %s: %s", st, why)
			if st == "Accepted" {
				t.Errorf("a bad update is Accepted")
			}
			serving(t)
			// Back to the good version before the next case.
			g.Apply(t, good)
			g.WaitState(t, "vs", harness.Namespace, "keep", "Accepted")
			serving(t)
		})
	}
}

// TestSecretFixTakesEffect: fixing a wrong aws_secret_access_key (same
// access key id) takes effect without a restart.
func TestSecretFixTakesEffect(t *testing.T) {
	t.Parallel()
	const id, right = "AKIDFIX00000000000", "the-right-secret"
	stub := harness.NewLambdaStub(t)
	stub.Accept(id, right, "")
	stub.On("fix-fn", harness.LambdaOK(`{"fixed":true}`))
	g := startGateway(t, false)
	g.Apply(t,
		harness.AWSSecret("creds", id, "a-typo-in-the-secret", ""),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "fix-fn", Name: "fix-fn"}}, nil),
		harness.VirtualService("fix", []string{"*"}, nil, harness.Route{Exact: "/fix", Upstream: "up", AWS: harness.Dest("fix-fn")}),
	)
	g.WaitState(t, "vs", harness.Namespace, "fix", "Accepted")
	resp := harness.Do(t, "GET", g.URL+"/fix", nil, nil)
	checkGatewayError(t, resp, 502, "AccessDenied", "Lambda refused the gateway's credentials", nil)

	g.Apply(t, harness.AWSSecret("creds", id, right, ""))
	// The secret has no status; the upstream's status is rewritten only
	// when it changes, so poll the route.
	var last *harness.RawResponse
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		last = harness.Do(t, "GET", g.URL+"/fix", nil, nil)
		if last.StatusCode == 200 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last.StatusCode != 200 || string(last.Body) != `{"fixed":true}` {
		recs := stub.Requests("fix-fn")
		t.Errorf("10s after the secret was fixed the route still answers %d %s; last stub verification: %q. The gateway keeps signing with the signing key derived from the old secret: aws-sdk-go-v2's v4.Signer caches it by access key id and day only, and internal/lambda shares one Signer",
			last.StatusCode, last.Body, recs[len(recs)-1].SigErr)
	}
}
