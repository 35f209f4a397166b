// Package rbac is Gloo Enterprise's rbac option as a request filter of
// the route pipeline: it allows a request when one of its policies matches
// it, a policy matching when the caller's validated JWT makes it one of
// the policy's principals and the request has the policy's permissions.
// Anything else is refused with 403. It runs after the JWT filters, whose
// claims it reads from the exchange.
package rbac

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
)

// ReasonDenied is the denial reason (metric label value).
const ReasonDenied = "rbac_denied"

// Policies is a compiled set of policies; none refuses every request.
type Policies struct {
	list []policy
}

type policy struct {
	principals []principal
	pathPrefix string
	methods    []string
}

type principal struct {
	provider string
	matcher  gateway.ClaimMatcher
	claims   []claim
}

type claim struct {
	path  []string
	value string
}

// New compiles Gloo's policies (by name, applied in name order; the
// result does not depend on it). Validation has checked them.
func New(policies map[string]gateway.RbacPolicy) *Policies {
	names := make([]string, 0, len(policies))
	for n := range policies {
		names = append(names, n)
	}
	sort.Strings(names)
	ps := &Policies{}
	for _, n := range names {
		gp := policies[n]
		p := policy{}
		if perm := gp.Permissions; perm != nil {
			p.pathPrefix = perm.PathPrefix
			for _, m := range perm.Methods {
				p.methods = append(p.methods, strings.ToUpper(m))
			}
		}
		for _, pr := range gp.Principals {
			jp := pr.JwtPrincipal
			if jp == nil {
				continue
			}
			c := principal{provider: jp.Provider, matcher: jp.Matcher}
			keys := make([]string, 0, len(jp.Claims))
			for k := range jp.Claims {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				path := []string{k}
				if gp.NestedClaimDelimiter != "" {
					path = strings.Split(k, gp.NestedClaimDelimiter)
				}
				c.claims = append(c.claims, claim{path: path, value: jp.Claims[k]})
			}
			p.principals = append(p.principals, c)
		}
		ps.list = append(ps.list, p)
	}
	return ps
}

// FilterRequest allows the request when a policy matches it, else refuses
// it with 403 (RFC 6750's insufficient_scope).
func (ps *Policies) FilterRequest(_ http.ResponseWriter, r *http.Request, x *pipeline.Exchange) error {
	var claims map[string]any
	if x.Auth != nil {
		claims = x.Auth.Claims
	}
	for i := range ps.list {
		if ps.list[i].matches(r, claims, x.JWTProvider) {
			return nil
		}
	}
	return httperr.Forbidden(ReasonDenied, `Bearer error="insufficient_scope"`)
}

func (p *policy) matches(r *http.Request, claims map[string]any, provider string) bool {
	if p.pathPrefix != "" && !strings.HasPrefix(r.URL.Path, p.pathPrefix) {
		return false
	}
	if len(p.methods) > 0 && !slices.Contains(p.methods, r.Method) {
		return false
	}
	if claims == nil {
		return false
	}
	for i := range p.principals {
		if p.principals[i].matches(claims, provider) {
			return true
		}
	}
	return false
}

func (pr *principal) matches(claims map[string]any, provider string) bool {
	if pr.provider != "" && pr.provider != provider {
		return false
	}
	for _, c := range pr.claims {
		v, ok := lookup(claims, c.path)
		if !ok || !matchClaim(pr.matcher, c.path, v, c.value) {
			return false
		}
	}
	return true
}

// lookup follows a claim path through nested objects.
func lookup(claims map[string]any, path []string) (any, bool) {
	var v any = claims
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func matchClaim(m gateway.ClaimMatcher, path []string, v any, want string) bool {
	switch m {
	case gateway.ClaimBoolean:
		b, ok := v.(bool)
		return ok && (want == "true") == b
	case gateway.ClaimListContains:
		switch l := v.(type) {
		case []any:
			for _, e := range l {
				if s, ok := e.(string); ok && s == want {
					return true
				}
			}
		case string:
			// OAuth 2.0's scope claim is one space-separated string.
			if len(path) == 1 && path[0] == "scope" {
				return slices.Contains(strings.Fields(l), want)
			}
		}
		return false
	}
	s, ok := v.(string)
	return ok && s == want
}

// String describes the policies (for golden tests and dumps).
func (ps *Policies) String() string {
	if len(ps.list) == 0 {
		return "rbac: deny all"
	}
	var b strings.Builder
	b.WriteString("rbac:")
	for _, p := range ps.list {
		fmt.Fprintf(&b, " policy(pathPrefix=%q methods=%v principals=%+v)", p.pathPrefix, p.methods, p.principals)
	}
	return b.String()
}
