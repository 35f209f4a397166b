package router

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// benchHost has n routes: n-1 fillers (prefix, exact and regex in turn)
// that never match "/echo", then the exact route "/echo" last.
func benchHost(b *testing.B, n int) *VirtualHost {
	vh := &VirtualHost{Name: "ns/bench"}
	for i := range n - 1 {
		var m *Matcher
		switch i % 3 {
		case 0:
			m = &Matcher{Kind: PathPrefix, Path: fmt.Sprintf("/p%d/", i), CaseSensitive: true}
		case 1:
			m = &Matcher{Kind: PathExact, Path: fmt.Sprintf("/e%d", i), CaseSensitive: true}
		default:
			re, err := CompileRegex(fmt.Sprintf("/g%d/[0-9]+", i), true)
			if err != nil {
				b.Fatal(err)
			}
			m = &Matcher{Kind: PathRegex, Regex: re, CaseSensitive: true}
		}
		vh.Routes = append(vh.Routes, &Route{Name: fmt.Sprint(i), Matchers: []*Matcher{m}})
	}
	vh.Routes = append(vh.Routes, &Route{Name: "echo", Matchers: []*Matcher{{Kind: PathExact, Path: "/echo", CaseSensitive: true}}})
	bd := NewBuilder()
	bd.Add(vh, []string{"*"})
	bd.Build()
	return vh
}

// BenchmarkMatch: the matched route is last. "scan" is the same table
// without its index, for comparison.
func BenchmarkMatch(b *testing.B) {
	r := &http.Request{Method: "POST", URL: &url.URL{Path: "/echo"}, Header: http.Header{}}
	for _, n := range []int{1, 100, 10000} {
		vh := benchHost(b, n)
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rt, _ := vh.Match(r, "/echo"); rt == nil || rt.Name != "echo" {
					b.Fatal("no match")
				}
			}
		})
		b.Run(fmt.Sprintf("routes=%d/scan", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rt, _ := vh.scan(r, "/echo"); rt == nil || rt.Name != "echo" {
					b.Fatal("no match")
				}
			}
		})
	}
}

func BenchmarkNormalizePath(b *testing.B) {
	for _, p := range []string{"/echo", "/a/b/../c/%7Euser/%2f"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = NormalizePath(p)
			}
		})
	}
}
