package translate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// delegatedDropped ends the status message of a route a delegating route
// reaches that is left out while others it reaches serve.
const delegatedDropped = " (delegated route dropped)"

// maxDelegatedRoutes bounds the routes one delegating route of a virtual
// service visits: route tables delegating to each other several times over
// could otherwise multiply them without a cycle.
const maxDelegatedRoutes = 10000

// tableInfo is a RouteTable as translated. Its status is set once every
// virtual service has been expanded, since problems found while
// expanding (a child route that does not fit its parent, a cycle) are the
// table's as well.
type tableInfo struct {
	obj *resource.RouteTable
	key string
	// rejected: static errors; the table serves no route.
	rejected string
	// static are its validation warnings and route problems; badRoutes
	// the routes those leave out.
	static    resource.Problems
	badRoutes map[int]bool
	// warnings and cycles found while expanding, each once.
	warnings, cycles []string
	// replaced is the current generation when this one, its last good,
	// serves instead of it; nil otherwise.
	replaced *tableInfo
}

func (t *tableInfo) note(list *[]string, msg string) {
	if !slices.Contains(*list, msg) {
		*list = append(*list, msg)
	}
}

// routeTableWithLastGood validates a RouteTable on its own and returns
// the generation its routes come from. A new generation that is
// rejected, or that leaves out more routes than its last good generation
// did, does not replace that generation (a bad update must not take
// working routes away), unless the two differ in what their routes ask of
// callers (authentication): then the new one stands.
func (b *builder) routeTableWithLastGood(rt *resource.RouteTable) resource.Object {
	t := validateTable(rt)
	b.tables[t.key] = t
	lg, ok := b.lastGood[resource.Ref(rt)]
	if !ok || lg.Object.GetMetadata().Generation == rt.Metadata.Generation || (t.rejected == "" && len(t.badRoutes) == 0) {
		return rt
	}
	old := validateTable(lg.Object.(*resource.RouteTable))
	if old.rejected != "" || (t.rejected == "" && len(old.badRoutes) >= len(t.badRoutes)) ||
		routesAuthSignature(rt.Spec.Routes) != routesAuthSignature(old.obj.Spec.Routes) {
		return rt
	}
	old.replaced = t
	b.tables[t.key] = old
	return old.obj
}

func validateTable(rt *resource.RouteTable) *tableInfo {
	t := &tableInfo{obj: rt, key: rt.Metadata.Key(), badRoutes: map[int]bool{}}
	var fatal resource.Problems
	for _, p := range resource.Validate(rt) {
		switch {
		case p.Warning:
			t.static = append(t.static, p)
		case p.Route >= 0:
			t.badRoutes[p.Route] = true
			p.Message += routeDropped
			t.static = append(t.static, p)
		default:
			fatal = append(fatal, p)
		}
	}
	t.rejected = fatal.Join()
	return t
}

// sortedTables lists the route tables by namespace and name, the order a
// selector's matches keep within one weight.
func (b *builder) sortedTables() []*tableInfo {
	l := make([]*tableInfo, 0, len(b.tables))
	for _, t := range b.tables {
		l = append(l, t)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].key < l[j].key })
	return l
}

// tableStatuses sets every RouteTable's status, after the expansion.
func (b *builder) tableStatuses() {
	for _, t := range b.sortedTables() {
		if cur := t.replaced; cur != nil {
			why := cur.rejected
			if why == "" {
				why = cur.static.Join()
			}
			b.setStatus(cur.obj, core.StateRejected, why)
			b.statuses[resource.Ref(cur.obj)] = stillServing(b.statuses[resource.Ref(cur.obj)], t.obj)
			continue
		}
		switch {
		case t.rejected != "":
			b.setStatus(t.obj, core.StateRejected, t.rejected)
		case len(t.cycles) > 0:
			b.setStatus(t.obj, core.StateRejected, strings.Join(t.cycles, "; "))
		case len(t.static) > 0 || len(t.warnings) > 0:
			msgs := make([]string, 0, len(t.static)+len(t.warnings))
			for _, p := range t.static {
				msgs = append(msgs, p.String())
			}
			b.setStatus(t.obj, core.StateWarning, strings.Join(append(msgs, t.warnings...), "; "))
		default:
			b.setStatus(t.obj, core.StateAccepted, "")
		}
	}
}

