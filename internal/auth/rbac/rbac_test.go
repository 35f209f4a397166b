package rbac

import (
	"net/http/httptest"
	"testing"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/transform"
)

func TestPolicies(t *testing.T) {
	claims := map[string]any{
		"sub": "alice", "email_verified": true, "groups": []any{"admins", "dev"},
		"scope": "orders:read orders:write", "org": map[string]any{"team": "payments"},
	}
	principal := func(m gateway.ClaimMatcher, claims map[string]string) gateway.RbacPrincipal {
		return gateway.RbacPrincipal{JwtPrincipal: &gateway.JWTPrincipal{Claims: claims, Matcher: m}}
	}
	tests := []struct {
		name     string
		policies map[string]gateway.RbacPolicy
		method   string
		path     string
		claims   map[string]any
		provider string
		allowed  bool
	}{
		{"exact string", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal("", map[string]string{"sub": "alice"})}}}, "GET", "/", claims, "", true},
		{"exact string mismatch", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal("", map[string]string{"sub": "bob"})}}}, "GET", "/", claims, "", false},
		{"every claim must match", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal("", map[string]string{"sub": "alice", "missing": "x"})}}}, "GET", "/", claims, "", false},
		{"boolean", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal(gateway.ClaimBoolean, map[string]string{"email_verified": "true"})}}}, "GET", "/", claims, "", true},
		{"boolean false", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal(gateway.ClaimBoolean, map[string]string{"email_verified": "false"})}}}, "GET", "/", claims, "", false},
		{"list contains", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal(gateway.ClaimListContains, map[string]string{"groups": "admins"})}}}, "GET", "/", claims, "", true},
		{"scope contains", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal(gateway.ClaimListContains, map[string]string{"scope": "orders:write"})}}}, "GET", "/", claims, "", true},
		{"scope lacks", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal(gateway.ClaimListContains, map[string]string{"scope": "orders:delete"})}}}, "GET", "/", claims, "", false},
		{"nested claim", map[string]gateway.RbacPolicy{"p": {NestedClaimDelimiter: ".", Principals: []gateway.RbacPrincipal{principal("", map[string]string{"org.team": "payments"})}}}, "GET", "/", claims, "", true},
		{"nested claim without delimiter", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal("", map[string]string{"org.team": "payments"})}}}, "GET", "/", claims, "", false},
		{"provider", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{{JwtPrincipal: &gateway.JWTPrincipal{Provider: "idp"}}}}}, "GET", "/", claims, "idp", true},
		{"other provider", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{{JwtPrincipal: &gateway.JWTPrincipal{Provider: "idp"}}}}}, "GET", "/", claims, "other", false},
		{"permissions", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal("", nil)}, Permissions: &gateway.RbacPermissions{PathPrefix: "/orders", Methods: []string{"get"}}}}, "GET", "/orders/1", claims, "", true},
		{"permissions path", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal("", nil)}, Permissions: &gateway.RbacPermissions{PathPrefix: "/orders"}}}, "GET", "/users", claims, "", false},
		{"permissions method", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal("", nil)}, Permissions: &gateway.RbacPermissions{Methods: []string{"GET"}}}}, "DELETE", "/", claims, "", false},
		{"any policy", map[string]gateway.RbacPolicy{
			"a": {Principals: []gateway.RbacPrincipal{principal("", map[string]string{"sub": "bob"})}},
			"b": {Principals: []gateway.RbacPrincipal{principal("", map[string]string{"sub": "alice"})}}}, "GET", "/", claims, "", true},
		{"no token", map[string]gateway.RbacPolicy{"p": {Principals: []gateway.RbacPrincipal{principal("", nil)}}}, "GET", "/", nil, "", false},
		{"no policy", nil, "GET", "/", claims, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x pipeline.Exchange
			if tc.claims != nil {
				x.Auth, x.JWTProvider = &transform.Authorizer{Claims: tc.claims}, tc.provider
			}
			err := New(tc.policies).FilterRequest(nil, httptest.NewRequest(tc.method, tc.path, nil), &x)
			if tc.allowed != (err == nil) {
				t.Fatalf("error %v, want allowed=%v", err, tc.allowed)
			}
			if err != nil {
				if status, code, _, hdr := httperr.Map(err); status != 403 || code != "Forbidden" || hdr.Get("Www-Authenticate") != `Bearer error="insufficient_scope"` {
					t.Errorf("mapped to %d %s %v", status, code, hdr)
				}
				if httperr.DeniedReason(err) != ReasonDenied {
					t.Errorf("reason %q", httperr.DeniedReason(err))
				}
			}
		})
	}
}
