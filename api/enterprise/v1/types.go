// Package v1 holds lambdagate's copy of Gloo Enterprise's
// enterprise.gloo.solo.io/v1 AuthConfig (extauth.proto), with Gloo's JSON
// field names, and the lambdaAuthorizer config type lambdagate adds to it.
package v1

import (
	core "github.com/lambdagate/lambdagate/api/core/v1"
)

// APIVersion is the group/version of the resources in this package.
const APIVersion = "enterprise.gloo.solo.io/v1"

// AuthConfig is Gloo's AuthConfig: the authentication a route or virtual
// host asks for with options.extauth.configRef.
type AuthConfig struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   core.ObjectMeta `json:"metadata"`
	Spec       AuthConfigSpec  `json:"spec"`
	Status     *core.Status    `json:"status,omitempty"`
}

// AuthConfigSpec is AuthConfig's spec.
//
// +kubebuilder:pruning:PreserveUnknownFields
type AuthConfigSpec struct {
	// Configs are checked in order; every one must accept the request
	// (Gloo's default without booleanExpr). Required, at least one.
	Configs []Config `json:"configs,omitempty"`
	// Unimplemented holds Gloo's AuthConfig fields lambdagate does not
	// implement (booleanExpr, failOnRedirect), kept as written and named
	// on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (s AuthConfigSpec) MarshalJSON() ([]byte, error) {
	type plain AuthConfigSpec
	return core.MarshalWithRaw(plain(s), s.Unimplemented)
}

// UnmarshalJSON keeps the fields AuthConfigSpec does not model.
func (s *AuthConfigSpec) UnmarshalJSON(b []byte) error {
	type plain AuthConfigSpec
	raw, err := core.UnmarshalWithRaw(b, (*plain)(s))
	s.Unimplemented = raw
	return err
}

// Config is Gloo's AuthConfig.Config: exactly one auth config type.
//
// +kubebuilder:pruning:PreserveUnknownFields
type Config struct {
	// Name shows in logs and statuses. Default: config_<index>, as Gloo
	// names it.
	Name *string `json:"name,omitempty"`
	// ApiKeyAuth accepts requests carrying a key stored in a Secret.
	ApiKeyAuth *ApiKeyAuth `json:"apiKeyAuth,omitempty"`
	// LambdaAuthorizer is a lambdagate extension: an API Gateway Lambda
	// authorizer (REQUEST or TOKEN) decides.
	LambdaAuthorizer *LambdaAuthorizer `json:"lambdaAuthorizer,omitempty"`
	// Unimplemented holds Gloo's other config types (basicAuth, oauth2,
	// ldap, opaAuth, ...), kept as written; an AuthConfig using one is
	// Rejected, never served open.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	return core.MarshalWithRaw(plain(c), c.Unimplemented)
}

// UnmarshalJSON keeps the fields Config does not model.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	raw, err := core.UnmarshalWithRaw(b, (*plain)(c))
	c.Unimplemented = raw
	return err
}

// ApiKeySecretType is the Secret type of Gloo's API key Secrets.
const ApiKeySecretType = "extauth.solo.io/apikey"

// ApiKeyDataKey is the Secret data key holding the API key; the other
// keys are the key's metadata.
const ApiKeyDataKey = "api-key"

// DefaultApiKeyHeader is where the key is read when headerName is unset.
const DefaultApiKeyHeader = "api-key"

// ApiKeyAuth is Gloo's ApiKeyAuth.
//
// +kubebuilder:pruning:PreserveUnknownFields
type ApiKeyAuth struct {
	// HeaderName is the request header holding the key. Default "api-key".
	HeaderName string `json:"headerName,omitempty"`
	// K8sSecretApikeyStorage selects the Secrets holding the keys.
	K8sSecretApikeyStorage *K8sSecretApiKeyStorage `json:"k8sSecretApikeyStorage,omitempty"`
	// LabelSelector is deprecated in Gloo (use k8sSecretApikeyStorage);
	// k8sSecretApikeyStorage's values replace it when set. Default: none.
	LabelSelector map[string]string `json:"labelSelector,omitempty"`
	// ApiKeySecretRefs is deprecated in Gloo (use
	// k8sSecretApikeyStorage); k8sSecretApikeyStorage's values replace it
	// when set. Default: none.
	ApiKeySecretRefs []core.ResourceRef `json:"apiKeySecretRefs,omitempty"`
	// HeadersFromMetadataEntry adds, for each header name, the value of a
	// metadata entry of the matched key's Secret to the request. Default:
	// none.
	HeadersFromMetadataEntry map[string]MetadataEntry `json:"headersFromMetadataEntry,omitempty"`
	// Unimplemented holds Gloo's aerospikeApikeyStorage and the deprecated
	// headersFromMetadata, kept as written and named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (a ApiKeyAuth) MarshalJSON() ([]byte, error) {
	type plain ApiKeyAuth
	return core.MarshalWithRaw(plain(a), a.Unimplemented)
}

// UnmarshalJSON keeps the fields ApiKeyAuth does not model.
func (a *ApiKeyAuth) UnmarshalJSON(b []byte) error {
	type plain ApiKeyAuth
	raw, err := core.UnmarshalWithRaw(b, (*plain)(a))
	a.Unimplemented = raw
	return err
}

