package translate

import (
	"maps"
	"slices"
	"strings"
	"testing"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// TestStatusesMergeRuntimeConditions: a route's runtime warning joins the
// route's own warning in one problem, a route without one gets its own,
// in route order after the resource-level warnings; nothing changes
// without conditions; a status the last-good policy rejected is left as
// it is; translation itself never depends on the conditions.
func TestStatusesMergeRuntimeConditions(t *testing.T) {
	const y = `
apiVersion: gloo.solo.io/v1
kind: Settings
metadata: {name: default, namespace: gloo-system}
spec: {gloo: {awsOptions: {fallbackToFirstFunction: true}}}
---
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
    - name: plain
      matchers: [{exact: /plain}]
      routeAction: {single: {upstream: {name: up, namespace: gloo-system}, destinationSpec: {aws: {logicalName: fn}}}}
    - name: fallback
      matchers: [{exact: /fallback}]
      routeAction: {single: {upstream: {name: up, namespace: gloo-system}, destinationSpec: {aws: {logicalName: nope}}}}
`
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Getenv: func(string) string { return "" }}
	snap := Translate(FromObjects(objs), awscreds.NewResolver(), env)
	const vs, up = "VirtualService gloo-system/vs", "Upstream gloo-system/up"
	base := snap.Statuses[vs]
	want := `spec.virtualHost.routes[1]: function "nope" not found; using the first function "fn" (fallbackToFirstFunction)`
	if base.State != core.StateWarning || base.Reason != want {
		t.Fatalf("translated status %+v, want Warning %q", base, want)
	}

	if got := Statuses(snap.Statuses, snap.StatusInputs, Conditions{}); got[vs] != base || got[up] != snap.Statuses[up] {
		t.Errorf("without conditions: %+v", got)
	}

	conds := Conditions{
		Route:    func(vsKey, route string) string { return "404 for " + vsKey + " " + route },
		Upstream: func(key string) string { return "discovery failed for " + key },
	}
	got := Statuses(snap.Statuses, snap.StatusInputs, conds)
	wantVS := `spec.virtualHost.routes[0]: 404 for gloo-system/vs plain; ` + want + `; 404 for gloo-system/vs fallback`
	if got[vs].State != core.StateWarning || got[vs].Reason != wantVS {
		t.Errorf("merged virtual service status %+v, want Warning %q", got[vs], wantVS)
	}
	if got[up].State != core.StateWarning || got[up].Reason != "discovery failed for gloo-system/up" {
		t.Errorf("merged upstream status %+v", got[up])
	}
	if snap.Statuses[vs] != base {
		t.Error("Statuses modified its base")
	}

	rejected := map[string]core.Status{vs: {State: core.StateRejected, Reason: "bad (still serving generation 1, the last accepted)"}}
	if got := Statuses(rejected, snap.StatusInputs, conds); got[vs] != rejected[vs] {
		t.Errorf("a rejected status was merged: %+v", got[vs])
	}

	// A route filter's runtime problem (JWT keys that cannot be fetched)
	// joins the route's warning too, and leaves once it is solved.
	prob := &runtimeProblem{msg: "jwks down"}
	in := *snap.StatusInputs[vs]
	in.Routes = slices.Clone(in.Routes)
	in.Routes[0].Runtime = []snapshot.RuntimeProblem{prob}
	inputs := maps.Clone(snap.StatusInputs)
	inputs[vs] = &in
	if got := Statuses(snap.Statuses, inputs, Conditions{}); got[vs].Reason != "spec.virtualHost.routes[0]: jwks down; "+want {
		t.Errorf("with a filter's runtime problem: %+v", got[vs])
	}
	prob.msg = ""
	if got := Statuses(snap.Statuses, inputs, Conditions{}); got[vs] != base {
		t.Errorf("after the problem cleared: %+v", got[vs])
	}

	again := Translate(FromObjects(objs), awscreds.NewResolver(), env)
	if again.Statuses[vs] != base {
		t.Errorf("translating again gave %+v", again.Statuses[vs])
	}
}

type runtimeProblem struct{ msg string }

func (p *runtimeProblem) RuntimeProblem() string { return p.msg }
