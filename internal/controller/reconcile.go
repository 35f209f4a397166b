package controller

import (
	"context"
	"errors"
	"strings"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// reconcileLoop rebuilds the snapshot after every burst of store changes.
// It owns lastGood, the last served version of each resource; nothing
// else touches it.
func (s *Controller) reconcileLoop(ctx context.Context) {
	wrote := make(chan struct{})
	go func() { defer close(wrote); s.statusW.run(ctx) }()
	defer func() { <-wrote }()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		events, err := s.store.Watch(ctx)
		if err != nil {
			s.configOK.Store(false)
			s.log.Warn("watching the store failed; serving the last snapshot", "error", err.Error())
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		s.rebuild(ctx)
		// timer: a rebuild is due; refresh: runtime conditions changed.
		var timer, refresh <-chan time.Time
		for open := true; open; {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					open = false
					break
				}
				if s.statusW.ownWrite(ev) {
					continue
				}
				if ev.Object != nil {
					s.log.Debug("store change seen", "type", string(ev.Type), "resource", resource.Ref(ev.Object), "resourceVersion", ev.Object.GetMetadata().ResourceVersion)
				}
				if timer == nil {
					timer = time.After(s.cfg.Debounce)
				}
			case <-timer:
				timer = nil
				s.rebuild(ctx)
			case <-retryTick(s):
				s.rebuild(ctx)
			case <-s.trigger:
				if refresh == nil {
					refresh = time.After(s.cfg.Debounce)
				}
			case <-refresh:
				refresh = nil
				if timer == nil { // else the coming rebuild merges them
					s.refreshStatuses(ctx)
				}
			}
		}
	}
}

