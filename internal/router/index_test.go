package router

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// indexedHost is a virtual host with every kind of matcher the index files
// differently, in an order where earlier, broader routes must win.
func indexedHost(t testing.TB) *VirtualHost {
	t.Helper()
	re := func(expr string, cs bool) *Matcher {
		r, err := CompileRegex(expr, cs)
		if err != nil {
			t.Fatal(err)
		}
		return &Matcher{Kind: PathRegex, Regex: r, CaseSensitive: cs}
	}
	ms := []*Matcher{
		{Kind: PathExact, Path: "/get-only", CaseSensitive: true, Methods: []string{"GET"}},
		{Kind: PathPrefix, Path: "/hdr/", CaseSensitive: true, Headers: []HeaderMatcher{{Name: "X-V", Value: "1"}}},
		{Kind: PathPrefix, Path: "/q/", CaseSensitive: true, Query: []QueryMatcher{{Name: "a", Value: "1"}}},
		re(`/users/[0-9]+`, true),
		re(`/Mixed/[a-z]+`, false),
		re(`[a-z/]+\.json`, true), // no literal prefix
		{Kind: PathExact, Path: "/Exact", CaseSensitive: false},
		{Kind: PathPrefix, Path: "/CI/", CaseSensitive: false},
		{Kind: PathPrefix, Path: "/\u212aelvin", CaseSensitive: false}, // non-ASCII
		{Kind: PathExact, Path: "/kelvin", CaseSensitive: false},
		{Kind: PathPrefix, Path: "/a/b/", CaseSensitive: true},
		{Kind: PathPrefix, Path: "/a/", CaseSensitive: true},
		{Kind: PathExact, Path: "/a/b/c", CaseSensitive: true}, // shadowed by /a/b/
		{Kind: PathPrefix, Path: "/get-only", CaseSensitive: true},
		{Kind: PathPrefix, Path: "/users/", CaseSensitive: true},
		{Kind: PathPrefix, Path: "/hdr/", CaseSensitive: true},
		{Kind: PathPrefix, Path: "/q/", CaseSensitive: true},
		{Kind: PathPrefix, Path: "/", CaseSensitive: true, Methods: []string{"DELETE"}},
	}
	vh := &VirtualHost{Name: "ns/vs"}
	for i, m := range ms {
		vh.Routes = append(vh.Routes, &Route{Name: fmt.Sprintf("r%d", i), Matchers: []*Matcher{m}})
	}
	// One route with two matchers, exact and regex.
	vh.Routes = append(vh.Routes, &Route{Name: "two", Matchers: []*Matcher{{Kind: PathExact, Path: "/two", CaseSensitive: true}, re(`/deux/.*`, true)}})
	b := NewBuilder()
	b.Add(vh, nil)
	b.Build()
	if vh.ix == nil {
		t.Fatal("no index built")
	}
	return vh
}

func matchName(rt *Route, m *Matcher) string {
	if rt == nil {
		return "<none>"
	}
	for i, x := range rt.Matchers {
		if x == m {
			return fmt.Sprintf("%s[%d]", rt.Name, i)
		}
	}
	return rt.Name + "[?]"
}

func TestIndexMatchesScan(t *testing.T) {
	vh := indexedHost(t)
	tests := []struct {
		method, path, query string
		header              string
		want                string
	}{
		{"GET", "/get-only", "", "", "r0[0]"},
		{"POST", "/get-only", "", "", "r13[0]"},
		{"GET", "/hdr/x", "", "1", "r1[0]"},
		{"GET", "/hdr/x", "", "", "r15[0]"},
		{"GET", "/q/x", "a=1", "", "r2[0]"},
		{"GET", "/q/x", "a=2", "", "r16[0]"},
		{"GET", "/users/42", "", "", "r3[0]"},
		{"GET", "/users/abc", "", "", "r14[0]"},
		{"GET", "/mixed/abc", "", "", "r4[0]"},
		{"GET", "/MIXED/abc", "", "", "r4[0]"},
		{"GET", "/x/y.json", "", "", "r5[0]"},
		{"GET", "/exact", "", "", "r6[0]"},
		{"GET", "/EXACT", "", "", "r6[0]"},
		{"GET", "/ci/z", "", "", "r7[0]"},
		{"GET", "/kelvin", "", "", "r9[0]"},        // the byte lengths differ, so the earlier "/\u212aelvin" prefix does not apply
		{"GET", "/\u212aelvin", "", "", "r8[0]"},   // non-ASCII path: scanned
		{"GET", "/\u212aELVIN/x", "", "", "r8[0]"}, // non-ASCII path: scanned
		{"GET", "/a/b/c", "", "", "r10[0]"},
		{"GET", "/a/c", "", "", "r11[0]"},
		{"GET", "/two", "", "", "two[0]"},
		{"GET", "/deux/x", "", "", "two[1]"},
		{"DELETE", "/nothing", "", "", "r17[0]"},
		{"GET", "/nothing", "", "", "<none>"},
		{"GET", "/", "", "", "<none>"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path+"?"+tc.query, func(t *testing.T) {
			r := &http.Request{Method: tc.method, URL: &url.URL{Path: tc.path, RawQuery: tc.query}, Header: http.Header{}}
			if tc.header != "" {
				r.Header["X-V"] = []string{tc.header}
			}
			got := matchName(vh.Match(r, tc.path))
			if got != tc.want {
				t.Errorf("indexed match %s, want %s", got, tc.want)
			}
			if scanned := matchName(vh.scan(r, tc.path)); scanned != tc.want {
				t.Errorf("scan %s, want %s", scanned, tc.want)
			}
		})
	}
}

// FuzzIndexMatchesScan: the index must pick exactly what a scan picks.
func FuzzIndexMatchesScan(f *testing.F) {
	f.Add("GET", "/users/1", "a=1", "1")
	f.Add("DELETE", "/\u212aelvin", "", "")
	f.Add("GET", "/CI/x", "a=2", "")
	vh := indexedHost(f)
	f.Fuzz(func(t *testing.T, method, rawPath, query, hv string) {
		path := NormalizePath(rawPath)
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{"X-V": {hv}}}
		got, want := matchName(vh.Match(r, path)), matchName(vh.scan(r, path))
		if got != want {
			t.Fatalf("%s %q: indexed %s, scan %s", method, path, got, want)
		}
	})
}
