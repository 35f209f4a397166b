package translate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/auth/extauth"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// authConfigInfo is a translated AuthConfig: its filters, in the order of
// its configs, or why it is rejected.
type authConfigInfo struct {
	filters  []pipeline.RequestFilter
	rejected string
}

// authConfig translates an AuthConfig and sets its status. Problems that
// would let a request through that the manifest means to refuse reject
// it (and the routes using it are not served); problems that only refuse
// more (a referenced key Secret missing) are warnings.
func (b *builder) authConfig(ac *resource.AuthConfig) {
	info := &authConfigInfo{}
	b.authConfigs[ac.Metadata.Key()] = info
	problems := resource.Validate(ac)
	if errs := problems.Errors(); len(errs) > 0 {
		info.rejected = errs.Join()
		b.setStatus(ac, core.StateRejected, info.rejected)
		return
	}
	warnings := problems.Warnings()
	var errs resource.Problems
	for i := range ac.Spec.Configs {
		c := &ac.Spec.Configs[i]
		p := fmt.Sprintf("spec.configs[%d]", i)
		switch {
		case c.ApiKeyAuth != nil:
			f, warn := b.apiKeys(ac, p+".apiKeyAuth", c.ApiKeyAuth)
			warnings = append(warnings, warn...)
			info.filters = append(info.filters, f)
		case c.LambdaAuthorizer != nil:
			f, err := b.lambdaAuthorizer(ac, c.LambdaAuthorizer)
			if err != nil {
				errs = append(errs, resource.Problem{Field: p + ".lambdaAuthorizer", Message: err.Error(), Route: -1})
				continue
			}
			info.filters = append(info.filters, f)
		}
	}
	if len(errs) > 0 {
		info.filters, info.rejected = nil, errs.Join()
		b.setStatus(ac, core.StateRejected, info.rejected)
		return
	}
	if len(warnings) > 0 {
		b.setStatus(ac, core.StateWarning, warnings.Join())
		return
	}
	b.setStatus(ac, core.StateAccepted, "")
}

// apiKeys collects the keys an apiKeyAuth selects: the Secrets matching
// its label selector (any namespace) and those it names. Secrets that do
// not hold a key are left out with a warning: fewer keys only refuse more.
func (b *builder) apiKeys(ac *resource.AuthConfig, p string, a *enterprise.ApiKeyAuth) (*extauth.APIKeys, resource.Problems) {
	sel, refs := a.LabelSelector, a.ApiKeySecretRefs
	if s := a.K8sSecretApikeyStorage; s != nil {
		sel, refs = s.LabelSelector, s.ApiKeySecretRefs
	}
	var warn resource.Problems
	chosen := map[string]*core.Secret{}
	if len(sel) > 0 {
		for key, s := range b.secrets {
			if matchLabels(s.Metadata.Labels, sel) {
				chosen[key] = s
			}
		}
	}
	for _, r := range refs {
		if r.Namespace == "" {
			r.Namespace = ac.Metadata.Namespace
		}
		s, ok := b.secrets[r.String()]
		if !ok {
			warn = append(warn, resource.Problem{Field: p, Message: fmt.Sprintf("API key Secret %s not found; requests are checked against the other keys", r), Warning: true, Route: -1})
			continue
		}
		chosen[r.String()] = s
	}
	names := make([]string, 0, len(chosen))
	for k := range chosen {
		names = append(names, k)
	}
	sort.Strings(names)
	keys := make([]extauth.APIKey, 0, len(names))
	for _, k := range names {
		s := chosen[k]
		key := s.Data[enterprise.ApiKeyDataKey]
		if len(key) == 0 {
			warn = append(warn, resource.Problem{Field: p, Message: fmt.Sprintf("Secret %s has no %q entry and holds no API key", k, enterprise.ApiKeyDataKey), Warning: true, Route: -1})
			continue
		}
		md := make(map[string]string, len(s.Data)-1)
		for dk, dv := range s.Data {
			if dk != enterprise.ApiKeyDataKey {
				md[dk] = string(dv)
			}
		}
		keys = append(keys, extauth.APIKey{Name: s.Metadata.Name, Key: key, Metadata: md})
	}
	if len(keys) == 0 {
		warn = append(warn, resource.Problem{Field: p, Message: "no API key selected: every request is refused (401)", Warning: true, Route: -1})
	}
	header := a.HeaderName
	if header == "" {
		header = enterprise.DefaultApiKeyHeader
	}
	hdrs := make([]string, 0, len(a.HeadersFromMetadataEntry))
	for h := range a.HeadersFromMetadataEntry {
		hdrs = append(hdrs, h)
	}
	sort.Strings(hdrs)
	var mh []extauth.MetadataHeader
	for _, h := range hdrs {
		e := a.HeadersFromMetadataEntry[h]
		mh = append(mh, extauth.MetadataHeader{Header: http.CanonicalHeaderKey(h), Entry: e.Name, Required: e.Required})
	}
	return extauth.NewAPIKeys(http.CanonicalHeaderKey(header), keys, mh), warn
}

