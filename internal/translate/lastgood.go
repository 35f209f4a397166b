package translate

import (
	"fmt"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// LastGood is the last version of a resource that was served, and how
// many of its routes translation dropped then.
type LastGood struct {
	Object  resource.Object
	Dropped int
}

// Served returns the LastGood input of the next translation: for every
// resource of objs (the current versions snap was translated from) that
// snap accepts, its current version; for one it rejects, the last good
// version prev holds, if any. Resources not in objs are forgotten: a
// deleted resource has nothing to fall back to.
func Served(prev map[string]LastGood, objs []resource.Object, snap *snapshot.Snapshot) map[string]LastGood {
	next := make(map[string]LastGood, len(prev))
	for _, o := range objs {
		ref := resource.Ref(o)
		if st, ok := snap.Statuses[ref]; ok && (st.State == core.StateAccepted || st.State == core.StateWarning) {
			next[ref] = LastGood{Object: o, Dropped: snap.DroppedRoutes[ref]}
		} else if lg, ok := prev[ref]; ok {
			next[ref] = lg
		}
	}
	return next
}

// fallback returns the last good version of cur to serve instead of it,
// or nil: a new generation that is rejected, or that drops routes its last
// good generation served, does not replace that generation, since a bad
// update must not take a working route away.
func (b *builder) fallback(cur resource.Object, dropped int) resource.Object {
	ref := resource.Ref(cur)
	lg, ok := b.lastGood[ref]
	if !ok || lg.Object.GetMetadata().Generation == cur.GetMetadata().Generation {
		return nil
	}
	if b.statuses[ref].State == core.StateRejected || dropped > lg.Dropped {
		return lg.Object
	}
	return nil
}

// stillServing is cur's status when its last good version lg serves: still
// Rejected, and why, naming the generation served.
func stillServing(cur core.Status, lg resource.Object) core.Status {
	cur.State = core.StateRejected
	cur.Reason += fmt.Sprintf(" (still serving generation %d, the last accepted)", lg.GetMetadata().Generation)
	return cur
}

// settingsWithLastGood reads s, or its last good version when s is
// rejected; it returns the version read.
func (b *builder) settingsWithLastGood(s *resource.Settings) resource.Object {
	ref := resource.Ref(s)
	b.readSettings(s)
	lg := b.fallback(s, 0)
	if lg == nil {
		return s
	}
	cur := b.statuses[ref]
	b.readSettings(lg.(*resource.Settings))
	if b.statuses[ref].State == core.StateRejected {
		b.statuses[ref] = cur
		return s
	}
	b.statuses[ref] = stillServing(cur, lg)
	return lg
}

// upstreamWithLastGood translates u, or its last good version when u is
// rejected; it returns the version routes now call. The status input
// stays u's: runtime conditions describe the current version.
func (b *builder) upstreamWithLastGood(u *resource.Upstream) resource.Object {
	ref := resource.Ref(u)
	b.upstream(u)
	lg := b.fallback(u, 0)
	if lg == nil {
		return u
	}
	cur, curInfo := b.statuses[ref], b.upstreams[u.Metadata.Key()]
	curIn, hadIn := b.inputs[ref]
	b.upstream(lg.(*resource.Upstream))
	if hadIn {
		b.inputs[ref] = curIn
	} else {
		delete(b.inputs, ref)
	}
	if b.statuses[ref].State == core.StateRejected {
		b.statuses[ref], b.upstreams[u.Metadata.Key()] = cur, curInfo
		return u
	}
	b.statuses[ref] = stillServing(cur, lg)
	return lg
}

// virtualServiceWithLastGood serves vs, or its last good version when vs
// is rejected or drops more routes than that version did; it returns the
// version translated last (vs when neither serves). Only the version
// served claims its domains. The status input stays vs's.
func (b *builder) virtualServiceWithLastGood(vs *resource.VirtualService, httpB, httpsB *router.Builder, snap *snapshot.Snapshot) resource.Object {
	ref := resource.Ref(vs)
	v := b.virtualService(vs, httpB, httpsB)
	if v != nil {
		b.inputs[ref] = v.in
	}
	dropped := 0
	if v != nil {
		dropped = v.dropped
	}
	var served resource.Object = vs
	if lg := b.fallback(vs, dropped); lg != nil && b.sameAuthentication(vs, lg.(*resource.VirtualService)) {
		cur := b.statuses[ref]
		if old := b.virtualService(lg.(*resource.VirtualService), httpB, httpsB); old != nil {
			v, served = old, lg
			cur = stillServing(cur, lg)
		}
		b.statuses[ref] = cur
	}
	if v != nil {
		b.add(served.(*resource.VirtualService), v, snap)
	}
	return served
}
