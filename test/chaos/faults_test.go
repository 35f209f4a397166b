package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// faultPlane is a gateway whose routes each lead to one fault of the
// fault server (plus one upstream on a closed port).
type faultPlane struct {
	g  *harness.Gateway
	fs *faultServer
}

// faultRoute: route /f/<fn> calls function <fn> with the route timeout.
type faultRoute struct {
	fn      string
	timeout string
}

var faultRoutes = []faultRoute{
	{faultOK, "5s"}, {faultRefuse, "5s"}, {faultReset, "5s"}, {faultTruncated, "5s"},
	{faultOversize, "10s"}, {faultOversizeC, "10s"}, {fault500, "5s"}, {fault502, "5s"}, {fault503, "5s"},
	{faultThrottle, "1s"}, {faultSlow, "1s"}, {faultHang, "1s"}, {faultGarbage, "5s"},
	{"slow-short", "50ms"},
}

func setupFaults(t testing.TB) *faultPlane {
	fs := newFaultServer(t)
	g := startGateway(t, harness.Options{})
	var fns []harness.Fn
	var routes []harness.Route
	for _, r := range faultRoutes {
		name := r.fn
		if name == "slow-short" {
			name = faultSlow
		}
		if !containsFn(fns, name) {
			fns = append(fns, harness.Fn{Logical: name, Name: name})
		}
		routes = append(routes, harness.Route{Exact: "/f/" + r.fn, Upstream: "up-fault", AWS: harness.Dest(name), Timeout: r.timeout})
	}
	routes = append(routes, harness.Route{Exact: "/f/down", Upstream: "up-down", AWS: harness.Dest("down-fn"), Timeout: "5s"})
	g.Apply(t,
		harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken),
		harness.Upstream("up-fault", "creds", fs.URL(), fns, nil),
		harness.Upstream("up-down", "creds", "http://"+harness.ClosedPort(t), []harness.Fn{{Logical: "down-fn", Name: "down-fn"}}, nil),
		harness.VirtualService("faults", []string{"*"}, nil, routes...),
	)
	if st, why := g.WaitState(t, "vs", harness.Namespace, "faults", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("virtual service faults: %s: %s", st, why)
	}
	return &faultPlane{g: g, fs: fs}
}

func containsFn(fns []harness.Fn, l string) bool {
	for _, f := range fns {
		if f.Logical == l {
			return true
		}
	}
	return false
}

// TestLambdaFaults: every way the Lambda endpoint can fail gives the
// documented status (docs/compatibility.md "Errors") within the route
// timeout.
func TestLambdaFaults(t *testing.T) {
	t.Parallel()
	p := setupFaults(t)
	cases := []struct {
		path    string
		timeout time.Duration
		status  int
		code    string
	}{
		{"/f/ok", 5 * time.Second, 200, ""},
		{"/f/down", 5 * time.Second, 502, "LambdaUnreachable"},
		{"/f/refuse", 5 * time.Second, 502, "LambdaUnreachable"},
		{"/f/reset", 5 * time.Second, 502, "LambdaUnreachable"},
		{"/f/truncated", 5 * time.Second, 502, "LambdaUnreachable"},
		{"/f/garbage", 5 * time.Second, 502, "LambdaUnreachable"},
		{"/f/s500", 5 * time.Second, 502, "LambdaError"},
		{"/f/s502", 5 * time.Second, 502, "LambdaError"},
		{"/f/s503", 5 * time.Second, 502, "LambdaError"},
		{"/f/throttle", 1 * time.Second, 429, "Throttled"},
		{"/f/slow", 1 * time.Second, 504, "Timeout"},
		{"/f/hang", 1 * time.Second, 504, "Timeout"},
		{"/f/slow-short", 50 * time.Millisecond, 504, "Timeout"},
		// A function answer over Lambda's 6 MB limit is the function's
		// fault, not the client's: a 502, as API Gateway and ALB answer.
		{"/f/oversize", 10 * time.Second, 502, ""},
		{"/f/oversize-chk", 10 * time.Second, 502, ""},
	}
	for _, tc := range cases {
		t.Run(strings.TrimPrefix(tc.path, "/f/"), func(t *testing.T) {
			start := time.Now()
			resp := harness.Do(t, "POST", p.g.URL+tc.path, strings.NewReader(`{"x":1}`), nil)
			took := time.Since(start)
			record(t, "%d %s in %s (route timeout %s)", resp.StatusCode, codeOf(resp), took.Round(time.Millisecond), tc.timeout)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.code != "" {
				if b := gatewayError(t, resp); b.Code != tc.code {
					t.Errorf("code %q, want %q; body %s", b.Code, tc.code, resp.Body)
				}
			}
			if tc.status == 429 && resp.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			// Generous bound: the answer comes within the route timeout
			// plus scheduling slack, never after a default timeout.
			if took > tc.timeout+5*time.Second {
				t.Errorf("answered after %s; the route timeout is %s", took, tc.timeout)
			}
		})
	}
}

