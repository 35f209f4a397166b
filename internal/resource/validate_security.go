package resource

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/auth/jwks"
)

// The CORS, JWT and RBAC options of virtual hosts and routes. A problem in
// a virtual host's option rejects the virtual service, one in a route's
// drops the route: neither is ever served without the check it asks for.

var maxAgeRe = regexp.MustCompile(`^[0-9]{1,10}$`)

func (v *validator) cors(p string, c *gateway.CorsPolicy, onRoute bool) {
	for i, o := range c.AllowOrigin {
		if o == "" || strings.ContainsAny(o, "\r\n\x00 ,") {
			v.errorf(fmt.Sprintf("%s.allowOrigin[%d]", p, i), "invalid value %q: must be an origin such as \"https://example.com\", or \"*\"", o)
		}
		if o == "*" && c.AllowCredentials {
			// API Gateway refuses this combination: with it any site
			// could make credentialed calls.
			v.errorf(fmt.Sprintf("%s.allowOrigin[%d]", p, i), "\"*\" cannot be allowed with allowCredentials: true (API Gateway refuses it too); list the origins")
		}
	}
	for i, re := range c.AllowOriginRegex {
		if _, err := regexp.Compile(re); err != nil {
			v.errorf(fmt.Sprintf("%s.allowOriginRegex[%d]", p, i), "invalid RE2 regular expression %q: %s", re, reError(err))
		}
	}
	for i, m := range c.AllowMethods {
		if m != "*" && !methodRe.MatchString(m) {
			v.errorf(fmt.Sprintf("%s.allowMethods[%d]", p, i), "invalid value %q: must be an HTTP method such as \"GET\", or \"*\"", m)
		}
	}
	for _, l := range []struct {
		field string
		names []string
	}{{"allowHeaders", c.AllowHeaders}, {"exposeHeaders", c.ExposeHeaders}} {
		for i, h := range l.names {
			if h != "*" && !headerNameRe.MatchString(h) {
				v.errorf(fmt.Sprintf("%s.%s[%d]", p, l.field, i), "invalid value %q: must be an HTTP header name, or \"*\"", h)
			}
		}
	}
	if c.MaxAge != "" && !maxAgeRe.MatchString(c.MaxAge) {
		v.errorf(p+".maxAge", "invalid value %q: must be a number of seconds such as \"86400\"", c.MaxAge)
	}
	if c.DisableForRoute && !onRoute {
		v.warnf(p+".disableForRoute", "has no effect on a virtual host; set it on a route's cors")
	}
}

func (v *validator) corsMerge(p string, m *gateway.CorsPolicyMergeSettings) {
	switch m.ExposeHeaders {
	case "", gateway.CorsMergeDefault, gateway.CorsMergeUnion:
	default:
		v.errorf(p+".exposeHeaders", "unsupported value %q: must be DEFAULT or UNION", m.ExposeHeaders)
	}
}

// vhostSecurity checks a virtual host's cors, jwt, jwtStaged and rbac.
func (v *validator) vhostSecurity(p string, o *gateway.VirtualHostOptions) {
	if o.Cors != nil {
		v.cors(p+".cors", o.Cors, false)
	}
	if o.CorsPolicyMergeSettings != nil {
		v.corsMerge(p+".corsPolicyMergeSettings", o.CorsPolicyMergeSettings)
	}
	if o.Jwt != nil && o.JwtStaged != nil {
		v.errorf(p, "only one of jwt and jwtStaged may be set")
	}
	if o.Jwt != nil {
		v.jwtStage(p+".jwt", o.Jwt)
	}
	if s := o.JwtStaged; s != nil {
		if s.BeforeExtAuth != nil {
			v.jwtStage(p+".jwtStaged.beforeExtAuth", s.BeforeExtAuth)
		}
		if s.AfterExtAuth != nil {
			v.jwtStage(p+".jwtStaged.afterExtAuth", s.AfterExtAuth)
		}
	}
	if o.Rbac != nil {
		v.rbac(p+".rbac", o.Rbac)
	}
}

// routeSecurity checks a route's cors, jwt, jwtStaged, jwtProvidersStaged
// and rbac.
func (v *validator) routeSecurity(p string, o *gateway.RouteOptions) {
	if o.Cors != nil {
		v.cors(p+".cors", o.Cors, true)
	}
	n := 0
	for _, set := range []bool{o.Jwt != nil, o.JwtStaged != nil, o.JwtProvidersStaged != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		v.errorf(p, "only one of jwt, jwtStaged and jwtProvidersStaged may be set")
	}
	if s := o.JwtProvidersStaged; s != nil {
		if s.BeforeExtAuth != nil {
			v.jwtStage(p+".jwtProvidersStaged.beforeExtAuth", s.BeforeExtAuth)
		}
		if s.AfterExtAuth != nil {
			v.jwtStage(p+".jwtProvidersStaged.afterExtAuth", s.AfterExtAuth)
		}
	}
	if o.Rbac != nil {
		v.rbac(p+".rbac", o.Rbac)
	}
}

