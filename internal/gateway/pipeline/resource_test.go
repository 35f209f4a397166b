package pipeline

import (
	"testing"

	"github.com/lambdagate/lambdagate/internal/router"
)

// A prefix route is API Gateway's greedy resource under the prefix, and
// {proxy+} only ever holds whole segments: a prefix match that does not end
// at a segment boundary is the root greedy resource, the prefix itself is
// its own resource.
func TestResourceOfPrefixHoldsWholeSegments(t *testing.T) {
	for _, tc := range []struct {
		prefix, path    string
		caseSensitive   bool
		resource, proxy string // proxy "" means no path parameters
	}{
		{"/api", "/api/x", true, "/api/{proxy+}", "x"},
		{"/api", "/api/users/42", true, "/api/{proxy+}", "users/42"},
		{"/api/", "/api/users/42", true, "/api/{proxy+}", "users/42"},
		{"/api", "/api", true, "/api", ""},
		{"/api", "/api/", true, "/api", ""},
		{"/api/", "/api/", true, "/api", ""},
		{"/api", "/apiary/x", true, "/{proxy+}", "apiary/x"},
		{"/api", "/apiusers/42", true, "/{proxy+}", "apiusers/42"},
		{"/api", "/API/x", false, "/api/{proxy+}", "x"},
		{"/api", "/APIary", false, "/{proxy+}", "APIary"},
		{"/", "/", true, "/", ""},
		{"/", "/x/y", true, "/{proxy+}", "x/y"},
		// Case folding that changes the byte length (K and the Kelvin sign)
		// never splits a segment.
		{"/\u212aelvin", "/kelvin/x", false, "/{proxy+}", "kelvin/x"},
	} {
		t.Run(tc.prefix+" "+tc.path, func(t *testing.T) {
			m := &router.Matcher{Kind: router.PathPrefix, Path: tc.prefix, CaseSensitive: tc.caseSensitive}
			res, params := ResourceOf(m, tc.path)
			if res != tc.resource {
				t.Errorf("resource %q, want %q", res, tc.resource)
			}
			if got := params["proxy"]; got != tc.proxy || (tc.proxy == "") != (params == nil) {
				t.Errorf("path parameters %v, want proxy %q", params, tc.proxy)
			}
		})
	}
}
