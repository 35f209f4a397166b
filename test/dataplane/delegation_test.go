package dataplane

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// TestDelegation: a virtual service hands /orders to route tables chosen
// by label, tried by weight, with the real binary; a child route outside
// the delegated prefix is dropped and named on its table's status; a
// delegation cycle is reported on the table that closes it (Rejected,
// naming the cycle) while every other route keeps serving; fixing the
// table clears it.
func TestDelegation(t *testing.T) {
	t.Parallel()
	stub := harness.NewLambdaStub(t)
	stub.Accept(mainKeyID, mainSecret, "")
	stub.On("orders-fn", harness.LambdaOK(`{"statusCode":200,"body":"orders"}`))
	upstream := harness.Obj{"name": "up"} // the table's namespace
	table := func(name string, labels harness.Obj, weight int, routes ...harness.Obj) harness.Obj {
		m := harness.Meta(name)
		m["labels"] = labels
		return harness.Obj{"apiVersion": "gateway.solo.io/v1", "kind": "RouteTable", "metadata": m,
			"spec": harness.Obj{"weight": weight, "routes": routes}}
	}
	prefix := func(p string) []harness.Obj { return []harness.Obj{{"prefix": p}} }
	g := startGateway(t, false)
	g.Apply(t,
		harness.AWSSecret("creds", mainKeyID, mainSecret, ""),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "orders", Name: "orders-fn"}}, nil),
		table("orders", harness.Obj{"team": "orders"}, 10,
			harness.Obj{"matchers": prefix("/orders"), "routeAction": harness.Obj{"single": harness.Obj{"upstream": upstream,
				"destinationSpec": harness.Obj{"aws": harness.Dest("orders", "unwrapAsApiGateway", true)}}}},
			harness.Obj{"matchers": prefix("/elsewhere"), "directResponseAction": harness.Obj{"status": 200}}),
		table("orders-health", harness.Obj{"team": "orders"}, 0,
			harness.Obj{"matchers": []harness.Obj{{"exact": "/orders/health"}}, "directResponseAction": harness.Obj{"status": 200, "body": "healthy"}}),
		table("loop-a", nil, 0,
			harness.Obj{"matchers": prefix("/loop/a"), "delegateAction": harness.Obj{"ref": harness.Obj{"name": "loop-b"}}}),
		table("loop-b", nil, 0,
			harness.Obj{"matchers": prefix("/loop/a/b"), "delegateAction": harness.Obj{"ref": harness.Obj{"name": "loop-a"}}},
			harness.Obj{"matchers": prefix("/loop/a/leaf"), "directResponseAction": harness.Obj{"status": 200, "body": "leaf"}}),
		harness.Obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": harness.Meta("shop"),
			"spec": harness.Obj{"virtualHost": harness.Obj{"domains": []string{"*"}, "routes": []harness.Obj{
				{"matchers": prefix("/orders"), "delegateAction": harness.Obj{"selector": harness.Obj{"labels": harness.Obj{"team": "orders"}}}},
				{"matchers": prefix("/loop"), "delegateAction": harness.Obj{"ref": harness.Obj{"name": "loop-a"}}},
			}}}},
	)
	if st, why := g.WaitState(t, "routetable", harness.Namespace, "loop-a", "Accepted", "Warning", "Rejected"); st != "Rejected" || !strings.Contains(why, "delegation cycle: RouteTable gloo-system/loop-a -> RouteTable gloo-system/loop-b -> RouteTable gloo-system/loop-a") {
		t.Fatalf("loop-a: %s: %s, want Rejected naming the cycle", st, why)
	}
	if st, why := g.WaitState(t, "rt", harness.Namespace, "orders", "Accepted", "Warning", "Rejected"); st != "Warning" || !strings.Contains(why, `spec.routes[1]: matchers[0]: path "/elsewhere" does not start with the prefix "/orders"`) {
		t.Fatalf("orders: %s: %s, want Warning naming the route outside /orders", st, why)
	}
	if st, why := g.WaitState(t, "vs", harness.Namespace, "shop", "Accepted", "Warning", "Rejected"); st != "Warning" {
		t.Fatalf("shop: %s: %s, want Warning", st, why)
	}
	for path, want := range map[string]string{
		"/orders/42":     "200 orders",
		"/orders/health": "200 healthy", // weight 0 before weight 10
		"/loop/a/leaf":   "200 leaf",
		"/elsewhere":     "404",
	} {
		resp, err := http.Get(g.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := fmt.Sprintf("%d %s", resp.StatusCode, b)
		if resp.StatusCode == http.StatusNotFound {
			got = "404" // the gateway's JSON error
		}
		if got != want {
			t.Errorf("GET %s: %q, want %q", path, got, want)
		}
	}

	// Breaking the cycle clears the table's status.
	g.Apply(t, table("loop-b", nil, 0,
		harness.Obj{"matchers": prefix("/loop/a/leaf"), "directResponseAction": harness.Obj{"status": 200, "body": "leaf"}}))
	harness.Eventually(t, 15*time.Second, func() error {
		st, why, err := g.Status("routetable", harness.Namespace, "loop-a")
		if err != nil {
			return err
		}
		if st != "Accepted" {
			return fmt.Errorf("loop-a is %s: %s", st, why)
		}
		return nil
	})
}
