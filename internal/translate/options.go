package translate

import (
	"regexp"
	"strings"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// withOptions compiles the traffic options of a route and its virtual
// host into its pipeline: the path rewrite and the retry policy (on the
// Invoke action), the fault filters and gzip's record of Accept-Encoding
// (after the timeout, before the header edits, as Envoy's HTTP filters
// run before the router applies them) and gzip's response filter (the
// last, so that it sees the headers the others set). Validation has
// checked the options.
func withOptions(p *pipeline.Route, vs *resource.VirtualService, r *gateway.Route) *pipeline.Route {
	o := r.Options
	vho := vs.Spec.VirtualHost.Options
	// early run after the timeout and before the header edits.
	var early []pipeline.RequestFilter
	if o != nil && o.Faults != nil {
		if d := o.Faults.Delay; d != nil && d.Percentage.Value > 0 {
			early = append(early, &pipeline.FaultDelay{Percentage: d.Percentage.Value, Delay: d.FixedDelay.Duration})
		}
		if a := o.Faults.Abort; a != nil && a.Percentage.Value > 0 {
			early = append(early, &pipeline.FaultAbort{Percentage: a.Percentage.Value, Status: int(a.HttpStatus)})
		}
	}
	if vho != nil && vho.Gzip != nil {
		// The client's Accept-Encoding, before a header edit changes it.
		early = append(early, pipeline.GzipAcceptEncoding{Remove: vho.Gzip.RemoveAcceptEncodingHeader})
		p.Response = append(p.Response, compileGzip(vho.Gzip))
	}
	if len(early) > 0 {
		at := 0
		if len(p.Request) > 0 {
			if _, ok := p.Request[0].(pipeline.Timeout); ok {
				at = 1
			}
		}
		p.Request = append(p.Request[:at:at], append(early, p.Request[at:]...)...)
	}
	// The Lambda targets: the one Invoke, or each weighted destination.
	targets := []*lambda.Target{p.Invoke}
	if p.Weighted != nil {
		targets = p.Weighted.Targets
	}
	if p.Invoke != nil || p.Weighted != nil {
		if o != nil {
			p.Rewrite = compileRewrite(o)
		}
		rp := (*gateway.RetryPolicy)(nil)
		switch {
		case o != nil && o.Retries != nil:
			rp = o.Retries
		case vho != nil && vho.Retries != nil:
			rp = vho.Retries
		}
		if rp != nil {
			for _, t := range targets {
				t.Retry = compileRetries(rp)
			}
		}
	}
	return p
}

func compileRewrite(o *gateway.RouteOptions) *pipeline.Rewrite {
	switch {
	case o.PrefixRewrite != nil:
		return &pipeline.Rewrite{Prefix: *o.PrefixRewrite}
	case o.RegexRewrite != nil:
		return &pipeline.Rewrite{
			Regex:        regexp.MustCompile(o.RegexRewrite.Pattern.Regex), // validated
			Substitution: pipeline.Substitution(o.RegexRewrite.Substitution),
		}
	}
	return nil
}

// compileRetries turns Gloo's retry policy into the invoker's (see
// lambda.RetryPolicy for the rule).
func compileRetries(r *gateway.RetryPolicy) *lambda.RetryPolicy {
	rp := &lambda.RetryPolicy{NumRetries: lambda.DefaultNumRetries, BaseInterval: lambda.DefaultRetryBase, NotRun: true}
	if r.NumRetries > 0 {
		rp.NumRetries = int(r.NumRetries)
	}
	if r.PerTryTimeout != nil {
		rp.PerTryTimeout = r.PerTryTimeout.Duration
	}
	if b := r.RetryBackOff; b != nil && b.BaseInterval != nil {
		rp.BaseInterval = b.BaseInterval.Duration
		if b.MaxInterval != nil {
			rp.MaxInterval = b.MaxInterval.Duration
		}
	}
	if rp.MaxInterval == 0 {
		rp.MaxInterval = 10 * rp.BaseInterval
	}
	for _, c := range strings.Split(r.RetryOn, ",") {
		switch strings.TrimSpace(c) {
		case "5xx":
			rp.Lost, rp.FunctionErrors = true, true
		case "reset":
			rp.Lost = true
		}
	}
	return rp
}

func compileGzip(z *gateway.Gzip) *pipeline.Gzip {
	g := &pipeline.Gzip{MinLength: 30, Level: resource.GzipLevels[z.CompressionLevel], DisableOnETag: z.DisableOnEtagHeader, Types: map[string]bool{}}
	if z.ContentLength != nil {
		g.MinLength = int(*z.ContentLength)
	}
	types := z.ContentType
	if len(types) == 0 {
		types = pipeline.DefaultGzipTypes
	}
	for _, t := range types {
		mt, _, _ := strings.Cut(t, ";")
		g.Types[strings.ToLower(strings.TrimSpace(mt))] = true
	}
	return g
}

// asyncRetryWarning says that an ASYNC route's retryOn opt-in does nothing:
// an Event invocation that reached Lambda may have queued the event, so
// it is never sent twice.
func asyncRetryWarning(t *lambda.Target) string {
	if t.Async && t.Retry != nil && (t.Retry.Lost || t.Retry.FunctionErrors) {
		return "retries.retryOn: 5xx and reset have no effect on an ASYNC route (an Event invocation that reached Lambda is never sent twice)"
	}
	return ""
}
