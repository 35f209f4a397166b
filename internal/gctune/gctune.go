// Package gctune gives the Go heap headroom: after every collection it
// sets the GC percentage so that the next collection starts no earlier
// than after MinHeap bytes of allocation (at the live heap plus MinHeap),
// and never below Go's default of 100 %.
//
// Why: the gateway's live heap is a few MB, so with the default GOGC the
// collector runs every few MB of allocation, several times a second under
// load; on one CPU each cycle takes a few milliseconds of marking from the
// requests in flight, which shows in tail latency and costs CPU. Headroom
// of tens of MB makes cycles rare. It is headroom, not a fixed floor: a
// large configuration (10,000 routes) holds tens of MB live, and a floor
// just above that made the collector mark the whole configuration every
// few MB of requests. Once the live heap is larger than MinHeap the
// percentage is the default again (the next cycle at twice the live heap). This is
// the "GC tuner" that replaced heap ballasts; GOMEMLIMIT, when set, still
// bounds the heap. An explicit GOGC in the environment wins: the tuner is
// then not started.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// maxPercent bounds the percentage (a nearly empty heap would ask for
// millions).
const maxPercent = 10000

// Tuner adjusts the GC percentage after each collection.
type Tuner struct {
	minHeap uint64
	stopped atomic.Bool
	sample  []metrics.Sample
	// cycles counts adjustments (tests).
	cycles atomic.Int64
}

// Start starts a tuner for minHeap bytes. It returns nil, and tunes
// nothing, when minHeap is 0 or GOGC is set in the environment.
func Start(minHeap uint64) *Tuner {
	if minHeap == 0 || os.Getenv("GOGC") != "" {
		return nil
	}
	t := &Tuner{minHeap: minHeap, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.adjust()
	t.arm()
	return t
}

// Stop restores the default percentage; the tuner stops at the next cycle.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.stopped.Store(true)
	debug.SetGCPercent(100)
}

// sentinel is garbage whose finalizer runs once per collection. It is
// large enough not to be a tiny allocation, whose finalizers may not run.
type sentinel struct{ _ [32]byte }

func (t *Tuner) arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	})
}

// percent is the GC percentage for a live heap of live bytes: the next
// cycle at live+minHeap, or 2×live when that is later.
func (t *Tuner) percent(live uint64) int {
	if live == 0 || live >= t.minHeap {
		return 100
	}
	p := t.minHeap * 100 / live
	return int(min(max(p, 100), maxPercent))
}

func (t *Tuner) adjust() {
	metrics.Read(t.sample)
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	debug.SetGCPercent(t.percent(live))
	t.cycles.Add(1)
}