func matchLabels(labels, sel map[string]string) bool {
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// lambdaAuthorizer compiles a lambdaAuthorizer: its function is resolved
// on its upstream as a route's is (without fallbackToFirstFunction: an
// authorizer is never guessed).
func (b *builder) lambdaAuthorizer(ac *resource.AuthConfig, a *enterprise.LambdaAuthorizer) (*extauth.Authorizer, error) {
	ref := *a.UpstreamRef
	if ref.Namespace == "" {
		ref.Namespace = ac.Metadata.Namespace
	}
	up, ok := b.upstreams[ref.String()]
	if !ok {
		return nil, fmt.Errorf("upstreamRef: upstream %s not found", ref)
	}
	if up.rejected != "" {
		return nil, fmt.Errorf("upstreamRef: upstream %s is rejected: %s", ref, up.rejected)
	}
	fn, ok := up.functions[a.LogicalName]
	if !ok {
		return nil, fmt.Errorf("logicalName: upstream %s has no function %q; its logicalNames: %s", ref, a.LogicalName, logicalNames(up.obj.Spec.AWS.LambdaFunctions))
	}
	aws := up.obj.Spec.AWS
	name := fn.LambdaFunctionName
	if aws.AWSAccountID != "" && !strings.HasPrefix(name, "arn:") {
		name = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", aws.Region, aws.AWSAccountID, name)
	}
	t := &lambda.Target{
		VirtualService: "", Route: "authorizer " + ac.Metadata.Key(), Upstream: ref.String(),
		LogicalName: fn.LogicalName, FunctionName: name, Qualifier: fn.Qualifier, Region: aws.Region,
		Endpoint: up.endpoint, Credentials: up.creds, Timeout: extauth.AuthorizerTimeout,
	}
	t.Prepare()
	f := extauth.Authorizer{
		Target: t,
		Token:  a.Type == enterprise.AuthorizerToken,
		V2:     a.PayloadFormatVersion == enterprise.AuthorizerPayload20,
		Simple: a.EnableSimpleResponses,
		TTL:    resource.DefaultAuthorizerTTL,
	}
	if a.ResultTtl != nil {
		f.TTL = a.ResultTtl.Duration
	}
	for _, s := range a.IdentitySources {
		kind, n, _ := enterprise.ParseIdentitySource(s) // validated
		if kind == enterprise.SourceHeader {
			n = http.CanonicalHeaderKey(n)
		}
		f.Sources = append(f.Sources, extauth.Source{Kind: kind, Name: n})
	}
	// Everything that decides an answer keys the cache, so a changed
	// authorizer never reuses answers of the old one.
	key := fmt.Sprintf("%s|%s|%s|%s|%s|%v|%v|%v|%s|%v", ac.Metadata.Key(), t.Endpoint, name, fn.Qualifier, aws.Region, f.Token, f.V2, f.Simple, f.TTL, a.IdentitySources)
	return extauth.NewAuthorizer(f, key), nil
}

// routeAuth returns the authentication filters of a route: the route's
// options.extauth, else its virtual host's; disable: true turns the
// virtual host's off. A reference to an AuthConfig that is missing or
// rejected is an error: the route is not served rather than served open.
func (b *builder) routeAuth(vs *resource.VirtualService, r *gateway.Route) ([]pipeline.RequestFilter, error) {
	var e *enterprise.ExtAuthExtension
	field := "options.extauth"
	if r.Options != nil && r.Options.Extauth != nil {
		e = r.Options.Extauth
	} else if o := vs.Spec.VirtualHost.Options; o != nil && o.Extauth != nil {
		e, field = o.Extauth, "virtualHost.options.extauth"
	}
	if e == nil || e.Disable || e.ConfigRef == nil {
		return nil, nil
	}
	ref := *e.ConfigRef
	if ref.Namespace == "" {
		ref.Namespace = vs.Metadata.Namespace
	}
	ac, ok := b.authConfigs[ref.String()]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s.configRef: AuthConfig %s not found; the route is not served without its authentication", field, ref)
	case ac.rejected != "":
		return nil, fmt.Errorf("%s.configRef: AuthConfig %s is rejected; the route is not served without its authentication", field, ref)
	}
	return ac.filters, nil
}