func codeOf(resp *harness.RawResponse) string {
	if resp.StatusCode == 200 {
		return ""
	}
	var b errorBody
	_ = jsonUnmarshal(resp.Body, &b)
	return b.Code
}

// TestFaultsNoLeak sends 100,000 requests (1,000,000 with CHAOS_LONG=1)
// spread over the fast faults and compares the gateway's resources
// before and after: goroutines (when /debug/pprof is there), threads,
// open descriptors and RSS must come back to where they were.
func TestFaultsNoLeak(t *testing.T) {
	// Not parallel: measured alone, so the figures are its own.
	p := setupFaults(t)
	total := 100_000
	if long {
		total = 1_000_000
	}
	// Half succeed, the rest fail in each fast way; a few time out.
	mix := []string{"ok", "ok", "ok", "ok", "ok", "ok", "s500", "s503", "truncated", "reset", "refuse", "down", "garbage", "s502"}
	fire := func(n int) (counts map[int]int, elapsed time.Duration) {
		var sent atomic.Int64
		var mu sync.Mutex
		counts = map[int]int{}
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		start := time.Now()
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				local := map[int]int{}
				for ctx.Err() == nil {
					i := sent.Add(1)
					if i > int64(n) {
						break
					}
					path := "/f/" + mix[int(i)%len(mix)]
					if i%1000 == 0 {
						path = "/f/slow-short"
					}
					req, _ := http.NewRequestWithContext(ctx, "POST", p.g.URL+path, strings.NewReader(`{"n":1}`))
					resp, err := harness.Client.Do(req)
					if err != nil {
						local[-1]++
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					local[resp.StatusCode]++
				}
				mu.Lock()
				for k, v := range local {
					counts[k] += v
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		return counts, time.Since(start)
	}
	// Warm up: pools, buffers and the GC reach their steady state.
	fire(5000)
	settle()
	before := stats(t, p.g)
	counts, took := fire(total)
	settle()
	after := stats(t, p.g)
	record(t, "%d requests in %s (%.0f req/s) over %d concurrent clients; statuses %v (-1 = transport error)", total, took.Round(time.Millisecond), float64(total)/took.Seconds(), 16, counts)
	record(t, "before: %s", before)
	record(t, "after:  %s", after)
	if counts[-1] > 0 {
		t.Errorf("%d requests got no HTTP answer at all", counts[-1])
	}
	if counts[200] == 0 || counts[502] == 0 || counts[504] == 0 {
		t.Errorf("the mix did not reach every outcome: %v", counts)
	}
	// A leak of one goroutine, thread or descriptor per failed request
	// would show as tens of thousands; the margins allow for pools.
	if before.Goroutines >= 0 && after.Goroutines > before.Goroutines+50 {
		t.Errorf("goroutines grew from %d to %d", before.Goroutines, after.Goroutines)
	}
	if after.FDs > before.FDs+50 {
		t.Errorf("open descriptors grew from %d to %d", before.FDs, after.FDs)
	}
	if after.Threads > before.Threads+16 {
		t.Errorf("threads grew from %d to %d", before.Threads, after.Threads)
	}
	if after.RSSKiB > before.RSSKiB+64<<10 {
		t.Errorf("RSS grew from %d KiB to %d KiB", before.RSSKiB, after.RSSKiB)
	}
}

// settle lets idle connections and finished goroutines go away before a
// measurement.
func settle() {
	harness.Client.CloseIdleConnections()
	time.Sleep(2 * time.Second)
}

var _ = fmt.Sprintf
