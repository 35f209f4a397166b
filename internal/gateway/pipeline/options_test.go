package pipeline

import (
	"regexp"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/router"
)

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"deflate, br"}, false},
		{[]string{"br;q=1.0, gzip;q=0.8"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false},
		{[]string{"*;q=0, gzip;q=0.1"}, true},
		{[]string{"identity", "gzip"}, true},
		{[]string{"gzip;q=2"}, false},
		{[]string{"gzip;q=abc"}, false},
		{[]string{"gzip;level=1"}, true},
	} {
		if got := AcceptsGzip(tc.header); got != tc.want {
			t.Errorf("Accept-Encoding %q: %v, want %v", tc.header, got, tc.want)
		}
	}
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0.5, *;q=0", "br, x-gzip;q=1", ";;=,,q=", "*;q=1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AcceptsGzip([]string{s})
		// Adding a refusal of every coding never makes gzip acceptable
		// when gzip is not named.
		if !strings.Contains(strings.ToLower(s), "gzip") && AcceptsGzip([]string{s, "*;q=0"}) && !got {
			t.Errorf("%q plus *;q=0 accepts gzip", s)
		}
	})
}

func TestRewritePath(t *testing.T) {
	prefix := func(p string) *router.Matcher { return &router.Matcher{Kind: router.PathPrefix, Path: p} }
	exact := &router.Matcher{Kind: router.PathExact, Path: "/ping"}
	for _, tc := range []struct {
		rw   Rewrite
		m    *router.Matcher
		path string
		want string
	}{
		{Rewrite{Prefix: "/"}, prefix("/api/"), "/api/users", "/users"},
		{Rewrite{Prefix: "/"}, prefix("/api"), "/api/users", "//users"}, // Envoy's: mind the trailing slash
		{Rewrite{Prefix: ""}, prefix("/api"), "/api/users", "/users"},
		{Rewrite{Prefix: ""}, prefix("/api"), "/api", "/"},
		{Rewrite{Prefix: "/v2/"}, prefix("/v1/"), "/V1/x", "/v2/x"}, // a case-insensitive match
		{Rewrite{Prefix: "/health"}, exact, "/ping", "/health"},
		{Rewrite{Regex: regexp.MustCompile(`^/u/(\d+)$`), Substitution: Substitution(`/users/\1`)}, prefix("/u/"), "/u/7", "/users/7"},
		{Rewrite{Regex: regexp.MustCompile(`o`), Substitution: "0"}, prefix("/"), "/foo/boo", "/f00/b00"},
		{Rewrite{Regex: regexp.MustCompile(`^/strip`), Substitution: ""}, prefix("/"), "/strip", "/"},
	} {
		if got := tc.rw.Path(tc.path, tc.m); got != tc.want {
			t.Errorf("%+v on %q: %q, want %q", tc.rw, tc.path, got, tc.want)
		}
	}
}