// parentRoute is what the routes of a route table inherit from the route
// delegating to it.
type parentRoute struct {
	matcher                      gateway.Matcher
	options                      *gateway.RouteOptions
	name                         string
	inheritMatchers, inheritPath bool
}

// parentOf describes route r, named name, as the parent of the routes it
// delegates to. Validation has checked its matchers: none, or one prefix
// matcher, or one without a path.
func parentOf(r *gateway.Route, name string) parentRoute {
	p := parentRoute{matcher: gateway.Matcher{Prefix: "/"}, options: r.Options, name: name}
	// As Gloo's getDelegateRouteMatcher: a matcher without a path is the
	// default matcher (prefix "/"): its other conditions are not used.
	if len(r.Matchers) == 1 && r.Matchers[0].Prefix != "" {
		p.matcher = r.Matchers[0]
	}
	p.inheritMatchers = r.InheritableMatchers != nil && *r.InheritableMatchers
	p.inheritPath = r.InheritablePathMatchers != nil && *r.InheritablePathMatchers
	return p
}

// leaf is a delegated route that is not itself delegating: it is
// compiled into the virtual host.
type leaf struct {
	route gateway.Route
	table *tableInfo
	index int
}

// expansion collects what the delegating route i of a virtual service
// expands to.
type expansion struct {
	problems []string // for the virtual service's status
	dropped  int
	count    int
}

// delegate expands route i of vs (a delegateAction) into the routes of the
// route tables it reaches, Gloo's way (solo-io/gloo
// projects/gateway/pkg/translator/route_converter.go): the tables by
// weight, lowest first; several tables of one weight have their routes
// sorted by path; each child route must fit its parent's matcher and gets
// the parent's options it does not set; a table reached again on its own
// branch is a cycle, reported on that table, not followed. The routes are
// added to v; the problems are returned as warnings of route i.
func (b *builder) delegate(vs *resource.VirtualService, i int, r *gateway.Route, v *vsBuild, warnings resource.Problems) resource.Problems {
	x := &expansion{}
	leaves := b.expand(x, r.DelegateAction, vs.Metadata.Namespace, nil, parentOf(r, routeName(r, i)), nil)
	served := 0
	for _, l := range leaves {
		rt, warn, err := b.routeIn(vs, l.table.obj.Metadata.Namespace, i, &l.route)
		if err == nil {
			var gwarn string
			gwarn, err = b.guard(rt, vs, v, i, &l.route)
			warn = joinWarnings(warn, gwarn)
		}
		if err != nil {
			x.dropped++
			msg := fmt.Sprintf("spec.routes[%d]: %v", l.index, err)
			l.table.note(&l.table.warnings, msg+routeDropped)
			x.problems = append(x.problems, fmt.Sprintf("RouteTable %s %s", l.table.key, msg))
			continue
		}
		sr := snapshot.ServedRoute{Name: rt.Name, Index: i, Warning: -1, Runtime: runtimeOf(rt)}
		if warn != "" {
			sr.Warning = len(warnings)
			warnings = append(warnings, resource.Problem{Field: routeField(i), Message: fmt.Sprintf("RouteTable %s spec.routes[%d]: %s", l.table.key, l.index, warn), Route: i, Warning: true})
		}
		v.in.Routes = append(v.in.Routes, sr)
		v.vh.Routes = append(v.vh.Routes, rt)
		served++
	}
	// The delegating route is dropped when nothing it reaches serves;
	// otherwise only some of its routes are, which readers of the status
	// (DroppedRoutes) must not count as the route.
	suffix := routeDropped
	if served > 0 {
		suffix = delegatedDropped
	}
	for _, p := range x.problems {
		warnings = append(warnings, resource.Problem{Field: routeField(i), Message: p + suffix, Route: i})
	}
	v.dropped += x.dropped
	return warnings
}

