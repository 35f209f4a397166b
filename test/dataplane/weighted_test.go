package dataplane

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// TestWeightedCanary: a canary between two aliases of one function,
// orders:live and orders:canary, through an UpstreamGroup and through
// routeAction.multi, with the real binary. Over 10,000 requests each
// alias gets its weight's share within ±2 points, and the access log and
// the metrics count each request for the alias that answered it.
func TestWeightedCanary(t *testing.T) {
	t.Parallel()
	stub := harness.NewLambdaStub(t)
	stub.Accept(mainKeyID, mainSecret, "")
	stub.On("orders", func(w http.ResponseWriter, r *http.Request, _ *harness.Received, _ int) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"statusCode":200,"body":%q}`, r.URL.Query().Get("Qualifier"))
	})
	up := harness.Obj{"name": "orders", "namespace": harness.Namespace}
	dest := func(weight int, logical string) harness.Obj {
		return harness.Obj{"weight": weight, "destination": harness.Obj{"upstream": up,
			"destinationSpec": harness.Obj{"aws": harness.Dest(logical, "unwrapAsApiGateway", true)}}}
	}
	g := startGateway(t, false)
	g.Apply(t,
		harness.AWSSecret("creds", mainKeyID, mainSecret, ""),
		harness.Upstream("orders", "creds", stub.URL(), []harness.Fn{
			{Logical: "orders-live", Name: "orders", Qualifier: "live"},
			{Logical: "orders-canary", Name: "orders", Qualifier: "canary"}}, nil),
		harness.Obj{"apiVersion": "gloo.solo.io/v1", "kind": "UpstreamGroup", "metadata": harness.Meta("orders"),
			"spec": harness.Obj{"destinations": []harness.Obj{dest(90, "orders-live"), dest(10, "orders-canary")}}},
		harness.Obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": harness.Meta("canary"),
			"spec": harness.Obj{"virtualHost": harness.Obj{"domains": []string{"*"}, "routes": []harness.Obj{
				{"name": "group", "matchers": []harness.Obj{{"prefix": "/group"}},
					"routeAction": harness.Obj{"upstreamGroup": harness.Obj{"name": "orders"}}},
				{"name": "multi", "matchers": []harness.Obj{{"prefix": "/multi"}},
					"routeAction": harness.Obj{"multi": harness.Obj{"destinations": []harness.Obj{dest(50, "orders-live"), dest(50, "orders-canary")}}}},
			}}}},
	)
	if st, why := g.WaitState(t, "upstreamgroup", harness.Namespace, "orders", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("upstream group: %s: %s", st, why)
	}
	if st, why := g.WaitState(t, "vs", harness.Namespace, "canary", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("virtual service: %s: %s", st, why)
	}

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	const n, workers = 10000, 8
	for _, tc := range []struct {
		route    string
		wantLive float64 // percent
	}{
		{"group", 90},
		{"multi", 50},
	} {
		var mu sync.Mutex
		got := map[string]int{}
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					resp, err := client.Get(g.URL + "/" + tc.route)
					if err != nil {
						errs <- err
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						errs <- fmt.Errorf("status %d: %s", resp.StatusCode, b)
						return
					}
					mu.Lock()
					got[string(b)]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("%s: %v", tc.route, err)
		}
		live := 100 * float64(got["live"]) / n
		t.Logf("%s: live %.2f%% (%d of %d), canary %d", tc.route, live, got["live"], n, got["canary"])
		if live < tc.wantLive-2 || live > tc.wantLive+2 || got["live"]+got["canary"] != n {
			t.Errorf("%s: %v: %.2f%% to live, want %.0f%% ± 2", tc.route, got, live, tc.wantLive)
		}
		// What the gateway recorded for each alias equals what answered.
		harness.Eventually(t, 5*time.Second, func() error {
			for q, logical := range map[string]string{"live": "orders-live", "canary": "orders-canary"} {
				if c := countAccessLog(g.Logs.String(), tc.route, q); c != got[q] {
					return fmt.Errorf("access log has %d %s requests with qualifier %s, answers %d", c, tc.route, q, got[q])
				}
				if c := scrapeRequests(t, g.AdminURL, tc.route, logical); c != got[q] {
					return fmt.Errorf("metrics count %d %s requests for %s, answers %d", c, tc.route, logical, got[q])
				}
			}
			return nil
		})
	}
}

// countAccessLog counts the JSON access log lines of a route whose
// qualifier is q.
func countAccessLog(logs, route, q string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"route":"`+route+`"`) && strings.Contains(l, `"qualifier":"`+q+`"`) {
			n++
		}
	}
	return n
}

// scrapeRequests sums lambdagate_requests_total for a route and function
// from the admin listener's /metrics.
func scrapeRequests(t *testing.T, admin, route, fn string) int {
	t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	re := regexp.MustCompile(`(?m)^lambdagate_requests_total\{([^}]*)\} (\d+)$`)
	total := 0
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], `route="`+route+`"`) && strings.Contains(m[1], `function="`+fn+`"`) {
			v, _ := strconv.Atoi(m[2])
			total += v
		}
	}
	return total
}