// K8sSecretApiKeyStorage is Gloo's K8sSecretApiKeyStorage: the Secrets
// matching labelSelector plus those named by apiKeySecretRefs.
type K8sSecretApiKeyStorage struct {
	// LabelSelector selects Secrets by all of these labels. Default:
	// none (no Secret selected by label).
	LabelSelector map[string]string `json:"labelSelector,omitempty"`
	// ApiKeySecretRefs names Secrets; a ref without a namespace means the
	// AuthConfig's. Default: none.
	ApiKeySecretRefs []core.ResourceRef `json:"apiKeySecretRefs,omitempty"`
}

// MetadataEntry is Gloo's ApiKeyAuth.MetadataEntry.
type MetadataEntry struct {
	// Name is the Secret data key to read. Required.
	Name string `json:"name"`
	// Required refuses a key whose Secret lacks the entry. Default false:
	// no header is added.
	Required bool `json:"required,omitempty"`
}

// Lambda authorizer types (API Gateway's).
const (
	AuthorizerRequest = "REQUEST"
	AuthorizerToken   = "TOKEN"
)

// Lambda authorizer payload format versions.
const (
	AuthorizerPayload10 = "1.0"
	AuthorizerPayload20 = "2.0"
)

// LambdaAuthorizer is lambdagate's extension to AuthConfig.Config: an API
// Gateway Lambda authorizer, configured with API Gateway's names in Gloo's
// style (an upstream reference and a logical name, as a route's
// destinationSpec.aws names its function).
type LambdaAuthorizer struct {
	// UpstreamRef names the aws Upstream the authorizer function belongs
	// to; its credentials and endpoint invoke it. Required. A ref without
	// a namespace means the AuthConfig's.
	UpstreamRef *core.ResourceRef `json:"upstreamRef,omitempty"`
	// LogicalName picks the function among the upstream's
	// lambdaFunctions. Required.
	LogicalName string `json:"logicalName,omitempty"`
	// Type is REQUEST (default) or TOKEN (REST API token authorizers:
	// payload 1.0, one header identity source).
	Type string `json:"type,omitempty"`
	// IdentitySources are $request.header.NAME, $request.querystring.NAME
	// or $context.NAME. A request missing one is refused with 401 without
	// calling the authorizer; their values key the result cache. Required
	// when resultTtl is not 0. Default: none.
	IdentitySources []string `json:"identitySources,omitempty"`
	// ResultTtl caches the authorizer's answer per identity, 0s to 3600s;
	// 0s disables the cache. Default 300s.
	ResultTtl *core.Duration `json:"resultTtl,omitempty"`
	// PayloadFormatVersion is the event the authorizer receives and the
	// answer it gives: "1.0" (REST APIs, default) or "2.0" (HTTP APIs).
	PayloadFormatVersion string `json:"payloadFormatVersion,omitempty"`
	// EnableSimpleResponses reads a payload 2.0 answer as {isAuthorized,
	// context} instead of an IAM policy. Default false.
	EnableSimpleResponses bool `json:"enableSimpleResponses,omitempty"`
}

// ExtAuthExtension is Gloo's ExtAuthExtension, a route's or virtual
// host's options.extauth: exactly one of disable and configRef.
//
// +kubebuilder:pruning:PreserveUnknownFields
type ExtAuthExtension struct {
	// Disable turns the virtual host's authentication off for a route.
	// Default false.
	Disable bool `json:"disable,omitempty"`
	// ConfigRef names the AuthConfig; a ref without a namespace means the
	// virtual service's.
	ConfigRef *core.ResourceRef `json:"configRef,omitempty"`
	// Unimplemented holds Gloo's customAuth (an external auth server
	// lambdagate does not call), kept as written; a route using it is not
	// served.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (e ExtAuthExtension) MarshalJSON() ([]byte, error) {
	type plain ExtAuthExtension
	return core.MarshalWithRaw(plain(e), e.Unimplemented)
}

// UnmarshalJSON keeps the fields ExtAuthExtension does not model.
func (e *ExtAuthExtension) UnmarshalJSON(b []byte) error {
	type plain ExtAuthExtension
	raw, err := core.UnmarshalWithRaw(b, (*plain)(e))
	e.Unimplemented = raw
	return err
}

// Identity source kinds.
const (
	SourceHeader  = "header"
	SourceQuery   = "querystring"
	SourceContext = "context"
)

// ContextVariables are the $context variables an identity source may name.
var ContextVariables = []string{"accountId", "apiId", "domainName", "httpMethod", "identity.sourceIp", "identity.userAgent", "path", "protocol", "stage"}

// ParseIdentitySource splits an identity source into its kind (header,
// querystring or context) and name. HTTP APIs write
// "$request.header.Auth", "$request.querystring.name" and
// "$context.path"; REST APIs "method.request.header.Auth",
// "method.request.querystring.name" and "context.path": both are accepted.
// ok is false for anything else.
func ParseIdentitySource(s string) (kind, name string, ok bool) {
	for _, p := range [...]struct{ prefix, kind string }{
		{"$request.header.", SourceHeader}, {"method.request.header.", SourceHeader},
		{"$request.querystring.", SourceQuery}, {"method.request.querystring.", SourceQuery},
		{"$context.", SourceContext}, {"context.", SourceContext},
	} {
		if len(s) > len(p.prefix) && s[:len(p.prefix)] == p.prefix {
			name = s[len(p.prefix):]
			if p.kind == SourceContext {
				for _, c := range ContextVariables {
					if c == name {
						return p.kind, name, true
					}
				}
				return "", "", false
			}
			return p.kind, name, true
		}
	}
	return "", "", false
}
