package router

import (
	"net/http"
	"sort"
)

// minIndexed is the number of matchers from which a virtual host gets an
// index: below it a scan is as fast as the lookups (BenchmarkMatch).
const minIndexed = 16

// index narrows the matchers a path can satisfy, so that matching 10,000
// routes costs a few map lookups instead of a scan. It never changes the
// result: every candidate is still checked in full, and among those that
// match, the first in written order wins, as in a scan.
type index struct {
	// flat lists every matcher in written order; the maps below hold
	// ordinals into it, ascending.
	flat []flatMatcher
	// exact and prefix hold case-sensitive paths; exactCI and prefixCI hold
	// case-insensitive ones lower-cased (ASCII only: see Match). A regex
	// with a literal prefix is filed under that prefix.
	exact, exactCI, prefix, prefixCI map[string][]int32
	// lens are the distinct key lengths of prefix and prefixCI, ascending.
	lens []int
	// always are the matchers with nothing to index by (a regex without a
	// literal prefix, a non-ASCII case-insensitive path); always checked.
	always []int32
	// hasCI says whether any key is case-insensitive.
	hasCI bool
}

type flatMatcher struct {
	rt *Route
	m  *Matcher
}

func buildIndex(vh *VirtualHost) *index {
	n := 0
	for _, rt := range vh.Routes {
		n += len(rt.Matchers)
	}
	if n < minIndexed {
		return nil
	}
	ix := &index{
		flat:  make([]flatMatcher, 0, n),
		exact: map[string][]int32{}, exactCI: map[string][]int32{},
		prefix: map[string][]int32{}, prefixCI: map[string][]int32{},
	}
	lens := map[int]bool{}
	add := func(m map[string][]int32, key string, ord int32, isPrefix bool) {
		m[key] = append(m[key], ord)
		if isPrefix {
			lens[len(key)] = true
		}
	}
	for _, rt := range vh.Routes {
		for _, m := range rt.Matchers {
			ord := int32(len(ix.flat))
			ix.flat = append(ix.flat, flatMatcher{rt, m})
			switch {
			case m.Kind == PathRegex:
				// The expression is anchored at the start (CompileRegex),
				// so a match starts with its literal prefix.
				if p, _ := m.Regex.LiteralPrefix(); p != "" {
					add(ix.prefix, p, ord, true)
				} else {
					ix.always = append(ix.always, ord)
				}
			case !m.CaseSensitive && !isASCII(m.Path):
				ix.always = append(ix.always, ord)
			case m.Kind == PathExact && m.CaseSensitive:
				add(ix.exact, m.Path, ord, false)
			case m.Kind == PathExact:
				add(ix.exactCI, lowerASCII(m.Path), ord, false)
				ix.hasCI = true
			case m.CaseSensitive:
				add(ix.prefix, m.Path, ord, true)
			default:
				add(ix.prefixCI, lowerASCII(m.Path), ord, true)
				ix.hasCI = true
			}
		}
	}
	for l := range lens {
		ix.lens = append(ix.lens, l)
	}
	sort.Ints(ix.lens)
	return ix
}

// match returns the first matcher in written order that accepts the
// request; ok is false when the index cannot decide (the caller scans).
func (ix *index) match(r *http.Request, path string) (rt *Route, m *Matcher, ok bool) {
	lower := path
	if ix.hasCI {
		if !isASCII(path) {
			// strings.EqualFold folds Unicode (the Kelvin sign matches
			// "k"); lower-cased ASCII keys cannot find those, so scan.
			return nil, nil, false
		}
		lower = lowerASCII(path)
	}
	best := int32(len(ix.flat))
	var query map[string][]string
	try := func(ords []int32) {
		for _, o := range ords {
			if o >= best {
				return
			}
			m := ix.flat[o].m
			if m.Query != nil && query == nil {
				query = r.URL.Query()
			}
			if m.matches(r, path, query) {
				best = o
				return
			}
		}
	}
	try(ix.exact[path])
	if ix.hasCI {
		try(ix.exactCI[lower])
	}
	for _, l := range ix.lens {
		if l > len(path) {
			break
		}
		try(ix.prefix[path[:l]])
		if ix.hasCI {
			try(ix.prefixCI[lower[:l]])
		}
	}
	try(ix.always)
	if best == int32(len(ix.flat)) {
		return nil, nil, true
	}
	f := ix.flat[best]
	return f.rt, f.m, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases A-Z only; it returns s itself when nothing changes.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && !(s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
