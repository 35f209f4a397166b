package resource

import (
	"fmt"
	"sort"
	"strings"
	"time"

	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
)

// MaxAuthorizerTTL is API Gateway's limit on a Lambda authorizer's result
// TTL ("The maximum value is 3600, or 1 hour", CreateAuthorizer).
const MaxAuthorizerTTL = time.Hour

// DefaultAuthorizerTTL is API Gateway's default result TTL ("If this field
// is not set, the default value is 300", CreateAuthorizer).
const DefaultAuthorizerTTL = 300 * time.Second

// authConfigTypes are the config types lambdagate runs, for messages.
const authConfigTypes = "apiKeyAuth or lambdaAuthorizer"

func (v *validator) authConfig(s *enterprise.AuthConfigSpec) {
	if len(s.Configs) == 0 {
		v.errorf("spec.configs", "required value: at least one config (%s)", authConfigTypes)
	}
	names := map[string]int{}
	for i := range s.Configs {
		c := &s.Configs[i]
		p := fmt.Sprintf("spec.configs[%d]", i)
		if c.Name != nil {
			if *c.Name == "" {
				v.errorf(p+".name", "invalid value \"\": omit the name or give one")
			} else if j, dup := names[*c.Name]; dup {
				v.errorf(p+".name", "duplicate value %q: also the name of spec.configs[%d]", *c.Name, j)
			} else {
				names[*c.Name] = i
			}
		}
		n := len(c.Unimplemented)
		if c.ApiKeyAuth != nil {
			n++
			v.apiKeyAuth(p+".apiKeyAuth", c.ApiKeyAuth)
		}
		if c.LambdaAuthorizer != nil {
			n++
			v.lambdaAuthorizer(p+".lambdaAuthorizer", c.LambdaAuthorizer)
		}
		switch {
		case n == 0:
			v.errorf(p, "required value: one auth config type (%s)", authConfigTypes)
		case n > 1:
			v.errorf(p, "only one auth config type may be set per config; found %s", strings.Join(configTypes(c), ", "))
		}
	}
}

func configTypes(c *enterprise.Config) []string {
	var out []string
	if c.ApiKeyAuth != nil {
		out = append(out, "apiKeyAuth")
	}
	if c.LambdaAuthorizer != nil {
		out = append(out, "lambdaAuthorizer")
	}
	return append(out, c.Unimplemented.Names()...)
}