func (v *validator) jwtStage(p string, e *gateway.JwtVhostExtension) {
	switch e.ValidationPolicy {
	case "", gateway.JwtRequireValid, gateway.JwtAllowMissing, gateway.JwtAllowMissingOrFailed:
	default:
		v.errorf(p+".validationPolicy", "unsupported value %q: must be REQUIRE_VALID, ALLOW_MISSING or ALLOW_MISSING_OR_FAILED", e.ValidationPolicy)
	}
	if len(e.Providers) == 0 {
		v.errorf(p+".providers", "required value: at least one provider")
	}
	for _, name := range slices.Sorted(maps.Keys(e.Providers)) {
		pp := fmt.Sprintf("%s.providers[%s]", p, name)
		if name == "" {
			v.errorf(pp, "a provider needs a name")
		}
		prov := e.Providers[name]
		v.jwtProvider(pp, &prov)
	}
}

func (v *validator) jwtProvider(p string, pr *gateway.JwtProvider) {
	switch j := pr.Jwks; {
	case j == nil:
		v.errorf(p+".jwks", "required value: remote or local")
	case (j.Remote == nil) == (j.Local == nil):
		v.errorf(p+".jwks", "exactly one of remote and local must be set")
	case j.Local != nil:
		if _, err := jwks.Parse(j.Local.Key); err != nil {
			v.errorf(p+".jwks.local.key", "invalid key: %v", err)
		}
	default:
		r := j.Remote
		u, err := url.Parse(r.URL)
		switch {
		case r.URL == "":
			v.errorf(p+".jwks.remote.url", "required value: the JWKS URL, such as \"https://issuer.example.com/.well-known/jwks.json\"")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
			v.errorf(p+".jwks.remote.url", "invalid value %q: must be an absolute http or https URL without credentials", r.URL)
		}
		if r.CacheDuration != nil && r.CacheDuration.Duration <= 0 {
			v.errorf(p+".jwks.remote.cacheDuration", "invalid value %s: must be more than 0", r.CacheDuration.Duration)
		}
		if a := r.AsyncFetch; a != nil && a.FailedRefetchDuration != nil && a.FailedRefetchDuration.Duration <= 0 {
			v.errorf(p+".jwks.remote.asyncFetch.failedRefetchDuration", "invalid value %s: must be more than 0", a.FailedRefetchDuration.Duration)
		}
		if r.UpstreamRef != nil {
			v.warnf(p+".jwks.remote.upstreamRef", "not used: lambdagate fetches the keys from url directly")
		}
	}
	for i, a := range pr.Audiences {
		if a == "" {
			v.errorf(fmt.Sprintf("%s.audiences[%d]", p, i), "empty audience")
		}
	}
	if ts := pr.TokenSource; ts != nil {
		for i, h := range ts.Headers {
			hp := fmt.Sprintf("%s.tokenSource.headers[%d]", p, i)
			if h.Header == "" {
				v.errorf(hp+".header", "required value")
			} else if !headerNameRe.MatchString(h.Header) {
				v.errorf(hp+".header", "invalid value %q: must be an HTTP header name", h.Header)
			}
		}
		for i, q := range ts.QueryParams {
			if q == "" {
				v.errorf(fmt.Sprintf("%s.tokenSource.queryParams[%d]", p, i), "empty query parameter name")
			}
		}
	}
	for i, c := range pr.ClaimsToHeaders {
		cp := fmt.Sprintf("%s.claimsToHeaders[%d]", p, i)
		if c.Claim == "" {
			v.errorf(cp+".claim", "required value")
		}
		v.headerName(cp+".header", c.Header)
	}
}

func (v *validator) rbac(p string, r *gateway.RbacExtensionSettings) {
	for _, name := range slices.Sorted(maps.Keys(r.Policies)) {
		pp := fmt.Sprintf("%s.policies[%s]", p, name)
		pol := r.Policies[name]
		if len(pol.Principals) == 0 {
			v.errorf(pp+".principals", "required value: a policy without principals matches no request")
		}
		for i, pr := range pol.Principals {
			ip := fmt.Sprintf("%s.principals[%d]", pp, i)
			jp := pr.JwtPrincipal
			if jp == nil {
				v.errorf(ip+".jwtPrincipal", "required value")
				continue
			}
			switch jp.Matcher {
			case "", gateway.ClaimExactString, gateway.ClaimListContains:
			case gateway.ClaimBoolean:
				for _, k := range slices.Sorted(maps.Keys(jp.Claims)) {
					if c := jp.Claims[k]; c != "true" && c != "false" {
						v.errorf(fmt.Sprintf("%s.jwtPrincipal.claims[%s]", ip, k), "invalid value %q: the BOOLEAN matcher compares with \"true\" or \"false\"", c)
					}
				}
			default:
				v.errorf(ip+".jwtPrincipal.matcher", "unsupported value %q: must be EXACT_STRING, BOOLEAN or LIST_CONTAINS", jp.Matcher)
			}
			for _, k := range slices.Sorted(maps.Keys(jp.Claims)) {
				if k == "" {
					v.errorf(ip+".jwtPrincipal.claims", "a claim needs a name")
				}
			}
		}
		if perm := pol.Permissions; perm != nil {
			if perm.PathPrefix != "" && !strings.HasPrefix(perm.PathPrefix, "/") {
				v.errorf(pp+".permissions.pathPrefix", "invalid value %q: must start with \"/\"", perm.PathPrefix)
			}
			for i, m := range perm.Methods {
				if !methodRe.MatchString(m) {
					v.errorf(fmt.Sprintf("%s.permissions.methods[%d]", pp, i), "invalid value %q: must be an HTTP method such as \"GET\"", m)
				}
			}
		}
	}
}
