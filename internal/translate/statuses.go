package translate

import (
	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// Conditions are the runtime conditions shown on statuses. Translation
// never sees them, so the same resources always translate the same way;
// they are merged into its statuses when statuses are written.
type Conditions struct {
	// Upstream returns an upstream's runtime problem (its function
	// discovery failing), shown as a Warning; "" for none. Default nil.
	Upstream func(upstreamKey string) string
	// Route returns a route's runtime problem (Lambda answering 404 for
	// its function), shown as a Warning; "" for none. Default nil.
	Route func(virtualServiceKey, route string) string
}

// Statuses returns base with the runtime conditions merged into the
// statuses of the resources translation accepted (inputs, from the
// snapshot): an upstream's discovery and credential problems, a route's
// warning. A resource whose status in base is no longer Accepted or
// Warning (the last-good policy rejected it) is left as it is. base is
// not modified.
func Statuses(base map[string]core.Status, inputs map[string]*snapshot.StatusInput, c Conditions) map[string]core.Status {
	out := make(map[string]core.Status, len(base))
	for ref, st := range base {
		out[ref] = st
		in := inputs[ref]
		if in == nil || (st.State != core.StateAccepted && st.State != core.StateWarning) {
			continue
		}
		if w, ok := withConditions(in, c); ok {
			st.State, st.Reason = core.StateWarning, w.Join()
			out[ref] = st
		}
	}
	return out
}

// withConditions returns in's warnings with the runtime conditions that
// apply, and false when none does.
func withConditions(in *snapshot.StatusInput, c Conditions) (resource.Problems, bool) {
	var w resource.Problems
	changed := false
	edit := func() {
		if !changed {
			w, changed = append(resource.Problems(nil), in.Warnings...), true
		}
	}
	if in.Upstream != "" {
		if c.Upstream != nil {
			if msg := c.Upstream(in.Upstream); msg != "" {
				edit()
				w = append(w, resource.Problem{Message: msg, Route: -1, Warning: true})
			}
		}
		// A credentials provider that failed at runtime (STS) says why.
		if p, ok := in.Creds.(interface{ Problem() string }); ok {
			if msg := p.Problem(); msg != "" {
				edit()
				w = append(w, resource.Problem{Message: msg, Route: -1, Warning: true})
			}
		}
		return w, changed
	}
	for _, r := range in.Routes {
		var rw string
		if c.Route != nil {
			rw = c.Route(in.VirtualService, r.Name)
		}
		for _, f := range r.Runtime {
			if p := f.RuntimeProblem(); p != "" {
				rw = joinWarnings(rw, p)
			}
		}
		if rw == "" {
			continue
		}
		edit()
		if r.Warning >= 0 {
			// One problem per route: its own warning, then the runtime one.
			w[r.Warning].Message += "; " + rw
		} else {
			w = append(w, resource.Problem{Field: routeField(r.Index), Message: rw, Route: r.Index, Warning: true})
		}
	}
	if changed {
		sortByRoute(w)
	}
	return w, changed
}
