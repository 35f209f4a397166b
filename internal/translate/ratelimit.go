package translate

import (
	"net/http"
	"slices"
	"time"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/ratelimit"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
)

// rateLimits is what a translation needs to compile rate limits: the
// Settings' rate limit options and the state the limits count in.
type rateLimits struct {
	build  *ratelimit.Build
	server *gloo.RateLimitServerSettings // Settings spec.ratelimitServer
	local  *gloo.LocalRateLimitSettings  // Settings spec.httpLocalRatelimit
	// shared holds the filters shared by several routes (a virtual
	// host's, a listener's default), by the option they compile and the
	// limit's identity: a translation may compile two versions of one
	// virtual service (its current and its last good).
	shared map[sharedKey]pipeline.RequestFilter
}

type sharedKey struct {
	option any // *gloo.TokenBucket or *gloo.IngressRateLimit
	id     string
}

// Key prefixes of the limits' state: a limit's identity is its level
// and where it is written.
const (
	localPrefix = "local:"
	redisPrefix = "lambdagate:ratelimit:"
)

// addRateLimits adds a compiled route's rate limit filters. The
// translator adds them before the security filters, which then go in
// front: a limit counts only callers that passed CORS, authentication
// and authorization. The local token bucket runs right after the timeout
// filter; ratelimitBasic runs before the header edits, as Envoy's rate
// limit filters see the request before the router's header mutations.
// Neither set: the route is unchanged.
func (b *builder) addRateLimits(rt *router.Route, vs *resource.VirtualService, i int, r *gateway.Route, https bool) error {
	p := pipeline.Of(rt)
	local := b.localLimit(vs, i, r, https)
	basic, err := b.basicLimit(vs, i, r)
	if err != nil {
		return err
	}
	if local != nil {
		at := 0
		if len(p.Request) > 0 {
			if _, ok := p.Request[0].(pipeline.Timeout); ok {
				at = 1
			}
		}
		p.Request = slices.Insert(p.Request, at, local)
	}
	if basic != nil {
		at := slices.IndexFunc(p.Request, func(f pipeline.RequestFilter) bool {
			_, ok := f.(*pipeline.RequestHeaders)
			return ok
		})
		if at < 0 {
			at = len(p.Request)
		}
		p.Request = slices.Insert(p.Request, at, basic)
	}
	return nil
}

func (b *builder) localLimit(vs *resource.VirtualService, i int, r *gateway.Route, https bool) pipeline.RequestFilter {
	if r.Options != nil && r.Options.Ratelimit != nil && r.Options.Ratelimit.LocalRatelimit != nil {
		return b.localFilter(localPrefix+vs.Metadata.Key()+"/"+routeName(r, i), r.Options.Ratelimit.LocalRatelimit)
	}
	if o := vs.Spec.VirtualHost.Options; o != nil && o.Ratelimit != nil && o.Ratelimit.LocalRatelimit != nil {
		return b.sharedLocal(localPrefix+vs.Metadata.Key(), o.Ratelimit.LocalRatelimit)
	}
	if l := b.rl.local; l != nil && l.DefaultLimit != nil {
		listener := "http"
		if https {
			listener = "https"
		}
		return b.sharedLocal(localPrefix+"<listener>/"+listener, l.DefaultLimit)
	}
	return nil
}

func (b *builder) sharedLocal(id string, tb *gloo.TokenBucket) pipeline.RequestFilter {
	k := sharedKey{tb, id}
	if f, ok := b.rl.shared[k]; ok {
		return f
	}
	f := b.localFilter(id, tb)
	b.rl.shared[k] = f
	return f
}

// localFilter builds a token bucket filter with Gloo's defaults: one
// token per fill, a fill a second.
func (b *builder) localFilter(id string, tb *gloo.TokenBucket) pipeline.RequestFilter {
	perFill, interval := uint32(1), time.Second
	if tb.TokensPerFill != nil {
		perFill = *tb.TokensPerFill
	}
	if tb.FillInterval != nil {
		interval = tb.FillInterval.Duration
	}
	headers := b.rl.local != nil && b.rl.local.EnableXRatelimitHeaders != nil && *b.rl.local.EnableXRatelimitHeaders
	return ratelimit.NewLocal(b.rl.build.Bucket(id, tb.MaxTokens, perFill, interval), headers)
}

