package extauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// AuthorizerTimeout bounds one call of an authorizer function. API
// Gateway bounds an integration by 29 s and answers 500 when an
// authorizer does not answer in time; a gateway that waits that long for
// authentication holds a connection per caller, so the bound is the
// route default instead.
const AuthorizerTimeout = lambda.DefaultTimeout

// Source is one identity source: where the request carries it.
type Source struct {
	Kind string // enterprise.SourceHeader, SourceQuery or SourceContext
	// Name is the header (canonical), query parameter or $context
	// variable.
	Name string
}

// Authorizer is an API Gateway Lambda authorizer (lambdagate's
// lambdaAuthorizer config). It reads the identity sources (a missing one
// is 401 without calling the function), finds a cached answer for them or
// invokes the function with API Gateway's authorizer event, and applies
// the answer: a simple response's isAuthorized, or an IAM policy
// evaluated against the request's method ARN (route ARN for payload 2.0).
type Authorizer struct {
	// Target is the authorizer function, with its upstream's credentials
	// and endpoint.
	Target *lambda.Target
	// Token: a TOKEN authorizer (payload 1.0, one header).
	Token bool
	// V2: payload format 2.0; else 1.0.
	V2 bool
	// Simple reads {isAuthorized, context} (payload 2.0 only).
	Simple bool
	// Sources are the identity sources, in the configured order.
	Sources []Source
	// TTL caches an answer per identity; 0 disables the cache.
	TTL time.Duration

	cache *cache
	// arnPrefix is the request ARN up to the method:
	// arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/.
	arnPrefix string
	// now is replaceable in tests.
	now func() time.Time
}

// NewAuthorizer returns the filter. Authorizers built with the same key
// share one result cache, so that a new snapshot (any resource change)
// keeps the cached answers of an authorizer whose configuration did not
// change; the key must name everything that decides an answer.
func NewAuthorizer(a Authorizer, key string) *Authorizer {
	f := a
	f.now = time.Now
	region := f.Target.Region
	if region == "" {
		region = "us-east-1"
	}
	f.arnPrefix = "arn:aws:execute-api:" + region + ":" + transform.DefaultAccountID + ":" + transform.DefaultAPIID + "/" + transform.DefaultStage + "/"
	if f.TTL > 0 {
		f.cache = cacheFor(key)
	}
	return &f
}

// decision is an authorizer's answer, as cached.
type decision struct {
	expires time.Time
	// simple: authorized decides; else policy does.
	simple     bool
	authorized bool
	policy     []statement
	principal  string
	context    map[string]any
}

// FilterRequest authorizes the request or refuses it with a *Denial.
func (a *Authorizer) FilterRequest(_ http.ResponseWriter, r *http.Request, x *pipeline.Exchange) error {
	var buf [4]string
	values := buf[:0]
	for _, s := range a.Sources {
		v := sourceValue(r, s)
		if v == "" {
			return denyMissingIdentity
		}
		values = append(values, v)
	}
	var d *decision
	var key string
	if a.cache != nil {
		key = cacheKey(values)
		d = a.cache.get(key, a.now())
	}
	if d == nil {
		var err error
		// A copy: the stack array stays on the stack for cache hits.
		if d, err = a.miss(r, x, key, slices.Clone(values)); err != nil {
			return err
		}
	}
	if !a.allows(d, r) {
		return denyForbidden
	}
	if x.Auth == nil {
		x.Auth = &transform.Authorizer{}
	}
	x.Auth.PrincipalID, x.Auth.Context = d.principal, d.context
	return nil
}

func (a *Authorizer) allows(d *decision, r *http.Request) bool {
	if d.simple {
		return d.authorized
	}
	// Built in a stack buffer: a cache hit evaluates the cached policy
	// against every request's ARN, and evaluate keeps no reference.
	var buf [256]byte
	b := a.appendARN(buf[:0], r)
	return evaluate(d.policy, unsafe.String(unsafe.SliceData(b), len(b)))
}

// appendARN appends the request's execute-api ARN, as API Gateway gives
// it to the authorizer (methodArn, routeArn) and matches the policy's
// resources against: arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH.
func (a *Authorizer) appendARN(dst []byte, r *http.Request) []byte {
	dst = append(dst, a.arnPrefix...)
	dst = append(dst, r.Method...)
	return append(dst, r.URL.EscapedPath()...)
}

func (a *Authorizer) arn(r *http.Request) string { return string(a.appendARN(nil, r)) }

// miss gets an answer the cache does not hold. With a cache, concurrent
// requests of one identity share one call (the first makes it, the others
// wait for it), so a burst of a new caller's requests calls the authorizer
// once; the shared call does not end when the request that made it is
// cancelled, only at AuthorizerTimeout.
func (a *Authorizer) miss(r *http.Request, x *pipeline.Exchange, key string, values []string) (*decision, error) {
	if a.cache == nil {
		return a.call(r.Context(), r, x, values)
	}
	f, leader := a.cache.join(key)
	if leader {
		d, err := a.call(context.WithoutCancel(r.Context()), r, x, values)
		if d != nil {
			d.expires = a.now().Add(a.TTL)
		}
		a.cache.land(key, f, d, err, a.now())
	} else {
		select {
		case <-f.done:
		case <-r.Context().Done():
			return nil, errClientGone
		}
	}
	return f.d, f.err
}

