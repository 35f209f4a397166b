// Package cors is a route's CORS policy (Gloo's cors option) as a request
// and a response filter of the route pipeline. It behaves as an API
// Gateway HTTP API configured for CORS: the gateway answers preflight
// requests itself, before authentication and without calling the
// function, and sets the CORS headers of every answer, replacing any the
// function returned.
package cors

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
)

// Policy is one compiled CORS policy. It is both the request filter (the
// preflight answer, and the headers error answers carry) and the response
// filter (the function's CORS headers replaced). Immutable once built.
type Policy struct {
	origins     map[string]bool
	anyOrigin   bool
	regexes     []*regexp.Regexp
	methods     []string // Access-Control-Allow-Methods, joined; nil: not sent
	headers     []string // Access-Control-Allow-Headers
	expose      []string // Access-Control-Expose-Headers
	maxAge      []string // Access-Control-Max-Age
	credentials bool
}

// Header names, canonical, so the filters index header maps directly.
const (
	hOrigin        = "Origin"
	hVary          = "Vary"
	hRequestMethod = "Access-Control-Request-Method"
	hAllowOrigin   = "Access-Control-Allow-Origin"
	hAllowMethods  = "Access-Control-Allow-Methods"
	hAllowHeaders  = "Access-Control-Allow-Headers"
	hExposeHeaders = "Access-Control-Expose-Headers"
	hMaxAge        = "Access-Control-Max-Age"
	hCredentials   = "Access-Control-Allow-Credentials"
)

var (
	varyOrigin = []string{hOrigin}
	star       = []string{"*"}
	trueValue  = []string{"true"}
	zero       = []string{"0"}
)

// New compiles a policy. Validation has checked it (the regular
// expressions compile, maxAge is a number of seconds).
func New(c *gateway.CorsPolicy) (*Policy, error) {
	p := &Policy{origins: map[string]bool{}, credentials: c.AllowCredentials}
	for _, o := range c.AllowOrigin {
		if o == "*" {
			p.anyOrigin = true
			continue
		}
		p.origins[o] = true
	}
	for _, re := range c.AllowOriginRegex {
		// Envoy matches the whole origin.
		r, err := regexp.Compile(`^(?:` + re + `)$`)
		if err != nil {
			return nil, err
		}
		p.regexes = append(p.regexes, r)
	}
	p.methods = joined(c.AllowMethods)
	p.headers = joined(c.AllowHeaders)
	p.expose = joined(c.ExposeHeaders)
	if c.MaxAge != "" {
		p.maxAge = []string{c.MaxAge}
	}
	return p, nil
}

func joined(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return []string{strings.Join(l, ",")}
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin,
// nil when the origin is not allowed. "*" only for a policy allowing any
// origin without credentials, as API Gateway sends it; otherwise the
// origin itself.
func (p *Policy) allowOrigin(origin []string) []string {
	if len(origin) == 0 {
		return nil
	}
	o := origin[0]
	switch {
	case p.anyOrigin && !p.credentials:
		return star
	case p.anyOrigin || p.origins[o]:
		return origin[:1]
	}
	for _, re := range p.regexes {
		if re.MatchString(o) {
			return origin[:1]
		}
	}
	return nil
}

// FilterRequest answers a preflight request (OPTIONS with Origin and
// Access-Control-Request-Method) with 204 and the policy's headers, and
// on any other request sets the headers an answer to it carries, so that
// the gateway's own error answers (a 401 from authentication, for one)
// can be read by the page.
func (p *Policy) FilterRequest(w http.ResponseWriter, r *http.Request, x *pipeline.Exchange) error {
	h := w.Header()
	addVary(h)
	origin := r.Header[hOrigin]
	allow := p.allowOrigin(origin)
	if r.Method == http.MethodOptions && len(origin) > 0 && len(r.Header[hRequestMethod]) > 0 {
		if allow != nil {
			h[hAllowOrigin] = allow
			setIf(h, hAllowMethods, p.methods)
			setIf(h, hAllowHeaders, p.headers)
			setIf(h, hMaxAge, p.maxAge)
			if p.credentials {
				h[hCredentials] = trueValue
			}
		}
		h["Content-Length"] = zero
		w.WriteHeader(http.StatusNoContent)
		x.Status = http.StatusNoContent
		return pipeline.ErrAnswered
	}
	p.setActual(h, allow)
	return nil
}

// FilterResponse replaces every CORS header of the answer (the function
// may have set its own) with the policy's.
func (p *Policy) FilterResponse(r *http.Request, _ *pipeline.Exchange, status int, h http.Header) (int, error) {
	for k := range h {
		if len(k) > 15 && k[:15] == "Access-Control-" {
			delete(h, k)
		}
	}
	addVary(h)
	p.setActual(h, p.allowOrigin(r.Header[hOrigin]))
	return status, nil
}

func (p *Policy) setActual(h http.Header, allow []string) {
	if allow == nil {
		return
	}
	h[hAllowOrigin] = allow
	if p.credentials {
		h[hCredentials] = trueValue
	}
	setIf(h, hExposeHeaders, p.expose)
}

func setIf(h http.Header, k string, v []string) {
	if v != nil {
		h[k] = v
	}
}

// addVary makes caches key the answer on Origin: it depends on it.
func addVary(h http.Header) {
	v := h[hVary]
	if len(v) == 0 {
		h[hVary] = varyOrigin
		return
	}
	for _, s := range v {
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, hOrigin) {
				return
			}
		}
	}
	h[hVary] = append(v[:len(v):len(v)], hOrigin)
}

// String describes the policy (for golden tests and dumps).
func (p *Policy) String() string {
	origins := make([]string, 0, len(p.origins)+len(p.regexes)+1)
	if p.anyOrigin {
		origins = append(origins, "*")
	}
	for o := range p.origins {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for _, re := range p.regexes {
		origins = append(origins, "~"+re.String())
	}
	return fmt.Sprintf("cors: origins=%v methods=%v headers=%v expose=%v maxAge=%v credentials=%v",
		origins, p.methods, p.headers, p.expose, p.maxAge, p.credentials)
}