func (b *builder) basicLimit(vs *resource.VirtualService, i int, r *gateway.Route) (pipeline.RequestFilter, error) {
	if r.Options != nil && r.Options.RatelimitBasic != nil {
		return b.basicFilter(vs, vs.Metadata.Key()+"/"+routeName(r, i), r.Options.RatelimitBasic, routeName(r, i))
	}
	if o := vs.Spec.VirtualHost.Options; o != nil && o.RatelimitBasic != nil {
		k := sharedKey{o.RatelimitBasic, vs.Metadata.Key()}
		if f, ok := b.rl.shared[k]; ok {
			b.noteRedis(vs, routeName(r, i))
			return f, nil
		}
		f, err := b.basicFilter(vs, k.id, o.RatelimitBasic, routeName(r, i))
		if err == nil {
			b.rl.shared[k] = f
		}
		return f, err
	}
	return nil, nil
}

// basicFilter builds ratelimitBasic's filter: counted in Redis when the
// Settings name one, else in this process.
func (b *builder) basicFilter(vs *resource.VirtualService, id string, l *gloo.IngressRateLimit, route string) (pipeline.RequestFilter, error) {
	if l.AuthorizedLimits == nil && l.AnonymousLimits == nil {
		return nil, nil // validation warned
	}
	f := &ratelimit.Basic{}
	// Each rule counts in its own process-local counter, or all in Redis.
	counter := func(rule string) ratelimit.Counter { return b.rl.build.Counter(rule) }
	if c, err := b.redis(); err != nil {
		return nil, err
	} else if c != nil {
		counter = func(string) ratelimit.Counter { return c }
		f.DenyOnFail = b.rl.server.DenyOnFail
		b.rl.build.UseRedis(vs.Metadata.Key(), route, c, f.DenyOnFail)
	}
	if s := b.rl.server; s != nil {
		f.Headers = s.EnableXRatelimitHeaders
	}
	rule := func(name string, rl *gloo.RateLimit) *ratelimit.Rule {
		if rl == nil {
			return nil
		}
		prefix := redisPrefix + id + ":" + name + ":" + string(rl.Unit)
		return ratelimit.NewRule(ratelimit.Window{Limit: rl.RequestsPerUnit, Unit: resource.RateLimitUnits[rl.Unit]}, counter(prefix), prefix)
	}
	f.Authorized, f.Anonymous = rule("authorized", l.AuthorizedLimits), rule("anonymous", l.AnonymousLimits)
	if k := l.AnonymousKey; k != nil && k.RequestHeaders != nil {
		f.KeyHeader = http.CanonicalHeaderKey(k.RequestHeaders.HeaderName)
	}
	if k := l.AnonymousKey; k != nil && k.GenericKey != nil {
		f.GenericKey = k.GenericKey.DescriptorValue
	}
	return f, nil
}

// noteRedis records that a route shares its virtual host's Redis-counted
// limit, for its status.
func (b *builder) noteRedis(vs *resource.VirtualService, route string) {
	if c, err := b.redis(); err == nil && c != nil {
		b.rl.build.UseRedis(vs.Metadata.Key(), route, c, b.rl.server.DenyOnFail)
	}
}

// redis is the Redis the Settings name for ratelimitBasic (nil: none),
// its calls bounded by requestTimeout (default 100ms).
func (b *builder) redis() (*ratelimit.Redis, error) {
	s := b.rl.server
	if s == nil || s.Redis == nil {
		return nil, nil
	}
	timeout := ratelimit.DefaultRequestTimeout
	if s.RequestTimeout != nil {
		timeout = s.RequestTimeout.Duration
	}
	return b.rl.build.Redis(s.Redis.URL, timeout)
}