// expand returns the routes the delegateAction d reaches, in the order
// they are tried. ownerNS and owner (nil for a virtual service) hold the
// delegating route; visited are the tables on this branch.
func (b *builder) expand(x *expansion, d *gateway.DelegateAction, ownerNS string, owner *tableInfo, parent parentRoute, visited []*tableInfo) []leaf {
	report := func(msg string) {
		x.dropped++
		if owner == nil {
			x.problems = append(x.problems, msg)
			return
		}
		owner.note(&owner.warnings, msg)
		x.problems = append(x.problems, fmt.Sprintf("RouteTable %s: %s", owner.key, msg))
	}
	tables, err := b.selectTables(d, ownerNS)
	if err != nil {
		report(err.Error())
		return nil
	}
	weight := func(t *tableInfo) int32 {
		if w := t.obj.Spec.Weight; w != nil {
			return *w
		}
		return 0
	}
	sort.SliceStable(tables, func(i, j int) bool { return weight(tables[i]) < weight(tables[j]) })
	var out []leaf
	for start := 0; start < len(tables); {
		end := start + 1
		for end < len(tables) && weight(tables[end]) == weight(tables[start]) {
			end++
		}
		var group []leaf
		for _, t := range tables[start:end] {
			group = append(group, b.tableRoutes(x, t, parent, visited, report)...)
		}
		if end-start > 1 {
			// Several tables of one weight: sorted so that /foo does not
			// shadow /foo/bar.
			sort.SliceStable(group, func(i, j int) bool {
				return lessMatcher(smallestMatcher(group[i].route.Matchers), smallestMatcher(group[j].route.Matchers))
			})
		}
		out = append(out, group...)
		start = end
	}
	return out
}

// tableRoutes returns the routes of table t under parent.
func (b *builder) tableRoutes(x *expansion, t *tableInfo, parent parentRoute, visited []*tableInfo, report func(string)) []leaf {
	if slices.Contains(visited, t) {
		path := make([]string, 0, len(visited)+1)
		for _, v := range append(visited, t) {
			path = append(path, v.key)
		}
		msg := "delegation cycle: RouteTable " + strings.Join(path, " -> RouteTable ")
		t.note(&t.cycles, msg)
		x.dropped++
		x.problems = append(x.problems, msg)
		return nil
	}
	if t.rejected != "" {
		report(fmt.Sprintf("RouteTable %s is rejected: %s", t.key, t.rejected))
		return nil
	}
	branch := append(slices.Clip(visited), t)
	var out []leaf
	for j := range t.obj.Spec.Routes {
		// Every route visited counts, delegating ones too, so that the
		// work is bounded however the tables fan out.
		if x.count++; x.count > maxDelegatedRoutes {
			if x.count == maxDelegatedRoutes+1 {
				x.problems = append(x.problems, fmt.Sprintf("delegation reaches more than %d routes; the rest are left out", maxDelegatedRoutes))
			}
			x.dropped++
			return out
		}
		if t.badRoutes[j] {
			x.dropped++
			x.problems = append(x.problems, fmt.Sprintf("RouteTable %s spec.routes[%d] is invalid (see its status)", t.key, j))
			continue
		}
		child := cloneRoute(&t.obj.Spec.Routes[j])
		child.Name = parent.name + "/" + t.key + "/" + routeName(child, j)
		if err := inherit(child, parent); err != nil {
			msg := fmt.Sprintf("spec.routes[%d]: %v", j, err)
			t.note(&t.warnings, msg+routeDropped)
			x.dropped++
			x.problems = append(x.problems, fmt.Sprintf("RouteTable %s %s", t.key, msg))
			continue
		}
		if child.DelegateAction != nil {
			out = append(out, b.expand(x, child.DelegateAction, t.obj.Metadata.Namespace, t, parentOf(child, child.Name), branch)...)
			continue
		}
		out = append(out, leaf{route: *child, table: t, index: j})
	}
	return out
}

