package router

import (
	"net/http"
	"net/url"
	"testing"
)

// FuzzMatch feeds arbitrary hosts, paths, queries and headers to a table
// with every matcher kind: matching must never panic, and a match must be
// one of the table's routes.
func FuzzMatch(f *testing.F) {
	f.Add("example.com:8080", "/a/b", "x=1&y", "X-V", "v1", "GET")
	f.Add("API.EXAMPLE.COM", "/a%2Fb/../c", "%zz=&=", "x-v", "\xff", "\x00")
	f.Add("[::1]:80", "//..//./%2e%2E/", "a=b;c", "", "", "POST")
	exp, err := CompileRegex(`/re/(?P<id>[0-9]+)`, true)
	if err != nil {
		f.Fatal(err)
	}
	b := NewBuilder()
	vh := &VirtualHost{Name: "ns/vs", Routes: []*Route{
		{Name: "exact", Matchers: []*Matcher{{Kind: PathExact, Path: "/a/b", CaseSensitive: true}}},
		{Name: "header", Matchers: []*Matcher{{Kind: PathPrefix, Path: "/h", Headers: []HeaderMatcher{{Name: "X-V", Value: "v1"}, {Name: "X-Not", Invert: true}}}}},
		{Name: "query", Matchers: []*Matcher{{Kind: PathPrefix, Path: "/q", Query: []QueryMatcher{{Name: "x", Value: "1"}}, Methods: []string{"GET"}}}},
		{Name: "regex", Matchers: []*Matcher{{Kind: PathRegex, Regex: exp}}},
		{Name: "prefix", Matchers: []*Matcher{{Kind: PathPrefix, Path: "/"}}},
	}}
	b.Add(vh, []string{"example.com", "*.example.com", "api.*", "*"})
	table := b.Build()
	f.Fuzz(func(t *testing.T, host, rawPath, query, hname, hvalue, method string) {
		r := &http.Request{Method: method, Host: host, URL: &url.URL{Path: rawPath, RawPath: rawPath, RawQuery: query}, Header: http.Header{}}
		if hname != "" {
			r.Header[http.CanonicalHeaderKey(hname)] = []string{hvalue}
		}
		got := table.Host(host)
		if got == nil {
			return
		}
		path := NormalizePath(rawPath)
		rt, m := got.Match(r, path)
		if rt == nil {
			return
		}
		if m == nil {
			t.Fatalf("route %s matched without a matcher", rt.Name)
		}
		found := false
		for _, x := range vh.Routes {
			found = found || x == rt
		}
		if !found {
			t.Fatalf("matched a route that is not in the table: %+v", rt)
		}
	})
}