// errClientGone ends a request whose client left while it waited for
// another request's authorizer call.
var errClientGone = httperr.New(httperr.StatusClientClosed, "ClientCanceled", "client closed the request")

// sourceValue reads one identity source ("" when missing or empty).
func sourceValue(r *http.Request, s Source) string {
	switch s.Kind {
	case enterprise.SourceHeader:
		if v := r.Header[s.Name]; len(v) > 0 {
			return strings.Join(v, ",")
		}
	case enterprise.SourceQuery:
		return r.URL.Query().Get(s.Name)
	case enterprise.SourceContext:
		return contextValue(r, s.Name)
	}
	return ""
}

// contextValue is a $context variable of the request.
func contextValue(r *http.Request, name string) string {
	switch name {
	case "accountId":
		return transform.DefaultAccountID
	case "apiId":
		return transform.DefaultAPIID
	case "stage":
		return transform.DefaultStage
	case "domainName":
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			return h
		}
		return r.Host
	case "httpMethod":
		return r.Method
	case "path":
		return r.URL.EscapedPath()
	case "protocol":
		return r.Proto
	case "identity.sourceIp":
		if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			return h
		}
		return r.RemoteAddr
	case "identity.userAgent":
		return r.Header.Get("User-Agent")
	}
	return ""
}

func cacheKey(values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	// NUL cannot appear in a header or a decoded query value that
	// reached here unescaped, so distinct identities never share a key.
	return strings.Join(values, "\x00")
}

// call invokes the authorizer function and reads its answer. A function
// error "Unauthorized" is 401, as API Gateway answers; any other failure
// (function error, timeout, Lambda refusing the call, an answer that is
// not a valid authorizer response) is 500. Never fails open.
func (a *Authorizer) call(ctx context.Context, r *http.Request, x *pipeline.Exchange, values []string) (*decision, error) {
	if x.Invoker == nil {
		return nil, denyAuthorizer
	}
	payload, err := a.event(r, x, values)
	if err != nil {
		return nil, denyAuthorizer
	}
	res, err := x.Invoker.InvokeWithin(ctx, a.Target, AuthorizerTimeout, payload, nil)
	if err == nil {
		if ue := lambda.UnflaggedError(res.Body, true); ue != nil {
			err = ue
		}
	}
	if err != nil {
		var le *lambda.Error
		if errors.As(err, &le) && le.Kind == lambda.KindFunction && isUnauthorized(le) {
			return nil, denyUnauthorized
		}
		// The log names the failure's kind only: a function's error
		// message may quote the token it refused.
		detail := "invocation failed"
		if le != nil {
			detail = le.Kind.String()
		}
		return nil, &Denial{Reason: ReasonAuthorizerFailed, Detail: detail, err: errAuthorizer}
	}
	d, ok := a.parse(res.Body)
	if !ok {
		return nil, denyBadAnswer
	}
	return d, nil
}

// isUnauthorized reports a function error whose message is
// "Unauthorized": callback("Unauthorized") or throw new
// Error("Unauthorized") in an authorizer, API Gateway's way to ask for 401.
func isUnauthorized(le *lambda.Error) bool {
	if le.Message == "Unauthorized" {
		return true
	}
	var e struct {
		ErrorMessage string `json:"errorMessage"`
	}
	return json.Unmarshal(le.Body, &e) == nil && e.ErrorMessage == "Unauthorized"
}

