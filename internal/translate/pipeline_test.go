package translate

import (
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// TestRoutePipeline: each route compiles into a pipeline whose action
// invokes the route's function; options.timeout is the first request
// filter, and a route with no options has no filters at all (it pays
// nothing for the pipeline).
func TestRoutePipeline(t *testing.T) {
	const y = `
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: gloo-system}
stringData: {aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: secret}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    secretRef: {name: creds, namespace: gloo-system}
    lambdaFunctions: [{logicalName: fn, lambdaFunctionName: fn}]
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - name: timed
      matchers: [{exact: /timed}]
      options: {timeout: 2.5s}
      routeAction: {single: {upstream: {name: up, namespace: gloo-system}, destinationSpec: {aws: {logicalName: fn}}}}
    - name: plain
      matchers: [{exact: /plain}]
      routeAction: {single: {upstream: {name: up, namespace: gloo-system}, destinationSpec: {aws: {logicalName: fn}}}}
`
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	snap := Translate(FromObjects(objs), awscreds.NewResolver(), Env{Getenv: func(string) string { return "" }})
	vh := snap.HTTP.VirtualHosts()["gloo-system/vs"]
	if vh == nil || len(vh.Routes) != 2 {
		t.Fatalf("virtual host %+v, statuses %v", vh, snap.Statuses)
	}
	for _, rt := range vh.Routes {
		p := pipeline.Of(rt)
		if p == nil || p.Invoke == nil || p.Invoke.FunctionName != "fn" {
			t.Fatalf("route %s: pipeline %+v does not invoke fn", rt.Name, p)
		}
		if len(p.Response) != 0 {
			t.Errorf("route %s: response filters %v", rt.Name, p.Response)
		}
		switch rt.Name {
		case "timed":
			if len(p.Request) != 1 || p.Request[0] != pipeline.Timeout(2500*time.Millisecond) {
				t.Errorf("timed: request filters %#v, want the 2.5s timeout only", p.Request)
			}
		case "plain":
			if p.Request != nil {
				t.Errorf("plain: request filters %#v, want none", p.Request)
			}
		}
	}
}
