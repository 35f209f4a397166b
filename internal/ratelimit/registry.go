package ratelimit

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Registry holds the rate limit state that outlives a snapshot: the
// buckets and per-caller counters of each limit, by the limit's identity
// and configuration, and one Redis client per Redis. A translation takes
// what it uses through a Build and commits it; what the new snapshot no
// longer uses is dropped. A nil *Registry is valid: each Build then
// starts from nothing (tests, one-off translations).
type Registry struct {
	// OnChange is called when a Redis becomes unreachable or reachable
	// again (the server then rewrites statuses). Set before use.
	OnChange func()

	mu       sync.Mutex
	buckets  map[string]*Bucket
	counters map[string]*LocalCounter
	redis    map[string]*Redis
	routes   atomic.Pointer[map[string]routeUse]
}

// routeUse is what a route's status must say about its Redis.
type routeUse struct {
	redis      *Redis
	denyOnFail bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{buckets: map[string]*Bucket{}, counters: map[string]*LocalCounter{}, redis: map[string]*Redis{}}
}

// Build collects the state one translation uses.
type Build struct {
	reg      *Registry
	now      time.Time
	buckets  map[string]*Bucket
	counters map[string]*LocalCounter
	redis    map[string]*Redis
	routes   map[string]routeUse
}

// Build starts collecting a translation's state.
func (r *Registry) Build() *Build {
	return &Build{reg: r, now: time.Now(), buckets: map[string]*Bucket{}, counters: map[string]*LocalCounter{},
		redis: map[string]*Redis{}, routes: map[string]routeUse{}}
}

// Bucket returns the bucket of the limit id with this configuration: the
// one already counting when the previous snapshot had it, else a full one.
func (b *Build) Bucket(id string, maxTokens, perFill uint32, interval time.Duration) *Bucket {
	k := id + "\x00" + strconv.FormatUint(uint64(maxTokens), 10) + "/" + strconv.FormatUint(uint64(perFill), 10) + "/" + interval.String()
	if bk, ok := b.buckets[k]; ok {
		return bk
	}
	var bk *Bucket
	if b.reg != nil {
		b.reg.mu.Lock()
		bk = b.reg.buckets[k]
		b.reg.mu.Unlock()
	}
	if bk == nil {
		bk = NewBucket(maxTokens, perFill, interval, b.now)
		bk.ID = id
	}
	b.buckets[k] = bk
	return bk
}

// Counter returns the process-local per-caller counter of the limit id.
func (b *Build) Counter(id string) *LocalCounter {
	if c, ok := b.counters[id]; ok {
		return c
	}
	var c *LocalCounter
	if b.reg != nil {
		b.reg.mu.Lock()
		c = b.reg.counters[id]
		b.reg.mu.Unlock()
	}
	if c == nil {
		c = NewLocalCounter(0)
	}
	b.counters[id] = c
	return c
}

// Redis returns the client of the Redis at url, calls bounded by timeout.
func (b *Build) Redis(url string, timeout time.Duration) (*Redis, error) {
	k := url + "\x00" + timeout.String()
	if c, ok := b.redis[k]; ok {
		return c, nil
	}
	var c *Redis
	if b.reg != nil {
		b.reg.mu.Lock()
		c = b.reg.redis[k]
		b.reg.mu.Unlock()
	}
	if c == nil {
		var onChange func()
		if b.reg != nil {
			onChange = b.reg.changed
		}
		var err error
		if c, err = newRedis(url, timeout, onChange); err != nil {
			return nil, err
		}
		if b.reg != nil {
			go c.probe()
		}
	}
	b.redis[k] = c
	return c, nil
}

// UseRedis records that a route counts in c, for its status.
func (b *Build) UseRedis(vsKey, route string, c *Redis, denyOnFail bool) {
	b.routes[vsKey+"\x00"+route] = routeUse{redis: c, denyOnFail: denyOnFail}
}

// redisGrace is how long a Redis client the new snapshot no longer uses
// stays open, for the requests the old snapshot is still serving.
const redisGrace = time.Minute

// Commit makes the build's state the registry's. Call it once, when the
// snapshot is built; a nil registry keeps nothing.
func (b *Build) Commit() {
	r := b.reg
	if r == nil {
		return
	}
	r.mu.Lock()
	old := r.redis
	r.buckets, r.counters, r.redis = b.buckets, b.counters, b.redis
	r.mu.Unlock()
	routes := b.routes
	r.routes.Store(&routes)
	for k, c := range old {
		if b.redis[k] != c {
			time.AfterFunc(redisGrace, c.close)
		}
	}
}

func (r *Registry) changed() {
	if r.OnChange != nil {
		r.OnChange()
	}
}

// RouteWarning is a route's runtime rate limit condition: the Redis its
// limits count in is unreachable, and what the route does meanwhile; ""
// when none.
func (r *Registry) RouteWarning(vsKey, route string) string {
	if r == nil {
		return ""
	}
	m := r.routes.Load()
	if m == nil {
		return ""
	}
	u, ok := (*m)[vsKey+"\x00"+route]
	if !ok {
		return ""
	}
	p := u.redis.Problem()
	if p == "" {
		return ""
	}
	if u.denyOnFail {
		return fmt.Sprintf("ratelimitBasic: %s; requests are refused with 500 (Settings spec.ratelimitServer.denyOnFail is true)", p)
	}
	return fmt.Sprintf("ratelimitBasic: %s; requests pass without the limit (Settings spec.ratelimitServer.denyOnFail is false)", p)
}
