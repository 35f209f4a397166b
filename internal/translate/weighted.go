package translate

import (
	"fmt"
	"strings"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
)

// groupInfo is an UpstreamGroup as translated: routes that reference a
// rejected one are dropped, naming why.
type groupInfo struct {
	obj      *resource.UpstreamGroup
	rejected string
}

// group translates an UpstreamGroup and sets its status. Its destinations
// are resolved here once, against no route, so that the group's own
// status names a missing upstream or function; each route referencing it
// resolves them again into targets that name the route.
func (b *builder) group(g *resource.UpstreamGroup) {
	info := &groupInfo{obj: g}
	b.groups[g.Metadata.Key()] = info
	problems := resource.Validate(g)
	if errs := problems.Errors(); len(errs) > 0 {
		info.rejected = errs.Join()
		b.setStatus(g, core.StateRejected, info.rejected)
		return
	}
	warnings := problems.Warnings()
	for j, d := range g.Spec.Destinations {
		field := fmt.Sprintf("spec.destinations[%d].destination", j)
		_, warn, err := b.target("", "", nil, d.Destination, g.Metadata.Namespace, field)
		if err != nil {
			info.rejected = fmt.Sprintf("%s: %v", field, err)
			b.setStatus(g, core.StateRejected, info.rejected)
			return
		}
		if warn != "" {
			warnings = append(warnings, resource.Problem{Field: field, Message: warn, Warning: true, Route: -1})
		}
	}
	if len(warnings) > 0 {
		b.setStatus(g, core.StateWarning, warnings.Join())
		return
	}
	b.setStatus(g, core.StateAccepted, "")
}

// groupWithLastGood translates g, or its last good version when g is
// rejected (a bad change of weights must not take the routes using the
// group out of service); it returns the version routes now use.
func (b *builder) groupWithLastGood(g *resource.UpstreamGroup) resource.Object {
	ref := resource.Ref(g)
	b.group(g)
	lg := b.fallback(g, 0)
	if lg == nil {
		return g
	}
	cur, curInfo := b.statuses[ref], b.groups[g.Metadata.Key()]
	b.group(lg.(*resource.UpstreamGroup))
	if b.statuses[ref].State == core.StateRejected {
		b.statuses[ref], b.groups[g.Metadata.Key()] = cur, curInfo
		return g
	}
	b.statuses[ref] = stillServing(cur, lg)
	return lg
}

// weightedRoute compiles a route with routeAction.multi or
// routeAction.upstreamGroup: one target per destination, each with its
// own destinationSpec, and the pipeline's Weighted action choosing one
// per request. Validation has checked the weights add up to more than 0.
func (b *builder) weightedRoute(vs *resource.VirtualService, ns string, i int, r *gateway.Route) (*router.Route, string, error) {
	a := r.RouteAction
	dests, field := []gateway.WeightedDestination(nil), "routeAction.multi.destinations"
	if a.Multi != nil {
		dests = a.Multi.Destinations
	} else {
		// As Gloo, a group is found by its reference, in any namespace;
		// a reference without one names the route's resource's.
		ref := *a.UpstreamGroup
		if ref.Namespace == "" {
			ref.Namespace = ns
		}
		g, ok := b.groups[ref.String()]
		if !ok {
			return nil, "", fmt.Errorf("routeAction.upstreamGroup: UpstreamGroup %s not found", ref)
		}
		if g.rejected != "" {
			return nil, "", fmt.Errorf("routeAction.upstreamGroup: UpstreamGroup %s is rejected: %s", ref, g.rejected)
		}
		dests, ns = g.obj.Spec.Destinations, g.obj.Metadata.Namespace
		field = fmt.Sprintf("UpstreamGroup %s spec.destinations", ref)
	}
	name := routeName(r, i)
	targets := make([]*lambda.Target, len(dests))
	weights := make([]uint32, len(dests))
	var warns []string
	for j, d := range dests {
		df := fmt.Sprintf("%s[%d].destination", field, j)
		t, warn, err := b.target(vs.Metadata.Key(), name, r.Options, d.Destination, ns, df)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %v", df, err)
		}
		if warn != "" {
			warns = append(warns, df+": "+warn)
		}
		targets[j] = t
		if d.Weight != nil {
			weights[j] = *d.Weight
		}
	}
	w := pipeline.NewWeighted(targets, weights)
	if w == nil {
		// Validated away for multi; a group's last good version is
		// checked as well, so this is a safety net.
		return nil, "", fmt.Errorf("%s: the weights add up to 0", field)
	}
	p := compilePipeline(nil, r.Options)
	p.Weighted = w
	rt := &router.Route{Name: name, Target: withOptions(withHeaders(p, vs, r), vs, r)}
	if err := compileMatchers(rt, r.Matchers); err != nil {
		return nil, "", err
	}
	for _, t := range w.Targets {
		if aw := asyncRetryWarning(t); aw != "" {
			warns = append(warns, aw)
			break
		}
	}
	return rt, strings.Join(warns, "; "), nil
}
