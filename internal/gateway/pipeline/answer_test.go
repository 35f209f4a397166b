package pipeline

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/router"
)

// TestRedirectLocation: each of Gloo's redirectAction fields changes only
// its part of the request's URL; default ports are left out.
func TestRedirectLocation(t *testing.T) {
	prefix := &router.Matcher{Kind: router.PathPrefix, Path: "/old"}
	exact := &router.Matcher{Kind: router.PathExact, Path: "/exact"}
	tests := []struct {
		name                  string
		rd                    Redirect
		scheme, host, path, q string
		m                     *router.Matcher
		want                  string
	}{
		{"nothing changed", Redirect{}, "http", "a.example.com:8080", "/p", "x=1", prefix, "http://a.example.com:8080/p?x=1"},
		{"https drops the listener port", Redirect{Scheme: "https", DropPort: true}, "http", "a.example.com:8080", "/p", "x=1", prefix, "https://a.example.com/p?x=1"},
		{"https with a port", Redirect{Scheme: "https", DropPort: true, Port: "8443"}, "http", "a.example.com:8080", "/p", "", prefix, "https://a.example.com:8443/p"},
		{"default port left out", Redirect{Port: "80"}, "http", "a.example.com:8080", "/p", "", prefix, "http://a.example.com/p"},
		{"host keeps the request port", Redirect{Host: "b.example.com"}, "http", "a.example.com:8080", "/p", "", prefix, "http://b.example.com:8080/p"},
		{"host with its own port", Redirect{Host: "b.example.com:9000"}, "http", "a.example.com:8080", "/p", "", prefix, "http://b.example.com:9000/p"},
		{"path redirect keeps the query", Redirect{Path: "/new"}, "http", "a", "/p", "x=1", prefix, "http://a/new?x=1"},
		{"path redirect with a query", Redirect{Path: "/new", PathQuery: "y=2", PathHasQuery: true}, "http", "a", "/p", "x=1", prefix, "http://a/new?y=2"},
		{"prefix rewrite", Redirect{PrefixRewrite: "/new"}, "http", "a", "/old/x", "", prefix, "http://a/new/x"},
		{"prefix rewrite of an exact match", Redirect{PrefixRewrite: "/new"}, "http", "a", "/exact", "", exact, "http://a/new"},
		{"regex rewrite", Redirect{RegexRewrite: regexp.MustCompile(`^/service/([^/]+)(/.*)$`), Substitution: Substitution(`\2/instance/\1`)}, "http", "a", "/service/foo/v1/api", "", prefix, "http://a/v1/api/instance/foo"},
		{"regex rewrite keeps a literal $", Redirect{RegexRewrite: regexp.MustCompile(`one`), Substitution: Substitution(`$two`)}, "http", "a", "/one", "", prefix, "http://a/$two"},
		{"strip query", Redirect{StripQuery: true}, "https", "a", "/p", "x=1", prefix, "https://a/p"},
		{"IPv6 host", Redirect{Scheme: "https", DropPort: true}, "http", "[::1]:8080", "/p", "", prefix, "https://[::1]/p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rd.Location(tc.scheme, tc.host, tc.path, tc.q, tc.m); got != tc.want {
				t.Errorf("Location = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzRedirectLocation: whatever Host and path a client sends, the
// Location is an absolute URL with the configured scheme and host, and no
// CR or LF.
func FuzzRedirectLocation(f *testing.F) {
	f.Add("a.example.com:8080", "/old/x", "q=1")
	f.Add("[::1]", "/", "")
	f.Add("a:b:c", "//evil", "x")
	rd := &Redirect{Scheme: "https", DropPort: true, Host: "secure.example.com", PrefixRewrite: "/new"}
	m := &router.Matcher{Kind: router.PathPrefix, Path: "/old"}
	f.Fuzz(func(t *testing.T, host, path, q string) {
		if strings.ContainsAny(host+path+q, "\r\n") || !strings.HasPrefix(path, "/") {
			t.Skip() // net/http refuses these; routed paths start with "/"
		}
		loc := rd.Location("http", host, path, q, m)
		u, err := url.Parse(loc)
		if err != nil {
			t.Skip() // the client's own unparsable path bytes, kept as sent
		}
		if u.Scheme != "https" || u.Host != "secure.example.com" {
			t.Errorf("Location %q: scheme %q host %q", loc, u.Scheme, u.Host)
		}
	})
}