// authConfigWithLastGood translates ac, or its last good version when ac
// is rejected, so that a bad update does not take its routes down.
func (b *builder) authConfigWithLastGood(ac *resource.AuthConfig) resource.Object {
	ref := resource.Ref(ac)
	b.authConfig(ac)
	lg := b.fallback(ac, 0)
	if lg == nil {
		return ac
	}
	cur, curInfo := b.statuses[ref], b.authConfigs[ac.Metadata.Key()]
	b.authConfig(lg.(*resource.AuthConfig))
	if b.statuses[ref].State == core.StateRejected {
		b.statuses[ref], b.authConfigs[ac.Metadata.Key()] = cur, curInfo
		return ac
	}
	b.statuses[ref] = stillServing(cur, lg)
	return lg
}

// sameAuthentication reports whether two versions of a virtual service ask
// for the same authentication: the same options.extauth, jwt, jwtStaged,
// jwtProvidersStaged and rbac on the virtual host and on each route, by
// position, and the same client certificate settings. A new version that
// asks for other authentication never falls back to its last good
// version, which would serve its routes without the authentication the
// manifest now asks for; its routes that cannot be authenticated are
// dropped instead.
func (b *builder) sameAuthentication(x, y *resource.VirtualService) bool {
	return b.authSignature(x) == b.authSignature(y)
}

func (b *builder) authSignature(vs *resource.VirtualService) string {
	var sig struct {
		Host   routeGuard
		Routes map[int]routeGuard
		SSL    []any
	}
	if vh := vs.Spec.VirtualHost; vh != nil {
		if o := vh.Options; o != nil {
			sig.Host = routeGuard{Extauth: o.Extauth, Jwt: o.Jwt, JwtStaged: o.JwtStaged, Rbac: o.Rbac}
		}
		sig.Routes = routeGuards(vh.Routes)
	}
	if ssl := vs.Spec.SSLConfig; ssl != nil && (ssl.OneWayTls == nil || !*ssl.OneWayTls) {
		// Client certificates are asked for by a rootCa file or a
		// Secret holding ca.crt.
		ca := ""
		if ssl.SSLFiles != nil {
			ca = ssl.SSLFiles.RootCa
		}
		if r := ssl.SecretRef; r != nil {
			ns := r.Namespace
			if ns == "" {
				ns = vs.Metadata.Namespace
			}
			if s, ok := b.secrets[ns+"/"+r.Name]; ok && len(s.Data[core.TLSRootCAKey]) > 0 {
				ca = "secret " + ns + "/" + r.Name
			}
		}
		if ca != "" || len(ssl.VerifySubjectAltName) > 0 {
			sig.SSL = []any{ca, ssl.VerifySubjectAltName}
		}
	}
	out, _ := json.Marshal(sig)
	return string(out)
}

// routeGuard is what a level (the virtual host, a route) asks of its
// callers: external auth, JWT and RBAC.
type routeGuard struct {
	Extauth, Jwt, JwtStaged, JwtProvidersStaged, Rbac any
}

// routeGuards holds the routes that set any guard, by position; the
// others do not count, so adding an open route changes nothing.
func routeGuards(routes []gateway.Route) map[int]routeGuard {
	var out map[int]routeGuard
	for i, r := range routes {
		o := r.Options
		if o == nil || (o.Extauth == nil && o.Jwt == nil && o.JwtStaged == nil && o.JwtProvidersStaged == nil && o.Rbac == nil) {
			continue
		}
		if out == nil {
			out = map[int]routeGuard{}
		}
		out[i] = routeGuard{Extauth: o.Extauth, Jwt: o.Jwt, JwtStaged: o.JwtStaged, JwtProvidersStaged: o.JwtProvidersStaged, Rbac: o.Rbac}
	}
	return out
}

// routesAuthSignature is routeGuards as comparable text.
func routesAuthSignature(routes []gateway.Route) string {
	out, _ := json.Marshal(routeGuards(routes))
	return string(out)
}
