// Package pipeline is the shape of a compiled route: the ordered request
// filters, the one action and the response filters the gateway runs for a
// request the route matched. Translation builds one immutable Route per
// route when it builds a snapshot, from the route's options; the gateway
// (internal/gateway) runs it. A feature (CORS, authentication, rate
// limits, header manipulation, ...) is a filter type here plus the lines
// of translation that compile its options into it; the handler does not
// change.
//
// A filter's configuration is validated and built once per snapshot, as
// Envoy builds each filter's per-route config when a route table loads and
// Caddy provisions a route's handler chain at config load: per request
// the gateway only walks the slices. No reflection: filters are plain
// values behind two small interfaces. A route that uses no policy has
// empty slices and pays for nothing but the loops' length checks.
package pipeline

import (
	"errors"
	"net/http"
	"time"

	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// Route is one route compiled for the data plane. It is shared by every
// request the route serves, concurrently, and never modified once the
// snapshot holding it is served.
type Route struct {
	// Request filters run in order before the action.
	Request []RequestFilter
	// Invoke is the action: the Lambda function the request invokes.
	// Exactly one of Invoke, Direct, Redirect and Weighted is set; the
	// gateway chooses with nil checks.
	Invoke *lambda.Target
	// Direct answers with a fixed status and body (directResponseAction).
	Direct *Direct
	// Redirect answers with a redirect (redirectAction).
	Redirect *Redirect
	// Rewrite changes the path the Lambda event shows (prefixRewrite,
	// regexRewrite). Nil: none.
	Rewrite *Rewrite
	// Weighted invokes one of several Lambda targets chosen by weight
	// per request (routeAction.multi, routeAction.upstreamGroup).
	Weighted *Weighted
	// Response filters run in order after the action, before the
	// response head is written.
	Response []ResponseFilter
	// VirtualService and Name name a route without Invoke (whose Target
	// names it otherwise) in logs and metrics.
	VirtualService, Name string
}

// Exchange is one request's state that filters read and set. The gateway
// owns it; a filter must not keep it after returning.
type Exchange struct {
	// Timeout bounds the action (the Invoke call, throttling retries
	// included). Zero: lambda.DefaultTimeout.
	Timeout time.Duration
	// Auth is what authentication filters established about the caller
	// (JWT claims, a Lambda authorizer's context, the client
	// certificate). The event builders put it where API Gateway does.
	// Nil: no authentication ran.
	Auth *transform.Authorizer
	// Status is the status a request filter wrote when it answered by
	// itself (with ErrAnswered), for the access log and metrics.
	Status int
	// BodySize is the length of the body of the answer the response
	// filters see, set by the gateway before they run.
	BodySize int
	// Streamed says the answer is passed on as the function writes it
	// (responseTransferMode STREAM): its body is never whole in the
	// gateway, so filters that need the whole body (compression) skip it.
	Streamed bool

	// gzipLevel: WriteBody compresses at this level (0: not at all).
	gzipLevel int
	// acceptSeen: acceptGzip holds whether the client accepts gzip,
	// recorded before Accept-Encoding was removed.
	acceptSeen, acceptGzip bool
	// JWTProvider names the JWT provider whose token authenticated the
	// caller ("" when none), for the RBAC principals that name one.
	JWTProvider string
	// Arrived is when the gateway received the request: filters that need
	// the time (rate limits) use it instead of reading the clock again.
	// Zero: unknown, read the clock.
	Arrived time.Time
	// Invoker calls Lambda for filters that invoke a function of their
	// own (a Lambda authorizer). Set by the gateway before the filters.
	Invoker *lambda.Invoker
	// Matched is the matcher that selected the route and Path the
	// normalized path it matched, set by the gateway before the filters:
	// a Lambda authorizer's event shows the resource they make
	// (ResourceOf), as the function's does.
	Matched *router.Matcher
	Path    string
}

// ErrAnswered is returned by a request filter that wrote the whole answer
// itself (a CORS preflight, for one): the gateway runs nothing more and
// writes nothing, and the request is not a failure. The filter sets
// Exchange.Status to the status it wrote.
var ErrAnswered = errors.New("answered by a request filter")

// RequestFilter runs before the action. An error ends the request: no
// later filter and no action runs, and the gateway answers the error
// through internal/httperr, the one place errors become statuses (an
// *httperr.Error chooses its status and code). A filter must not read the
// request body: the gateway reads it once, after the filters.
type RequestFilter interface {
	FilterRequest(w http.ResponseWriter, r *http.Request, x *Exchange) error
}

// ResponseFilter runs after the action succeeded, before the response
// head is written: it may change the status it returns and the headers in
// h (w.Header()). An error replaces the response: the gateway drops the
// headers set for it and answers the error through internal/httperr.
type ResponseFilter interface {
	FilterResponse(r *http.Request, x *Exchange, status int, h http.Header) (int, error)
}

// Timeout is a route's options.timeout: it bounds the action. It is the
// first request filter, so that the filters after it (retries, for one)
// see the route's budget. The clock starts when the action starts, after
// the request body is read, as Envoy's route timeout starts once the
// downstream request is complete.
type Timeout time.Duration

// FilterRequest sets the exchange's timeout.
func (d Timeout) FilterRequest(_ http.ResponseWriter, _ *http.Request, x *Exchange) error {
	x.Timeout = time.Duration(d)
	return nil
}

// Of returns the compiled route behind a router route (nil when it holds
// none).
func Of(rt *router.Route) *Route {
	p, _ := rt.Target.(*Route)
	return p
}

// Target returns the Lambda target a router route invokes (nil when none);
// for weighted destinations, the first one.
func Target(rt *router.Route) *lambda.Target {
	if p := Of(rt); p != nil {
		if p.Weighted != nil {
			return p.Weighted.Targets[0]
		}
		return p.Invoke
	}
	return nil
}

// Targets returns every Lambda target a router route may invoke.
func Targets(rt *router.Route) []*lambda.Target {
	p := Of(rt)
	switch {
	case p == nil:
		return nil
	case p.Weighted != nil:
		return p.Weighted.Targets
	case p.Invoke != nil:
		return []*lambda.Target{p.Invoke}
	}
	return nil
}