// event builds the authorizer's input: TOKEN's {type, authorizationToken,
// methodArn}, or the REQUEST event, which is the proxy event of the
// payload version without a body, plus type, the method or route ARN and
// the identity source values.
func (a *Authorizer) event(r *http.Request, x *pipeline.Exchange, values []string) ([]byte, error) {
	arn := a.arn(r)
	if a.Token {
		return json.Marshal(map[string]string{"type": enterprise.AuthorizerToken, "authorizationToken": values[0], "methodArn": arn})
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	tr := &transform.Request{
		Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Host: r.Host, Proto: r.Proto,
		Scheme: scheme, Header: r.Header, RemoteAddr: r.RemoteAddr, Time: time.Now(),
	}
	if x.Matched != nil {
		// The route's resource and path parameters, as the function's
		// event shows them (API Gateway gives the authorizer the route's).
		tr.Resource, tr.PathParameters = pipeline.ResourceOf(x.Matched, x.Path)
		if tr.Resource != "" && a.V2 {
			tr.RouteKey = "ANY " + tr.Resource
		}
	}
	if x.Auth != nil && x.Auth.ClientCert != nil {
		// A verified client certificate is part of the request context
		// the authorizer sees, as in API Gateway.
		tr.Authorizer = &transform.Authorizer{ClientCert: x.Auth.ClientCert}
	}
	var raw []byte
	var err error
	if a.V2 {
		raw, err = transform.APIGatewayV2Event(tr)
	} else {
		raw, err = transform.APIGatewayV1Event(tr)
	}
	if err != nil {
		return nil, err
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	delete(ev, "body")
	delete(ev, "isBase64Encoded")
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		ev[k] = b
	}
	set("type", enterprise.AuthorizerRequest)
	if a.V2 {
		set("routeArn", arn)
		set("identitySource", nonNil(values))
	} else {
		set("version", enterprise.AuthorizerPayload10)
		set("methodArn", arn)
		set("identitySource", strings.Join(values, ","))
		set("authorizationToken", strings.Join(values, ","))
	}
	return json.Marshal(ev)
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// parse reads the authorizer's answer. ok is false for an answer API
// Gateway refuses with 500 (AUTHORIZER_CONFIGURATION_ERROR): not an
// object, isAuthorized not a boolean, no principalId or policyDocument,
// or (payload 1.0) a context value that is an object or an array.
func (a *Authorizer) parse(body []byte) (*decision, bool) {
	if a.Simple {
		var s struct {
			IsAuthorized *bool          `json:"isAuthorized"`
			Context      map[string]any `json:"context"`
		}
		if json.Unmarshal(body, &s) != nil || s.IsAuthorized == nil {
			return nil, false
		}
		return &decision{simple: true, authorized: *s.IsAuthorized, context: nonNilMap(s.Context)}, true
	}
	var p struct {
		PrincipalID    *string         `json:"principalId"`
		PolicyDocument json.RawMessage `json:"policyDocument"`
		Context        map[string]any  `json:"context"`
	}
	if json.Unmarshal(body, &p) != nil || p.PrincipalID == nil || len(p.PolicyDocument) == 0 {
		return nil, false
	}
	pol, ok := parsePolicy(p.PolicyDocument)
	if !ok {
		return nil, false
	}
	if !a.V2 {
		for _, v := range p.Context {
			switch v.(type) {
			case map[string]any, []any:
				return nil, false
			}
		}
	}
	return &decision{policy: pol, principal: *p.PrincipalID, context: nonNilMap(p.Context)}, true
}

// nonNilMap makes an absent context an empty one, so payload 2.0 events
// still show requestContext.authorizer.lambda.
func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// cache holds authorizer answers by identity. It is bounded: when full,
// expired answers are dropped, and if that frees nothing, all of them (a
// flood of distinct identities then costs authorizer calls, never
// memory).
type cache struct {
	mu sync.RWMutex
	m  map[string]*decision
	// flights are the calls under way, by identity.
	flights map[string]*flight
}

// flight is one authorizer call that requests of one identity share.
type flight struct {
	done chan struct{} // closed once d and err are set
	d    *decision
	err  error
}

// join returns the call under way for key, or a new one that the caller
// (leader) must make and land.
func (c *cache) join(key string) (f *flight, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[key]; f != nil {
		return f, false
	}
	f = &flight{done: make(chan struct{})}
	c.flights[key] = f
	return f, true
}

// land ends a call: an answer is cached, and the waiting requests get it
// (or the failure, which is not cached).
func (c *cache) land(key string, f *flight, d *decision, err error, now time.Time) {
	if err == nil {
		c.put(key, d, now)
	}
	c.mu.Lock()
	delete(c.flights, key)
	c.mu.Unlock()
	f.d, f.err = d, err
	close(f.done)
}

// MaxCachedAnswers bounds each authorizer's cache.
const MaxCachedAnswers = 10000

func (c *cache) get(key string, now time.Time) *decision {
	c.mu.RLock()
	d := c.m[key]
	c.mu.RUnlock()
	if d == nil || !now.Before(d.expires) {
		return nil
	}
	return d
}

func (c *cache) put(key string, d *decision, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= MaxCachedAnswers {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= MaxCachedAnswers {
			clear(c.m)
		}
	}
	c.m[key] = d
}

var caches sync.Map // key -> *cache

func cacheFor(key string) *cache {
	if c, ok := caches.Load(key); ok {
		return c.(*cache)
	}
	c, _ := caches.LoadOrStore(key, &cache{m: map[string]*decision{}, flights: map[string]*flight{}})
	return c.(*cache)
}

// Describe names the authorizer for tests and dumps.
func (a *Authorizer) Describe() string {
	kind, version := enterprise.AuthorizerRequest, enterprise.AuthorizerPayload10
	if a.Token {
		kind = enterprise.AuthorizerToken
	}
	if a.V2 {
		version = enterprise.AuthorizerPayload20
	}
	return fmt.Sprintf("lambdaAuthorizer function=%s qualifier=%q region=%s type=%s payload=%s simple=%v sources=%v ttl=%s",
		a.Target.FunctionName, a.Target.Qualifier, a.Target.Region, kind, version, a.Simple, a.Sources, a.TTL)
}