// retryTick fires while the store is unavailable, so that the gateway
// notices when it comes back even without a change event.
func retryTick(s *Controller) <-chan time.Time {
	if s.configOK.Load() {
		return nil
	}
	return time.After(time.Second)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Rebuild forces a rebuild now (tests, SIGHUP); the statuses it computed
// are written when it returns.
func (s *Controller) Rebuild(ctx context.Context) {
	s.rebuild(ctx)
	s.statusW.flush(ctx)
}

func (s *Controller) rebuild(ctx context.Context) {
	start := time.Now()
	var objs []resource.Object
	var corrupt []string
	for _, k := range resource.Kinds {
		got, err := s.store.List(ctx, k, "")
		var ce *store.CorruptError
		if errors.As(err, &ce) {
			corrupt = append(corrupt, ce.Refs...)
			err = nil
		}
		if err != nil {
			if ctx.Err() == nil {
				s.configOK.Store(false)
				s.log.Warn("reading the store failed; serving the last snapshot", "kind", string(k), "error", err.Error())
			}
			return
		}
		objs = append(objs, got...)
	}
	// A record that cannot be read keeps its last good version in service
	// (it is not a deletion); readiness says what is wrong until it is
	// repaired.
	problem := ""
	if len(corrupt) > 0 {
		for _, ref := range corrupt {
			if lg, ok := s.lastGood[ref]; ok {
				objs = append(objs, lg.Object)
			}
		}
		problem = (&store.CorruptError{Refs: corrupt}).Error() + " (serving their last good versions)"
		if s.storeProblem.Load() != problem {
			s.log.Error("store has corrupt records", "resources", strings.Join(corrupt, ", "))
		}
	}
	s.storeProblem.Store(problem)
	s.configOK.Store(true)
	// One pass: translation decides, per resource, whether its current
	// or its last good version serves, and says so in its status.
	in := translate.FromObjects(objs)
	in.LastGood = s.lastGood
	env := translate.Env{LocalLambda: s.cfg.LocalLambda, Version: s.version.Add(1), RateLimits: s.cfg.RateLimits}
	snap := translate.Translate(in, s.resolver, env)
	statuses, inputs := snap.Statuses, snap.StatusInputs
	s.lastGood = translate.Served(s.lastGood, objs, snap)
	// Runtime conditions join the statuses here; translation never sees
	// them.
	s.base, s.inputs = statuses, inputs
	s.translated = make(map[string]int64, len(objs))
	for _, o := range objs {
		s.translated[resource.Ref(o)] = o.GetMetadata().Generation
	}
	statuses = translate.Statuses(statuses, inputs, s.conditions())
	snap.Statuses, snap.StatusInputs = statuses, inputs
	s.holder.Store(snap)
	if s.cfg.OnSnapshot != nil {
		s.cfg.OnSnapshot(snap)
	}
	s.log.Debug("snapshot built", "version", snap.Version, "routes", snap.Routes, "upstreams", snap.Upstreams, "took", time.Since(start))
	s.logChanges(objs, statuses)
	s.statusW.set(objs, statuses)
}

func (s *Controller) conditions() translate.Conditions {
	return translate.Conditions{Upstream: s.cfg.UpstreamWarning, Route: s.cfg.RouteWarning}
}

// refreshStatuses merges the current runtime conditions into the last
// rebuild's statuses, then serves and writes them, without translating:
// a runtime event changes statuses, not routing. The store is listed only
// for current copies to write onto (status writes move resourceVersions
// on); when it no longer holds the generations that were translated, or
// cannot be read, it rebuilds instead.
func (s *Controller) refreshStatuses(ctx context.Context) {
	snap := s.holder.Load()
	if snap == nil || s.base == nil {
		s.rebuild(ctx)
		return
	}
	objs := make([]resource.Object, 0, len(s.translated))
	for _, k := range resource.Kinds {
		got, err := s.store.List(ctx, k, "")
		if err != nil {
			s.rebuild(ctx)
			return
		}
		objs = append(objs, got...)
	}
	if len(objs) != len(s.translated) {
		s.rebuild(ctx)
		return
	}
	for _, o := range objs {
		if g, ok := s.translated[resource.Ref(o)]; !ok || g != o.GetMetadata().Generation {
			s.rebuild(ctx)
			return
		}
	}
	statuses := translate.Statuses(s.base, s.inputs, s.conditions())
	next := *snap
	next.Statuses = statuses
	s.holder.Store(&next)
	if s.cfg.OnSnapshot != nil {
		s.cfg.OnSnapshot(&next)
	}
	s.logChanges(objs, statuses)
	s.statusW.set(objs, statuses)
}

// change is what a configuration change log line says about a resource.
type change struct {
	generation int64
	state      core.State
	reason     string
}

// logChanges writes one INFO line per resource whose generation or verdict
// changed since the last line about it: accepted (with the warning, if
// any), rejected with the reason, or removed. At startup that is one line
// per resource: the configuration the gateway starts with.
func (s *Controller) logChanges(objs []resource.Object, statuses map[string]core.Status) {
	if s.logged == nil {
		s.logged = map[string]change{}
	}
	seen := make(map[string]bool, len(objs))
	for _, o := range objs {
		ref := resource.Ref(o)
		seen[ref] = true
		st := statuses[ref] // a Secret has no status: accepted when read
		c := change{generation: o.GetMetadata().Generation, state: st.State, reason: st.Reason}
		if prev, ok := s.logged[ref]; ok && prev == c {
			continue
		}
		s.logged[ref] = c
		switch c.state {
		case core.StateRejected:
			s.log.Info("configuration rejected", "resource", ref, "generation", c.generation, "reason", c.reason)
		case core.StateWarning:
			s.log.Info("configuration accepted with a warning", "resource", ref, "generation", c.generation, "warning", c.reason)
		case core.StatePending:
			// Not decided yet: the line comes with the verdict.
			delete(s.logged, ref)
		default:
			s.log.Info("configuration accepted", "resource", ref, "generation", c.generation)
		}
	}
	for ref := range s.logged {
		if !seen[ref] {
			s.log.Info("configuration removed", "resource", ref)
			delete(s.logged, ref)
		}
	}
}
