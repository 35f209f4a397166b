// Package ratelimit limits the requests of a route: Gloo's local token
// bucket (options.ratelimit.localRatelimit, per gateway process) and
// Gloo's ratelimitBasic (a fixed-window limit per caller, counted in
// Redis for the whole fleet when Settings name one, else per process).
// Its filters are pipeline.RequestFilter values that translation builds
// once per snapshot; the state they count in (buckets, per-caller
// windows, Redis clients) lives in a Registry that outlives snapshots, so
// a configuration change elsewhere does not refill every bucket.
package ratelimit

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Bucket is Envoy's local rate limit token bucket: it starts full with
// Max tokens and gains PerFill tokens at the end of each Interval, never
// more than Max. Take is lock-free: the fill count and the tokens share
// one 64-bit word updated by compare-and-swap, and fills are computed
// from the clock when a request comes (Envoy fills on a timer; the
// tokens seen by each request are the same).
type Bucket struct {
	// ID names the limit the bucket counts for (logs, tests).
	ID           string
	max, perFill uint32
	interval     time.Duration
	origin       time.Time // monotonic clock reading the fills count from
	// state is fill<<32 | tokens: the index of the last fill applied
	// (modulo 2^32, so a bucket idle for 2^32 intervals, 6.8 years at the
	// 50ms minimum, may be filled short once) and the tokens left.
	state atomic.Uint64
}

// NewBucket returns a full bucket. max and perFill must be at least 1,
// interval more than 0 (validation guarantees it).
func NewBucket(max, perFill uint32, interval time.Duration, now time.Time) *Bucket {
	b := &Bucket{max: max, perFill: perFill, interval: interval, origin: now}
	b.state.Store(uint64(max))
	return b
}

// String describes the bucket's configuration.
func (b *Bucket) String() string {
	return fmt.Sprintf("%s maxTokens=%d tokensPerFill=%d fillInterval=%s", b.ID, b.max, b.perFill, b.interval)
}

// Max is the bucket's size.
func (b *Bucket) Max() uint32 { return b.max }

// Take takes a token at now. It reports whether there was one, the
// tokens left and the time until the next fill.
func (b *Bucket) Take(now time.Time) (ok bool, remaining uint32, reset time.Duration) {
	elapsed := now.Sub(b.origin)
	fill := elapsed / b.interval
	reset = b.interval*(fill+1) - elapsed
	cur := uint32(fill)
	for {
		s := b.state.Load()
		last, tokens := uint32(s>>32), uint32(s)
		// A request that read the clock before another one's fill sees a
		// negative difference and adds nothing.
		if d := cur - last; int32(d) > 0 {
			t := uint64(tokens) + uint64(d)*uint64(b.perFill)
			tokens, last = uint32(min(t, uint64(b.max))), cur
		}
		ok = tokens > 0
		if ok {
			tokens--
		}
		next := uint64(last)<<32 | uint64(tokens)
		if next == s || b.state.CompareAndSwap(s, next) {
			return ok, tokens, reset
		}
	}
}
