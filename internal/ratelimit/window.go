package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Window is a fixed-window limit: Limit requests per Unit, the windows
// aligned to the wall clock (as Gloo's rate-limit server counts), so
// every gateway process agrees on when a window starts.
type Window struct {
	Limit uint32
	Unit  time.Duration
}

// index is the number of the window holding now, and the time to its end.
func (w Window) index(now time.Time) (int64, time.Duration) {
	ns := now.UnixNano()
	i := ns / int64(w.Unit)
	return i, time.Duration((i+1)*int64(w.Unit) - ns)
}

// Counter counts the requests of a key in a window and returns the count
// including this one.
type Counter interface {
	Hit(ctx context.Context, key string, window int64, ttl time.Duration) (uint64, error)
}

// DefaultMaxKeys bounds the callers a process-local counter remembers in
// one window.
const DefaultMaxKeys = 100_000

const shards = 16

// LocalCounter counts per key in this process. Its memory is bounded: it
// keeps only the current window's counts, and at most maxKeys keys; when
// a flood of distinct keys fills it, an arbitrary key's count is
// forgotten to make room (that caller may then exceed its limit in this
// window, but memory never grows without bound).
type LocalCounter struct {
	seed     maphash.Seed
	perShard int
	shards   [shards]shard
}

type shard struct {
	mu     sync.Mutex
	window int64
	counts map[string]uint64
}

// NewLocalCounter returns a counter remembering at most maxKeys keys
// (DefaultMaxKeys when maxKeys <= 0).
func NewLocalCounter(maxKeys int) *LocalCounter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	c := &LocalCounter{seed: maphash.MakeSeed(), perShard: max(1, maxKeys/shards)}
	for i := range c.shards {
		c.shards[i].counts = map[string]uint64{}
	}
	return c
}

// Hit counts a request of key in window.
func (c *LocalCounter) Hit(_ context.Context, key string, window int64, _ time.Duration) (uint64, error) {
	s := &c.shards[maphash.String(c.seed, key)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.window != window {
		// A new window: the old counts are dead. A fresh map returns the
		// memory a flood made the old one grow to.
		s.window, s.counts = window, make(map[string]uint64, min(len(s.counts), 64))
	}
	n, ok := s.counts[key]
	if !ok && len(s.counts) >= c.perShard {
		for k := range s.counts {
			delete(s.counts, k)
			break
		}
	}
	n++
	s.counts[key] = n
	return n, nil
}

// Len is the number of keys remembered (tests).
func (c *LocalCounter) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.counts)
		s.mu.Unlock()
	}
	return n
}