// selectTables returns the route tables a delegateAction names: by ref
// (or Gloo's deprecated name and namespace), or every table a selector
// matches. A reference without a namespace, and a selector without
// namespaces, mean ownerNS; the selector's "*" means every namespace.
func (b *builder) selectTables(d *gateway.DelegateAction, ownerNS string) ([]*tableInfo, error) {
	ref, field := d.Ref, "delegateAction.ref"
	if d.Name != "" || d.Namespace != "" {
		ref, field = &core.ResourceRef{Name: d.Name, Namespace: d.Namespace}, "delegateAction.name"
	}
	if ref != nil {
		r := *ref
		if r.Namespace == "" {
			r.Namespace = ownerNS
		}
		t, ok := b.tables[r.String()]
		if !ok {
			return nil, fmt.Errorf("%s: RouteTable %s not found", field, r)
		}
		return []*tableInfo{t}, nil
	}
	sel := d.Selector
	reqs, err := resource.SelectorRequirements(sel) // validated
	if err != nil {
		return nil, fmt.Errorf("delegateAction.selector.%v", err)
	}
	set := labels.SelectorFromSet(sel.Labels)
	all := slices.Contains(sel.Namespaces, "*")
	var out []*tableInfo
	for _, t := range b.sortedTables() {
		m := t.obj.Metadata
		switch {
		case all:
		case len(sel.Namespaces) == 0 && m.Namespace != ownerNS:
			continue
		case len(sel.Namespaces) > 0 && !slices.Contains(sel.Namespaces, m.Namespace):
			continue
		}
		ls := labels.Set(m.Labels)
		if !set.Matches(ls) {
			continue
		}
		ok := true
		for _, r := range reqs {
			ok = ok && r.Matches(ls)
		}
		if ok {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("delegateAction.selector: no RouteTable matches the selector")
	}
	return out, nil
}

// cloneRoute copies a route deeply: expansion changes its matchers and
// options, and the stored resource must stay as written.
func cloneRoute(r *gateway.Route) *gateway.Route {
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("translate: marshal a route: %v", err))
	}
	var c gateway.Route
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("translate: unmarshal a route: %v", err))
	}
	return &c
}

// inherit applies Gloo's rules to a route of a table under parent
// (validateAndMergeParentRoute): the inheritance flags it does not set are
// the parent's; inheritablePathMatchers gives it the parent's path,
// inheritableMatchers the parent's headers, methods and query parameters;
// then every matcher must start with the parent's prefix, with the same
// case sensitivity, and require at least the parent's headers, query
// parameters and methods. The options it does not set are the parent's.
func inherit(c *gateway.Route, p parentRoute) error {
	if c.InheritablePathMatchers == nil {
		c.InheritablePathMatchers = &p.inheritPath
	}
	if c.InheritableMatchers == nil {
		c.InheritableMatchers = &p.inheritMatchers
	}
	if *c.InheritablePathMatchers {
		for k := range c.Matchers {
			m := &c.Matchers[k]
			m.Prefix, m.Exact, m.Regex, m.CaseSensitive = p.matcher.Prefix, "", "", p.matcher.CaseSensitive
		}
		if len(c.Matchers) == 0 {
			c.Matchers = []gateway.Matcher{{Prefix: p.matcher.Prefix, CaseSensitive: p.matcher.CaseSensitive}}
		}
	}
	if len(c.Matchers) == 0 {
		c.Matchers = []gateway.Matcher{{Prefix: "/"}}
	}
	if *c.InheritableMatchers {
		for k := range c.Matchers {
			m := &c.Matchers[k]
			m.Headers = append(slices.Clone(p.matcher.Headers), m.Headers...)
			m.Methods = append(slices.Clone(p.matcher.Methods), m.Methods...)
			m.QueryParameters = append(slices.Clone(p.matcher.QueryParameters), m.QueryParameters...)
		}
	}
	for k, m := range c.Matchers {
		if path := pathString(m); !strings.HasPrefix(path, p.matcher.Prefix) {
			return fmt.Errorf("matchers[%d]: path %q does not start with the prefix %q of the route delegating to this table", k, path, p.matcher.Prefix)
		}
		if caseSensitive(m) != caseSensitive(p.matcher) {
			return fmt.Errorf("matchers[%d].caseSensitive: must be %v, as on the route delegating to this table", k, caseSensitive(p.matcher))
		}
		for _, h := range p.matcher.Headers {
			if !slices.Contains(m.Headers, h) {
				return fmt.Errorf("matchers[%d].headers: must include the header matcher %q of the route delegating to this table (or set inheritableMatchers)", k, h.Name)
			}
		}
		for _, q := range p.matcher.QueryParameters {
			if !slices.Contains(m.QueryParameters, q) {
				return fmt.Errorf("matchers[%d].queryParameters: must include the query parameter matcher %q of the route delegating to this table (or set inheritableMatchers)", k, q.Name)
			}
		}
		for _, meth := range p.matcher.Methods {
			if !slices.Contains(m.Methods, meth) {
				return fmt.Errorf("matchers[%d].methods: must include the method %s of the route delegating to this table (or set inheritableMatchers)", k, meth)
			}
		}
	}
	c.Options = mergeOptions(c.Options, p.options)
	return nil
}

