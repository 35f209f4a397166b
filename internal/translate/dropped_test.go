package translate

import (
	"strings"
	"testing"
)

func TestDroppedRoutes(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   int
	}{
		{"", 0},
		{"spec.virtualHost.routes[0]: upstream gloo-system/x not found (route dropped)", 1},
		{"spec.virtualHost.routes[0]: a (route dropped); spec.virtualHost.routes[0]: b (route dropped); spec.virtualHost.routes[3]: c (route dropped)", 2},
		{"spec.virtualHost.routes[1]: no logicalName set; using the first function \"echo\" (fallbackToFirstFunction)", 0},
		{"spec.virtualHost.domains: domain \"*\" is already served by VirtualService gloo-system/a", 0},
		// A delegating route some of whose delegated routes still serve.
		{"spec.virtualHost.routes[2]: RouteTable gloo-system/t spec.routes[1]: upstream gloo-system/x not found (delegated route dropped)", 0},
	} {
		if got := DroppedRoutes(tc.reason); got != tc.want {
			t.Errorf("DroppedRoutes(%q) = %d, want %d", tc.reason, got, tc.want)
		}
	}
}

// FuzzDroppedRoutes: a status reason read back from the store never makes
// the count panic or exceed the routes it names.
func FuzzDroppedRoutes(f *testing.F) {
	f.Add("spec.virtualHost.routes[0]: a (route dropped); spec.virtualHost.routes[2]: b (route dropped)")
	f.Add("spec.virtualHost.routes[]: (route dropped)")
	f.Fuzz(func(t *testing.T, reason string) {
		if n := DroppedRoutes(reason); n < 0 || n > strings.Count(reason, "spec.virtualHost.routes[") {
			t.Fatalf("DroppedRoutes(%q) = %d", reason, n)
		}
	})
}
