package translate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// Route tables that each delegate twice to the next multiply their routes
// (2^30 here) without a cycle: the expansion stops at maxDelegatedRoutes
// and says so, instead of running out of time or memory.
func TestDelegationFanOutIsBounded(t *testing.T) {
	var y strings.Builder
	const depth = 30
	for d := 0; d < depth; d++ {
		fmt.Fprintf(&y, "---\napiVersion: gateway.solo.io/v1\nkind: RouteTable\nmetadata: {name: t%d}\nspec:\n  routes:\n", d)
		if d == depth-1 {
			y.WriteString("  - directResponseAction: {status: 200}\n")
			continue
		}
		for range 2 {
			fmt.Fprintf(&y, "  - delegateAction: {ref: {name: t%d}}\n", d+1)
		}
	}
	y.WriteString("---\napiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: vs}\nspec:\n  virtualHost:\n    routes:\n    - delegateAction: {ref: {name: t0}}\n")
	objs, err := resource.DecodeAll(strings.NewReader(y.String()), "test")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	snap := Translate(FromObjects(objs), awscreds.NewResolver(), Env{Getenv: func(string) string { return "" }})
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("translation took %s", took)
	}
	st := snap.Statuses["VirtualService gloo-system/vs"]
	if st.State != "Warning" || !strings.Contains(st.Reason, fmt.Sprintf("delegation reaches more than %d routes", maxDelegatedRoutes)) {
		t.Errorf("status %s: %.300s", st.State, st.Reason)
	}
	if snap.Routes == 0 || snap.Routes > maxDelegatedRoutes {
		t.Errorf("%d routes served, want between 1 and %d", snap.Routes, maxDelegatedRoutes)
	}
}
