package resource

import (
	"fmt"
	"mime"
	"strings"
	"time"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
)

// MaxRetries bounds retries.numRetries: each retry is one more Invoke
// the function's concurrency pays for.
const MaxRetries = 10

// RetryOn lists Envoy's retry conditions (router filter, x-envoy-retry-on
// and x-envoy-retry-grpc-on) and whether each makes lambdagate retry an
// Invoke that may have run the function (see docs/reliability.md).
var RetryOn = map[string]bool{
	"5xx": true, "reset": true,
	"gateway-error": false, "reset-before-request": false, "connect-failure": false,
	"envoy-ratelimited": false, "retriable-4xx": false, "refused-stream": false,
	"retriable-status-codes": false, "retriable-headers": false, "http3-post-connect-failure": false,
	"cancelled": false, "deadline-exceeded": false, "internal": false, "resource-exhausted": false, "unavailable": false,
}

// GzipLevels are the compression levels Gzip.compressionLevel names ("" is
// DEFAULT) and zlib's level behind each.
var GzipLevels = map[gateway.GzipCompressionLevel]int{
	"": 6, gateway.GzipDefault: 6, gateway.GzipBest: 9, gateway.GzipSpeed: 1,
}

func (v *validator) routeOptions(p string, o *gateway.RouteOptions, r *gateway.Route) {
	if o.PrefixRewrite != nil && o.RegexRewrite != nil {
		v.errorf(p, "only one of prefixRewrite and regexRewrite may be set")
	}
	if (o.PrefixRewrite != nil || o.RegexRewrite != nil) && r.RouteAction == nil {
		// Envoy's rewrites belong to the route action; a redirect has its
		// own.
		v.errorf(p, "prefixRewrite and regexRewrite need a routeAction (a redirectAction has its own)")
	}
	if o.PrefixRewrite != nil {
		v.prefixRewrite(p+".prefixRewrite", r.Matchers)
		if strings.ContainsAny(*o.PrefixRewrite, "?#\x00") {
			v.errorf(p+".prefixRewrite", "invalid value %q: must be a path, without ?, # or NUL", *o.PrefixRewrite)
		}
	}
	if o.RegexRewrite != nil {
		v.regexRewrite(p+".regexRewrite", o.RegexRewrite)
	}
	if o.Retries != nil {
		v.retries(p+".retries", o.Retries)
	}
	if o.Faults != nil {
		v.faults(p+".faults", o.Faults)
	}
}

func (v *validator) virtualHostOptions(p string, o *gateway.VirtualHostOptions) {
	if o.Retries != nil {
		v.retries(p+".retries", o.Retries)
	}
	if o.Gzip != nil {
		v.gzip(p+".gzip", o.Gzip)
	}
}

func (v *validator) retries(p string, r *gateway.RetryPolicy) {
	for _, c := range strings.Split(r.RetryOn, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		if _, ok := RetryOn[c]; !ok {
			v.errorf(p+".retryOn", "unsupported condition %q: must be a comma-separated list of Envoy's retry conditions (5xx, reset, connect-failure, gateway-error, retriable-4xx, refused-stream...)", c)
		}
	}
	if r.NumRetries > MaxRetries {
		v.errorf(p+".numRetries", "invalid value %d: must be at most %d", r.NumRetries, MaxRetries)
	}
	if t := r.PerTryTimeout; t != nil && (t.Duration <= 0 || t.Duration > 15*time.Minute) {
		v.errorf(p+".perTryTimeout", "invalid value %s: must be more than 0 and at most 15m", t.Duration)
	}
	if b := r.RetryBackOff; b != nil {
		switch {
		case b.BaseInterval == nil:
			v.errorf(p+".retryBackOff.baseInterval", "required value")
		case b.BaseInterval.Duration < time.Millisecond:
			v.errorf(p+".retryBackOff.baseInterval", "invalid value %s: must be at least 1ms", b.BaseInterval.Duration)
		case b.MaxInterval != nil && b.MaxInterval.Duration < b.BaseInterval.Duration:
			v.errorf(p+".retryBackOff.maxInterval", "invalid value %s: must be at least baseInterval (%s)", b.MaxInterval.Duration, b.BaseInterval.Duration)
		}
		if b.MaxInterval != nil && b.MaxInterval.Duration <= 0 {
			v.errorf(p+".retryBackOff.maxInterval", "invalid value %s: must be more than 0", b.MaxInterval.Duration)
		}
	}
}

func (v *validator) faults(p string, f *gateway.RouteFaults) {
	pct := func(fp string, p gateway.Percentage) {
		if x := p.Value; !(x >= 0 && x <= 100) {
			v.errorf(fp, "invalid value %v: must be a percentage from 0 to 100", p.Value)
		}
	}
	if a := f.Abort; a != nil {
		pct(p+".abort.percentage", a.Percentage)
		if a.HttpStatus < 200 || a.HttpStatus > 599 {
			v.errorf(p+".abort.httpStatus", "invalid value %d: must be an HTTP status from 200 to 599", a.HttpStatus)
		}
	}
	if d := f.Delay; d != nil {
		pct(p+".delay.percentage", d.Percentage)
		switch {
		case d.FixedDelay == nil:
			v.errorf(p+".delay.fixedDelay", "required value")
		case d.FixedDelay.Duration <= 0 || d.FixedDelay.Duration > 15*time.Minute:
			v.errorf(p+".delay.fixedDelay", "invalid value %s: must be more than 0 and at most 15m", d.FixedDelay.Duration)
		}
	}
}

func (v *validator) gzip(p string, g *gateway.Gzip) {
	if g.ContentLength != nil && *g.ContentLength < 30 {
		v.errorf(p+".contentLength", "invalid value %d: must be at least 30", *g.ContentLength)
	}
	if _, ok := GzipLevels[g.CompressionLevel]; !ok {
		v.errorf(p+".compressionLevel", "unsupported value %q: must be one of DEFAULT (the default), BEST, SPEED", g.CompressionLevel)
	}
	if len(g.ContentType) > 50 {
		v.errorf(p+".contentType", "%d values: at most 50 are allowed", len(g.ContentType))
	}
	for i, ct := range g.ContentType {
		if t, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(t, "/") {
			v.errorf(fmt.Sprintf("%s.contentType[%d]", p, i), "invalid value %q: must be a media type such as \"application/json\"", ct)
		}
	}
}
