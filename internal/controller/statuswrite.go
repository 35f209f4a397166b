package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// statusWriter writes resource statuses off the reconcile loop. Each status
// write is a store write transaction that may wait for other processes'
// writers (a CLI apply) for up to the store's busy timeout; done inline it
// delayed the next rebuild, so a change applied meanwhile was served late.
// Only the latest desired statuses matter, so a newer batch replaces one
// not yet written (coalescing).
type statusWriter struct {
	s    *Controller
	wake chan struct{}

	mu      sync.Mutex
	pending *statusBatch
	// own maps a resource to the resourceVersion our last status write gave
	// it, so the reconcile loop can ignore the change event of that write:
	// translation does not read stored statuses, and a rebuild for it would
	// only delay the next real change.
	own map[string]string

	writing sync.Mutex // one writer at a time (the goroutine, or flush)
}

type statusBatch struct {
	objs     []resource.Object
	statuses map[string]core.Status
}

func newStatusWriter(s *Controller) *statusWriter {
	return &statusWriter{s: s, wake: make(chan struct{}, 1), own: map[string]string{}}
}

// set makes these the statuses to write, replacing any not yet written.
// objs and statuses must not be modified afterwards.
func (w *statusWriter) set(objs []resource.Object, statuses map[string]core.Status) {
	w.mu.Lock()
	w.pending = &statusBatch{objs: objs, statuses: statuses}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run writes statuses as they are set until ctx is done.
func (w *statusWriter) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
			w.flush(ctx)
		}
	}
}

// flush writes the pending statuses now, in the caller's goroutine.
func (w *statusWriter) flush(ctx context.Context) {
	w.writing.Lock()
	defer w.writing.Unlock()
	w.mu.Lock()
	b := w.pending
	w.pending = nil
	w.mu.Unlock()
	if b != nil {
		w.write(ctx, b)
	}
}

// superseded reports whether a newer batch is waiting; the rest of the
// current one is then stale.
func (w *statusWriter) superseded() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending != nil
}

// write writes each status of b that differs from the stored one. A
// conflict means the resource changed meanwhile; its change event triggers
// another rebuild, which sets a newer batch.
func (w *statusWriter) write(ctx context.Context, b *statusBatch) {
	start := time.Now()
	written := 0
	for _, o := range b.objs {
		if ctx.Err() != nil || w.superseded() {
			break
		}
		if !resource.HasStatus(o.GetKind()) {
			continue
		}
		ref := resource.Ref(o)
		want, ok := b.statuses[ref]
		if !ok {
			continue
		}
		if cur := o.GetStatus(); cur != nil && *cur == want {
			continue
		}
		c := resource.DeepCopy(o)
		c.SetStatus(&want)
		out, err := w.s.store.UpdateStatus(ctx, c)
		if err != nil {
			w.logFailure(ctx, ref, err)
			continue
		}
		written++
		w.mu.Lock()
		w.own[ref] = out.GetMetadata().ResourceVersion
		w.mu.Unlock()
	}
	if written > 0 {
		w.s.log.Debug("statuses written", "count", written, "took", time.Since(start))
	}
}

// logFailure says why a status was not written. A conflict needs no word
// (the change event brings a newer batch), nor does a resource deleted
// meanwhile; every other failure, a NotFound that names no object (the
// status endpoint or the resource type is missing) included, is a warning:
// without it the statuses silently stay unwritten.
func (w *statusWriter) logFailure(ctx context.Context, ref string, err error) {
	var se *store.Error
	switch {
	case ctx.Err() != nil, store.IsConflict(err):
	case store.IsNotFound(err) && errors.As(err, &se) && se.Detail == "":
		w.s.log.Debug("status not written: the resource was deleted", "resource", ref)
	default:
		w.s.log.Warn("writing status failed", "resource", ref, "error", err.Error())
	}
}

// ownWrite reports whether ev is the change event of our own status write.
func (w *statusWriter) ownWrite(ev store.Event) bool {
	if ev.Object == nil {
		return false
	}
	ref := resource.Ref(ev.Object)
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.Type != store.Modified {
		delete(w.own, ref) // the entry's event will not come now
		return false
	}
	rv, ok := w.own[ref]
	if !ok || rv != ev.Object.GetMetadata().ResourceVersion {
		return false
	}
	delete(w.own, ref)
	return true
}
