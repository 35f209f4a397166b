package translate

import (
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/ratelimit"
	"github.com/lambdagate/lambdagate/internal/resource"
)

const rateLimitedYAML = `
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
    options:
      ratelimit: {localRatelimit: {maxTokens: 5}}
    routes:
    - name: timed
      matchers: [{exact: /timed}]
      options: {timeout: 2s}
      routeAction: {single: {upstream: {name: up, namespace: gloo-system}, destinationSpec: {aws: {logicalName: fn}}}}
    - name: fixed
      matchers: [{exact: /fixed}]
      directResponseAction: {status: 200}
`

// The virtual host's bucket is one bucket for all its routes, it runs
// after the timeout, and it keeps counting across translations.
func TestRateLimitSharedAndKept(t *testing.T) {
	objs, err := resource.DecodeAll(strings.NewReader(rateLimitedYAML), "test")
	if err != nil {
		t.Fatal(err)
	}
	reg := ratelimit.NewRegistry()
	filters := func() (timed, fixed []pipeline.RequestFilter) {
		snap := Translate(FromObjects(objs), awscreds.NewResolver(), Env{Getenv: func(string) string { return "" }, RateLimits: reg})
		vh := snap.HTTP.VirtualHosts()["gloo-system/vs"]
		if vh == nil || len(vh.Routes) != 2 {
			t.Fatalf("virtual host %+v, statuses %v", vh, snap.Statuses)
		}
		return pipeline.Of(vh.Routes[0]).Request, pipeline.Of(vh.Routes[1]).Request
	}
	timed, fixed := filters()
	if len(timed) != 2 || len(fixed) != 1 {
		t.Fatalf("filters: timed %v, fixed %v", timed, fixed)
	}
	if _, ok := timed[0].(pipeline.Timeout); !ok {
		t.Fatalf("timed: first filter %T, want the timeout", timed[0])
	}
	if timed[1] != fixed[0] {
		t.Fatal("the virtual host's limit is not one filter for its routes")
	}
	again, _ := filters()
	if again[1].(*ratelimit.Local).String() != timed[1].(*ratelimit.Local).String() {
		t.Fatal("configuration changed")
	}
	// Drain the bucket through the first snapshot's filter: the second
	// snapshot's filter finds it empty.
	x := &pipeline.Exchange{}
	for i := 0; i < 5; i++ {
		if err := timed[1].FilterRequest(nil, nil, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := again[1].FilterRequest(nil, nil, x); err != ratelimit.ErrLimited {
		t.Fatalf("after a rebuild the bucket was refilled: %v", err)
	}
}