func (v *validator) apiKeyAuth(p string, a *enterprise.ApiKeyAuth) {
	if a.HeaderName != "" && !headerNameRe.MatchString(a.HeaderName) {
		v.errorf(p+".headerName", "invalid value %q: must be an HTTP header name", a.HeaderName)
	}
	sel, refs, refsPath := a.LabelSelector, a.ApiKeySecretRefs, p+".apiKeySecretRefs"
	if s := a.K8sSecretApikeyStorage; s != nil {
		sel, refs, refsPath = s.LabelSelector, s.ApiKeySecretRefs, p+".k8sSecretApikeyStorage.apiKeySecretRefs"
	}
	if len(sel) == 0 && len(refs) == 0 {
		v.errorf(p+".k8sSecretApikeyStorage", "required value: labelSelector or apiKeySecretRefs must select the Secrets holding the keys")
	}
	for i, r := range refs {
		if r.Name == "" {
			v.errorf(fmt.Sprintf("%s[%d].name", refsPath, i), "required value")
		}
	}
	headers := make([]string, 0, len(a.HeadersFromMetadataEntry))
	for h := range a.HeadersFromMetadataEntry {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	for _, h := range headers {
		hp := p + ".headersFromMetadataEntry." + h
		if !headerNameRe.MatchString(h) {
			v.errorf(hp, "invalid header name %q", h)
		}
		if a.HeadersFromMetadataEntry[h].Name == "" {
			v.errorf(hp+".name", "required value: the Secret data key to copy")
		}
	}
}

func (v *validator) lambdaAuthorizer(p string, a *enterprise.LambdaAuthorizer) {
	if a.UpstreamRef == nil || a.UpstreamRef.Name == "" {
		v.errorf(p+".upstreamRef.name", "required value")
	}
	if a.LogicalName == "" {
		v.errorf(p+".logicalName", "required value: the authorizer function's logicalName on the upstream")
	}
	switch a.Type {
	case "", enterprise.AuthorizerRequest, enterprise.AuthorizerToken:
	default:
		v.errorf(p+".type", "unsupported value %q: must be REQUEST (the default) or TOKEN", a.Type)
	}
	switch a.PayloadFormatVersion {
	case "", enterprise.AuthorizerPayload10, enterprise.AuthorizerPayload20:
	default:
		v.errorf(p+".payloadFormatVersion", "unsupported value %q: must be \"1.0\" (the default) or \"2.0\"", a.PayloadFormatVersion)
	}
	v2 := a.PayloadFormatVersion == enterprise.AuthorizerPayload20
	if a.EnableSimpleResponses && !v2 {
		v.errorf(p+".enableSimpleResponses", "requires payloadFormatVersion \"2.0\" (API Gateway: simple responses are an HTTP API payload 2.0 feature)")
	}
	if a.Type == enterprise.AuthorizerToken {
		if v2 {
			v.errorf(p+".type", "TOKEN authorizers take payload 1.0 (REST APIs); HTTP APIs have REQUEST authorizers only")
		}
		if len(a.IdentitySources) != 1 {
			v.errorf(p+".identitySources", "a TOKEN authorizer needs exactly one identity source, the header holding the token (e.g. $request.header.Authorization)")
		}
	}
	for i, s := range a.IdentitySources {
		kind, _, ok := enterprise.ParseIdentitySource(s)
		ip := fmt.Sprintf("%s.identitySources[%d]", p, i)
		switch {
		case !ok:
			v.errorf(ip, "invalid value %q: must be $request.header.NAME, $request.querystring.NAME or $context.VARIABLE (%s)", s, strings.Join(enterprise.ContextVariables, ", "))
		case a.Type == enterprise.AuthorizerToken && kind != enterprise.SourceHeader:
			v.errorf(ip, "invalid value %q: a TOKEN authorizer reads its token from a header ($request.header.NAME)", s)
		}
	}
	ttl := DefaultAuthorizerTTL
	if a.ResultTtl != nil {
		ttl = a.ResultTtl.Duration
		if ttl < 0 || ttl > MaxAuthorizerTTL || ttl%time.Second != 0 {
			v.errorf(p+".resultTtl", "invalid value %s: must be whole seconds from 0s (no cache) to 3600s (default 300s)", ttl)
		}
	}
	if ttl > 0 && len(a.IdentitySources) == 0 {
		v.errorf(p+".identitySources", "required value when results are cached (resultTtl is %s): the identity sources key the cache; set resultTtl: 0s to call the authorizer on every request without them", ttl)
	}
}

// extauth checks a route's or virtual host's options.extauth.
func (v *validator) extauth(p string, e *enterprise.ExtAuthExtension) {
	n := len(e.Unimplemented)
	if e.Disable {
		n++
	}
	if e.ConfigRef != nil {
		n++
		if e.ConfigRef.Name == "" {
			v.errorf(p+".configRef.name", "required value")
		}
	}
	switch {
	case n == 0:
		v.errorf(p, "required value: configRef (an AuthConfig) or disable: true")
	case n > 1:
		v.errorf(p, "only one of disable, configRef and customAuth may be set")
	}
}

// sslClientAuth checks the mutual TLS fields of an sslConfig.
func (v *validator) sslClientAuth(s *gateway.SSLConfig) {
	for i, n := range s.VerifySubjectAltName {
		if n == "" {
			v.errorf(fmt.Sprintf("spec.sslConfig.verifySubjectAltName[%d]", i), "invalid value \"\": give a subject alternative name")
		}
	}
	// With files the CA's presence is known here; a Secret's ca.crt is
	// checked by the translator, which reads the Secret.
	if len(s.VerifySubjectAltName) > 0 && s.SSLFiles != nil && s.SSLFiles.RootCa == "" {
		v.errorf("spec.sslConfig.verifySubjectAltName", "requires sslFiles.rootCa: only a certificate verified against a client CA has names to check")
	}
	if len(s.VerifySubjectAltName) > 0 && s.OneWayTls != nil && *s.OneWayTls {
		v.errorf("spec.sslConfig.verifySubjectAltName", "cannot be used with oneWayTls: true, which asks for no client certificate")
	}
}