func caseSensitive(m gateway.Matcher) bool { return m.CaseSensitive == nil || *m.CaseSensitive }

// pathString is a matcher's path as Gloo compares it with a prefix.
func pathString(m gateway.Matcher) string {
	switch {
	case m.Exact != "":
		return m.Exact
	case m.Regex != "":
		return m.Regex
	case m.Prefix != "":
		return m.Prefix
	}
	return "/"
}

// mergeOptions returns a child route's options with the parent's filling
// every option the child does not set (Gloo's mergeRouteOptions: a
// shallow merge, the child's values win). Every typed field of
// RouteOptions takes part, so options added later are inherited too.
func mergeOptions(child, parent *gateway.RouteOptions) *gateway.RouteOptions {
	if parent == nil {
		return child
	}
	if child == nil {
		c := *parent
		return &c
	}
	c := *child
	dst, src := reflect.ValueOf(&c).Elem(), reflect.ValueOf(parent).Elem()
	for k := 0; k < dst.NumField(); k++ {
		if f := dst.Field(k); f.CanSet() && f.IsZero() {
			f.Set(src.Field(k))
		}
	}
	if len(parent.Unimplemented) > 0 && len(child.Unimplemented) > 0 {
		raw := core.RawFields{}
		for n, v := range parent.Unimplemented {
			raw[n] = v
		}
		for n, v := range child.Unimplemented {
			raw[n] = v
		}
		c.Unimplemented = raw
	}
	return &c
}

// smallestMatcher and lessMatcher order delegated routes as Gloo's
// SortRoutesByPath: more methods first, then exact before regex before
// prefix paths, then the greater path string first.
func smallestMatcher(ms []gateway.Matcher) gateway.Matcher {
	s := gateway.Matcher{Prefix: "/"}
	if len(ms) > 0 {
		s = ms[0]
	}
	for _, m := range ms {
		if lessMatcher(m, s) {
			s = m
		}
	}
	return s
}

func lessMatcher(a, b gateway.Matcher) bool {
	if len(a.Methods) != len(b.Methods) {
		return len(a.Methods) > len(b.Methods)
	}
	if pa, pb := pathPriority(a), pathPriority(b); pa != pb {
		return pa < pb
	}
	return pathString(a) > pathString(b)
}

func pathPriority(m gateway.Matcher) int {
	switch {
	case m.Exact != "":
		return 0
	case m.Regex != "":
		return 1
	}
	return 2
}
