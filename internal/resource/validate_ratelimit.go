package resource

import (
	"net"
	"net/url"
	"strconv"
	"time"

	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// MinFillInterval is Gloo's (Envoy's) smallest local rate limit fill
// interval.
const MinFillInterval = 50 * time.Millisecond

// RateLimitUnits maps Gloo's rate limit units to their windows.
var RateLimitUnits = map[gloo.RateLimitUnit]time.Duration{
	gloo.UnitSecond: time.Second,
	gloo.UnitMinute: time.Minute,
	gloo.UnitHour:   time.Hour,
	gloo.UnitDay:    24 * time.Hour,
}

func (v *validator) tokenBucket(p string, b *gloo.TokenBucket) {
	if b.MaxTokens < 1 {
		v.errorf(p+".maxTokens", "required value: at least 1")
	}
	if b.TokensPerFill != nil && *b.TokensPerFill < 1 {
		v.errorf(p+".tokensPerFill", "invalid value 0: must be more than 0 (default 1)")
	}
	if b.FillInterval != nil && b.FillInterval.Duration < MinFillInterval {
		v.errorf(p+".fillInterval", "invalid value %s: must be at least 50ms (default 1s)", b.FillInterval.Duration)
	}
}

func (v *validator) ingressRateLimit(p string, r *gloo.IngressRateLimit) {
	if r.AuthorizedLimits == nil && r.AnonymousLimits == nil {
		v.warnf(p, "sets neither authorizedLimits nor anonymousLimits: no request is limited")
	}
	for _, l := range []struct {
		name string
		rl   *gloo.RateLimit
	}{{"authorizedLimits", r.AuthorizedLimits}, {"anonymousLimits", r.AnonymousLimits}} {
		if l.rl == nil {
			continue
		}
		lp := p + "." + l.name
		if _, ok := RateLimitUnits[l.rl.Unit]; !ok {
			v.errorf(lp+".unit", "unsupported value %q: must be SECOND, MINUTE, HOUR or DAY", l.rl.Unit)
		}
		if l.rl.RequestsPerUnit < 1 {
			v.errorf(lp+".requestsPerUnit", "required value: at least 1")
		}
	}
	if k := r.AnonymousKey; k != nil {
		kp := p + ".anonymousKey"
		n := 0
		for _, set := range []bool{k.RemoteAddress != nil, k.RequestHeaders != nil, k.GenericKey != nil} {
			if set {
				n++
			}
		}
		switch {
		case n > 1:
			v.errorf(kp, "only one of remoteAddress, requestHeaders and genericKey may be set")
		case k.RequestHeaders != nil:
			v.headerName(kp+".requestHeaders.headerName", k.RequestHeaders.HeaderName)
		case k.GenericKey != nil && k.GenericKey.DescriptorValue == "":
			v.errorf(kp+".genericKey.descriptorValue", "required value")
		}
	}
}

func (v *validator) rateLimitSettings(s *gloo.SettingsSpec) {
	if rs := s.RatelimitServer; rs != nil {
		if t := rs.RequestTimeout; t != nil && (t.Duration <= 0 || t.Duration > 10*time.Second) {
			v.errorf("spec.ratelimitServer.requestTimeout", "invalid value %s: must be more than 0 and at most 10s (default 100ms)", t.Duration)
		}
		if r := rs.Redis; r != nil {
			if msg := RedisURLProblem(r.URL); msg != "" {
				v.errorf("spec.ratelimitServer.redis.url", "%s", msg)
			}
		}
	}
	if l := s.HttpLocalRatelimit; l != nil {
		if l.LocalRateLimitPerDownstreamConnection != nil && *l.LocalRateLimitPerDownstreamConnection {
			v.errorf("spec.httpLocalRatelimit.localRateLimitPerDownstreamConnection", "unsupported value true: lambdagate keeps one bucket per gateway process (false, the default)")
		}
		if l.DefaultLimit != nil {
			v.tokenBucket("spec.httpLocalRatelimit.defaultLimit", l.DefaultLimit)
		}
	}
}

// RedisURLProblem says what is wrong with a ratelimitServer.redis.url, or
// "": "host:port" (Gloo's REDIS_URL form), redis://, rediss:// or
// unix:// URLs, never with a password (Settings are not secret).
func RedisURLProblem(s string) string {
	const allowed = `must be host:port or a redis://host:port/db, rediss:// or unix:// URL`
	if s == "" {
		return "required value: " + allowed
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		host, port, err := net.SplitHostPort(s)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return "invalid value " + strconv.Quote(s) + ": " + allowed
		}
		return ""
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	default:
		return "invalid value " + strconv.Quote(u.Redacted()) + ": " + allowed
	}
	if _, set := u.User.Password(); set {
		return "invalid value " + strconv.Quote(u.Redacted()) + ": must not hold a password: Settings are not secret"
	}
	return ""
}
