package translate

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/auth/cors"
	"github.com/lambdagate/lambdagate/internal/auth/jwks"
	"github.com/lambdagate/lambdagate/internal/auth/jwt"
	"github.com/lambdagate/lambdagate/internal/auth/rbac"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/router"
)

// vhostSecurity is a virtual host's CORS, JWT and RBAC options, compiled
// once and shared by its routes, which may replace or turn off each.
type vhostSecurity struct {
	cors       *gateway.CorsPolicy
	mergeUnion bool // corsPolicyMergeSettings.exposeHeaders: UNION
	// before and after are the JWT stages before and after external
	// auth (Gloo's jwt option is the after stage).
	before, after *jwt.Stage
	rbac          *gateway.RbacExtensionSettings
	// requireRBAC: the Settings require an RBAC policy on every virtual
	// host (rbac.requireRbac): a route without one refuses every request.
	requireRBAC bool
}

// compileVhostSecurity compiles a virtual host's options; an error
// rejects the virtual service, which is never served without them.
func (b *builder) compileVhostSecurity(vh *gateway.VirtualHost) (*vhostSecurity, error) {
	s := &vhostSecurity{requireRBAC: b.requireRBAC}
	o := vh.Options
	if o == nil {
		return s, nil
	}
	s.cors, s.rbac = o.Cors, o.Rbac
	if m := o.CorsPolicyMergeSettings; m != nil {
		s.mergeUnion = m.ExposeHeaders == gateway.CorsMergeUnion
	}
	const p = "spec.virtualHost.options"
	var err error
	switch {
	case o.Jwt != nil:
		s.after, err = compileJWTStage(p+".jwt", o.Jwt)
	case o.JwtStaged != nil:
		if e := o.JwtStaged.BeforeExtAuth; e != nil {
			if s.before, err = compileJWTStage(p+".jwtStaged.beforeExtAuth", e); err != nil {
				return nil, err
			}
		}
		if e := o.JwtStaged.AfterExtAuth; e != nil {
			s.after, err = compileJWTStage(p+".jwtStaged.afterExtAuth", e)
		}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// apply adds a route's security filters to its compiled pipeline, first
// (CORS, then authentication, then authorization), and the CORS response
// filter last, so that the gateway's CORS headers win over any set
// before. It warns about RBAC policies that no token can satisfy.
//
// tls (the mutual-TLS check) runs right after CORS, and ext (external
// auth: API keys, Lambda authorizers) between the two JWT stages.
func (s *vhostSecurity) apply(rt *router.Route, i int, r *gateway.Route, tls, ext []pipeline.RequestFilter) (warn string, err error) {
	p := pipeline.Of(rt)
	var o gateway.RouteOptions
	if r.Options != nil {
		o = *r.Options
	}
	var filters []pipeline.RequestFilter
	if c := s.routeCors(o.Cors); c != nil {
		pol, err := cors.New(c)
		if err != nil {
			return "", fmt.Errorf("options.cors: %v", err)
		}
		filters = append(filters, pol)
		p.Response = append(p.Response, pol)
	}
	before, after := s.before, s.after
	if o.Jwt != nil && o.Jwt.Disable {
		before, after = nil, nil
	}
	if st := o.JwtStaged; st != nil {
		if st.BeforeExtAuth != nil && st.BeforeExtAuth.Disable {
			before = nil
		}
		if st.AfterExtAuth != nil && st.AfterExtAuth.Disable {
			after = nil
		}
	}
	if ps := o.JwtProvidersStaged; ps != nil {
		if e := ps.BeforeExtAuth; e != nil {
			if before, err = compileJWTStage(routeField(i)+".options.jwtProvidersStaged.beforeExtAuth", e); err != nil {
				return "", err
			}
		}
		if e := ps.AfterExtAuth; e != nil {
			if after, err = compileJWTStage(routeField(i)+".options.jwtProvidersStaged.afterExtAuth", e); err != nil {
				return "", err
			}
		}
	}
	filters = append(filters, tls...)
	if before != nil {
		filters = append(filters, before)
	}
	// External auth (Lambda authorizers, API keys) runs between the two
	// JWT stages.
	filters = append(filters, ext...)
	if after != nil {
		filters = append(filters, after)
	}
	settings := s.rbac
	if o.Rbac != nil {
		// Gloo: a route's RBAC settings replace the virtual host's.
		settings = o.Rbac
	}
	switch {
	case settings != nil && !settings.Disable:
		filters = append(filters, rbac.New(settings.Policies))
		if len(settings.Policies) > 0 && before == nil && after == nil {
			warn = "rbac: the route validates no JWT, so no jwtPrincipal can match: every request is refused (403)"
		}
	case settings == nil && s.requireRBAC:
		filters = append(filters, rbac.New(nil))
	}
	if filters != nil {
		p.Request = append(filters, p.Request...)
	}
	return warn, nil
}

// routeCors is the CORS policy a route uses: its own (Envoy's rule: the
// most specific wins), with the virtual host's exposed headers added under
// corsPolicyMergeSettings UNION; none when the route disables it.
func (s *vhostSecurity) routeCors(rc *gateway.CorsPolicy) *gateway.CorsPolicy {
	switch {
	case rc == nil:
		if s.cors != nil && s.cors.DisableForRoute {
			// disableForRoute on the virtual host's own policy has no
			// effect (Gloo: route policies only).
			c := *s.cors
			c.DisableForRoute = false
			return &c
		}
		return s.cors
	case rc.DisableForRoute:
		return nil
	case s.mergeUnion && s.cors != nil:
		c := *rc
		c.ExposeHeaders = append(slices.Clone(s.cors.ExposeHeaders), rc.ExposeHeaders...)
		return &c
	}
	return rc
}

// compileJWTStage compiles one JWT stage. Validation has checked it; the
// errors here are for a key that validation could not see fail.
func compileJWTStage(field string, e *gateway.JwtVhostExtension) (*jwt.Stage, error) {
	st := &jwt.Stage{}
	switch {
	case e.AllowMissingOrFailedJwt || e.ValidationPolicy == gateway.JwtAllowMissingOrFailed:
		st.Policy = jwt.AllowMissingOrFailed
	case e.ValidationPolicy == gateway.JwtAllowMissing:
		st.Policy = jwt.AllowMissing
	}
	names := make([]string, 0, len(e.Providers))
	for n := range e.Providers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		gp := e.Providers[n]
		p := &jwt.Provider{Name: n, Issuer: gp.Issuer, Audiences: gp.Audiences, KeepToken: gp.KeepToken, Skew: jwt.DefaultClockSkew}
		if gp.ClockSkewSeconds != nil {
			p.Skew = time.Duration(*gp.ClockSkewSeconds) * time.Second
		}
		p.Sources = jwt.DefaultSources
		if ts := gp.TokenSource; ts != nil && (len(ts.Headers) > 0 || len(ts.QueryParams) > 0) {
			p.Sources = nil
			for _, h := range ts.Headers {
				p.Sources = append(p.Sources, jwt.Source{Header: http.CanonicalHeaderKey(h.Header), Prefix: h.Prefix})
			}
			for _, q := range ts.QueryParams {
				p.Sources = append(p.Sources, jwt.Source{Query: q})
			}
		}
		for _, c := range gp.ClaimsToHeaders {
			p.Claims = append(p.Claims, jwt.ClaimHeader{Claim: c.Claim, Header: http.CanonicalHeaderKey(c.Header), Append: c.Append})
		}
		switch k := gp.Jwks; {
		case k == nil:
			return nil, fmt.Errorf("%s.providers[%s].jwks: required value", field, n)
		case k.Local != nil:
			set, err := jwks.Parse(k.Local.Key)
			if err != nil {
				return nil, fmt.Errorf("%s.providers[%s].jwks.local.key: invalid key: %v", field, n, err)
			}
			p.Keys = set
		case k.Remote != nil:
			var cache, retry time.Duration
			if k.Remote.CacheDuration != nil {
				cache = k.Remote.CacheDuration.Duration
			}
			if a := k.Remote.AsyncFetch; a != nil && a.FailedRefetchDuration != nil {
				retry = a.FailedRefetchDuration.Duration
			}
			p.Keys = jwks.Shared(k.Remote.URL, cache, retry)
		default:
			return nil, fmt.Errorf("%s.providers[%s].jwks: remote or local is required", field, n)
		}
		st.Providers = append(st.Providers, p)
	}
	return st, nil
}
