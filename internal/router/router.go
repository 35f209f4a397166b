// Package router matches requests to routes: a virtual host by domain, then
// the first route in written order whose matcher accepts the request, as
// Gloo and Envoy do.
package router

import (
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Table is an immutable set of virtual hosts, built once per snapshot.
type Table struct {
	exact    map[string]*VirtualHost
	suffixes []wildcard // "*.example.com", longest suffix first
	prefixes []wildcard // "api.*", longest prefix first
	any      *VirtualHost
}

type wildcard struct {
	s  string
	vh *VirtualHost
}

// VirtualHost is the compiled form of one virtual service's virtual host.
type VirtualHost struct {
	// Name is "namespace/name" of the virtual service.
	Name   string
	Routes []*Route
	// ix is built by Builder.Build; nil means scan (few routes, or a
	// VirtualHost not built through a Builder).
	ix *index
}

// Route is a compiled route. Target is opaque to the router.
type Route struct {
	// Name is the route's name, or "routes[i]" when it has none.
	Name     string
	Matchers []*Matcher
	Target   any
}

// PathKind says how a matcher compares the path.
type PathKind int

// Path match kinds.
const (
	PathPrefix PathKind = iota
	PathExact
	PathRegex
)

// Matcher is one compiled matcher. All of its conditions must hold.
type Matcher struct {
	Kind          PathKind
	Path          string // prefix or exact value
	Regex         *regexp.Regexp
	CaseSensitive bool
	Headers       []HeaderMatcher
	Query         []QueryMatcher
	Methods       []string
}

// HeaderMatcher matches one header. An empty Value with no Regex means
// "present".
type HeaderMatcher struct {
	Name   string // canonical form
	Value  string
	Regex  *regexp.Regexp
	Invert bool
}

// QueryMatcher matches one query parameter. An empty Value with no Regex
// means "present".
type QueryMatcher struct {
	Name  string
	Value string
	Regex *regexp.Regexp
}

// Builder collects virtual hosts into a Table.
type Builder struct {
	t *Table
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{t: &Table{exact: map[string]*VirtualHost{}}}
}

// Claimed returns the virtual host already serving domain, if any, so the
// caller can reject a duplicate.
func (b *Builder) Claimed(domain string) *VirtualHost {
	d := normDomain(domain)
	switch {
	case d == "*":
		return b.t.any
	case strings.HasPrefix(d, "*"):
		for _, w := range b.t.suffixes {
			if w.s == d[1:] {
				return w.vh
			}
		}
	case strings.HasSuffix(d, "*"):
		for _, w := range b.t.prefixes {
			if w.s == d[:len(d)-1] {
				return w.vh
			}
		}
	default:
		return b.t.exact[d]
	}
	return nil
}

// Add registers vh for domains. Callers check Claimed first.
func (b *Builder) Add(vh *VirtualHost, domains []string) {
	if len(domains) == 0 {
		domains = []string{"*"}
	}
	for _, dom := range domains {
		d := normDomain(dom)
		switch {
		case d == "*":
			b.t.any = vh
		case strings.HasPrefix(d, "*"):
			b.t.suffixes = append(b.t.suffixes, wildcard{d[1:], vh})
		case strings.HasSuffix(d, "*"):
			b.t.prefixes = append(b.t.prefixes, wildcard{d[:len(d)-1], vh})
		default:
			b.t.exact[d] = vh
		}
	}
}

// Build returns the finished table.
func (b *Builder) Build() *Table {
	t := b.t
	// Envoy picks the longest wildcard; sorting once makes lookup a scan
	// that stops at the first hit.
	sort.SliceStable(t.suffixes, func(i, j int) bool { return len(t.suffixes[i].s) > len(t.suffixes[j].s) })
	sort.SliceStable(t.prefixes, func(i, j int) bool { return len(t.prefixes[i].s) > len(t.prefixes[j].s) })
	seen := map[*VirtualHost]bool{}
	index := func(vh *VirtualHost) {
		if vh != nil && !seen[vh] {
			seen[vh] = true
			vh.ix = buildIndex(vh)
		}
	}
	for _, vh := range t.exact {
		index(vh)
	}
	for _, w := range t.suffixes {
		index(w.vh)
	}
	for _, w := range t.prefixes {
		index(w.vh)
	}
	index(t.any)
	b.t = nil
	return t
}

func normDomain(d string) string {
	return strings.ToLower(d)
}

// VirtualHosts returns each virtual host once, by name.
func (t *Table) VirtualHosts() map[string]*VirtualHost {
	out := map[string]*VirtualHost{}
	if t == nil {
		return out
	}
	for _, vh := range t.exact {
		out[vh.Name] = vh
	}
	for _, w := range t.suffixes {
		out[w.vh.Name] = w.vh
	}
	for _, w := range t.prefixes {
		out[w.vh.Name] = w.vh
	}
	if t.any != nil {
		out[t.any.Name] = t.any
	}
	return out
}

// Empty reports whether the table serves no virtual host.
func (t *Table) Empty() bool {
	return t == nil || (len(t.exact) == 0 && len(t.suffixes) == 0 && len(t.prefixes) == 0 && t.any == nil)
}

// Host finds the virtual host for a Host header value. Envoy's order:
// exact, then the longest suffix wildcard, then the longest prefix
// wildcard, then "*". A domain written with a port matches only that port;
// one without matches any port.
func (t *Table) Host(host string) *VirtualHost {
	if t == nil {
		return nil
	}
	h := strings.ToLower(host)
	bare := h
	// Only a host with a port is split: SplitHostPort's error for one
	// without would be an allocation per request.
	if strings.LastIndexByte(h, ':') > strings.LastIndexByte(h, ']') {
		if hh, _, err := net.SplitHostPort(h); err == nil {
			bare = hh
			if vh := t.exact[h]; vh != nil {
				return vh
			}
		}
	}
	if vh := t.exact[bare]; vh != nil {
		return vh
	}
	for _, w := range t.suffixes {
		if len(bare) > len(w.s) && strings.HasSuffix(bare, w.s) {
			return w.vh
		}
	}
	for _, w := range t.prefixes {
		if len(bare) > len(w.s) && strings.HasPrefix(bare, w.s) {
			return w.vh
		}
	}
	return t.any
}

// Match returns the first route of vh that matches, or nil. path is the
// normalized path (see NormalizePath), without the query.
func (vh *VirtualHost) Match(r *http.Request, path string) (*Route, *Matcher) {
	if vh == nil {
		return nil, nil
	}
	if vh.ix != nil {
		if rt, m, ok := vh.ix.match(r, path); ok {
			return rt, m
		}
	}
	return vh.scan(r, path)
}

// scan checks every matcher in written order.
func (vh *VirtualHost) scan(r *http.Request, path string) (*Route, *Matcher) {
	var query map[string][]string
	for _, rt := range vh.Routes {
		for _, m := range rt.Matchers {
			if m.Query != nil && query == nil {
				query = r.URL.Query()
			}
			if m.matches(r, path, query) {
				return rt, m
			}
		}
	}
	return nil, nil
}

func (m *Matcher) matches(r *http.Request, path string, query map[string][]string) bool {
	switch m.Kind {
	case PathPrefix:
		if m.CaseSensitive {
			if !strings.HasPrefix(path, m.Path) {
				return false
			}
		} else if len(path) < len(m.Path) || !strings.EqualFold(path[:len(m.Path)], m.Path) {
			return false
		}
	case PathExact:
		if m.CaseSensitive {
			if path != m.Path {
				return false
			}
		} else if !strings.EqualFold(path, m.Path) {
			return false
		}
	case PathRegex:
		if !m.Regex.MatchString(path) {
			return false
		}
	}
	if len(m.Methods) > 0 {
		ok := false
		for _, meth := range m.Methods {
			if meth == r.Method {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for i := range m.Headers {
		if !m.Headers[i].matches(r.Header) {
			return false
		}
	}
	for i := range m.Query {
		if !m.Query[i].matches(query) {
			return false
		}
	}
	return true
}

func (h *HeaderMatcher) matches(hdr http.Header) bool {
	vals, present := hdr[h.Name]
	var ok bool
	switch {
	case !present:
		ok = false
	case h.Regex != nil:
		// Envoy matches the header's combined value.
		ok = h.Regex.MatchString(strings.Join(vals, ","))
	case h.Value == "":
		ok = true
	default:
		ok = strings.Join(vals, ",") == h.Value
	}
	return ok != h.Invert
}

func (q *QueryMatcher) matches(query map[string][]string) bool {
	vals, present := query[q.Name]
	if !present {
		return false
	}
	v := vals[0]
	switch {
	case q.Regex != nil:
		return q.Regex.MatchString(v)
	case q.Value == "":
		return true
	default:
		return v == q.Value
	}
}

// CompileRegex compiles an RE2 expression anchored to match the whole
// input, as Envoy's safe_regex does.
// Compiled expressions are shared between snapshots (a *regexp.Regexp is
// safe for concurrent use), so that a configuration change compiles only
// the expressions it adds: with thousands of regex routes, compiling was
// a quarter of a snapshot's build.
func CompileRegex(expr string, caseSensitive bool) (*regexp.Regexp, error) {
	flags := ""
	if !caseSensitive {
		flags = "(?i)"
	}
	src := flags + `^(?:` + expr + `)$`
	compiled.Lock()
	re, ok := compiled.m[src]
	compiled.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	compiled.Lock()
	if len(compiled.m) >= maxCompiled {
		// Bounded: expressions of routes long removed go; the current
		// ones come back on the next build.
		clear(compiled.m)
	}
	compiled.m[src] = re
	compiled.Unlock()
	return re, nil
}

// ForgetCompiled drops the compiled expressions kept between snapshots,
// so that a measurement sees a first build (benchmarks).
func ForgetCompiled() {
	compiled.Lock()
	clear(compiled.m)
	compiled.Unlock()
}

// maxCompiled bounds the compiled expressions kept between snapshots.
const maxCompiled = 1 << 16

var compiled = struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}{m: map[string]*regexp.Regexp{}}
