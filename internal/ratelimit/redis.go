package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// incr counts a request in a window's key and sets the key to expire with
// the window, in one atomic round trip: the first request of a window
// creates the key, so every replica's count lands in the same integer.
var incr = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
`)

// probeEvery is how often a Redis seen unreachable is tried again; the
// requests in between do not wait for it and are let through or refused
// at once (denyOnFail).
const probeEvery = time.Second

// DefaultRequestTimeout bounds a Redis call when Settings set no
// ratelimitServer.requestTimeout.
const DefaultRequestTimeout = 100 * time.Millisecond

// errDown is a Redis call skipped while Redis is known unreachable.
var errDown = errors.New("redis unreachable")

// Redis counts in a Redis shared by every gateway process. It remembers
// whether Redis answered, for route statuses.
type Redis struct {
	addr    string // host:port or socket path, for messages
	client  *redis.Client
	timeout time.Duration
	// problem is why the last call failed ("" while Redis answers).
	problem   atomic.Pointer[string]
	lastProbe atomic.Int64 // UnixNano of the last call made while down
	onChange  func()
}

// ParseRedisURL reads Settings' ratelimitServer.redis.url: "host:port"
// (Gloo's REDIS_URL form) or a redis:// or unix:// URL.
func ParseRedisURL(u string) (*redis.Options, error) {
	if !strings.Contains(u, "://") {
		if u == "" || strings.ContainsAny(u, "/@ ") {
			return nil, fmt.Errorf("must be host:port or a redis:// URL")
		}
		return &redis.Options{Addr: u}, nil
	}
	o, err := redis.ParseURL(u)
	if err != nil {
		return nil, err
	}
	if o.Password != "" {
		return nil, fmt.Errorf("must not hold a password: Settings are not secret")
	}
	return o, nil
}

func newRedis(url string, timeout time.Duration, onChange func()) (*Redis, error) {
	o, err := ParseRedisURL(url)
	if err != nil {
		return nil, err
	}
	o.ReadTimeout, o.WriteTimeout, o.DialTimeout = timeout, timeout, timeout
	// A failed call is answered by denyOnFail, not retried: a retry
	// would add its timeout to the request's.
	o.MaxRetries = -1
	r := &Redis{addr: o.Addr, client: redis.NewClient(o), timeout: timeout, onChange: onChange}
	return r, nil
}

// Problem is why Redis was last found unreachable, "" while it answers.
func (r *Redis) Problem() string {
	if p := r.problem.Load(); p != nil {
		return *p
	}
	return ""
}

// Hit counts a request of key in window; the key expires after ttl.
func (r *Redis) Hit(ctx context.Context, key string, window int64, ttl time.Duration) (uint64, error) {
	if r.problem.Load() != nil {
		last := r.lastProbe.Load()
		now := time.Now().UnixNano()
		if now-last < int64(probeEvery) || !r.lastProbe.CompareAndSwap(last, now) {
			return 0, errDown
		}
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	n, err := incr.Run(cctx, r.client, []string{key + ":" + strconv.FormatInt(window, 10)}, ttl.Milliseconds()+1).Int64()
	if err != nil {
		if ctx.Err() != nil {
			// The client went away: that says nothing about Redis.
			return 0, err
		}
		r.setProblem(fmt.Sprintf("Redis at %s is unreachable: %v", r.addr, err))
		return 0, err
	}
	r.setProblem("")
	return uint64(n), nil
}

// probe pings Redis once, so that a route's status shows an unreachable
// Redis before the first request finds it.
func (r *Redis) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	if err := r.client.Ping(ctx).Err(); err != nil {
		r.setProblem(fmt.Sprintf("Redis at %s is unreachable: %v", r.addr, err))
	}
}

func (r *Redis) setProblem(p string) {
	old := r.problem.Load()
	switch {
	case p == "" && old == nil:
		return
	case p == "":
		if !r.problem.CompareAndSwap(old, nil) {
			return
		}
	case old != nil:
		return // already down: the first reason stays
	default:
		r.lastProbe.Store(time.Now().UnixNano())
		if !r.problem.CompareAndSwap(nil, &p) {
			return
		}
	}
	if r.onChange != nil {
		r.onChange()
	}
}

func (r *Redis) close() { _ = r.client.Close() }
