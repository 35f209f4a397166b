// Package v1 holds lambdagate's copy of Gloo's gateway.solo.io/v1
// VirtualService, with Gloo's JSON field names.
package v1

import (
	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// APIVersion is the group/version of the resources in this package.
const APIVersion = "gateway.solo.io/v1"

// VirtualService binds domains to routes.
type VirtualService struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   core.ObjectMeta    `json:"metadata"`
	Spec       VirtualServiceSpec `json:"spec"`
	Status     *core.Status       `json:"status,omitempty"`
}

// VirtualServiceSpec is Gloo's VirtualService spec.
type VirtualServiceSpec struct {
	// VirtualHost is required.
	VirtualHost *VirtualHost `json:"virtualHost"`
	// SSLConfig serves this virtual service over TLS on the HTTPS listener.
	SSLConfig *SSLConfig `json:"sslConfig,omitempty"`
	// DisplayName is informational.
	DisplayName string `json:"displayName,omitempty"`
}

// VirtualHost is a set of domains and their routes.
type VirtualHost struct {
	// Domains this host serves: exact names, "*", "*.suffix" or "prefix.*".
	// Default ["*"].
	Domains []string `json:"domains,omitempty"`
	// Routes are tried in order; the first match wins.
	Routes []Route `json:"routes,omitempty"`
}

// Route is one matcher set and its action.
type Route struct {
	// Name is optional and shows in logs and metrics.
	Name string `json:"name,omitempty"`
	// Matchers: the route matches when any matcher matches. Default: a
	// single prefix "/" matcher.
	Matchers    []Matcher     `json:"matchers,omitempty"`
	RouteAction *RouteAction  `json:"routeAction,omitempty"`
	Options     *RouteOptions `json:"options,omitempty"`
}

// Matcher is Gloo's matchers.core.gloo.solo.io.Matcher. At most one of
// prefix, exact and regex may be set.
type Matcher struct {
	Prefix string `json:"prefix,omitempty"`
	Exact  string `json:"exact,omitempty"`
	// Regex is an RE2 expression that must match the whole path.
	Regex string `json:"regex,omitempty"`
	// CaseSensitive defaults to true.
	CaseSensitive   *bool                   `json:"caseSensitive,omitempty"`
	Headers         []HeaderMatcher         `json:"headers,omitempty"`
	QueryParameters []QueryParameterMatcher `json:"queryParameters,omitempty"`
	// Methods: any of these methods matches; empty matches every method.
	Methods []string `json:"methods,omitempty"`
}

// HeaderMatcher matches a request header. With no value it matches when the
// header is present.
type HeaderMatcher struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
	// Regex treats Value as an RE2 expression (full match). Default false.
	Regex bool `json:"regex,omitempty"`
	// InvertMatch negates the result. Default false.
	InvertMatch bool `json:"invertMatch,omitempty"`
}

// QueryParameterMatcher matches a query parameter. With no value it matches
// when the parameter is present.
type QueryParameterMatcher struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
	// Regex treats Value as an RE2 expression (full match). Default false.
	Regex bool `json:"regex,omitempty"`
}

// RouteAction sends the request to one destination.
type RouteAction struct {
	Single *Destination `json:"single,omitempty"`
}

// Destination is an upstream plus its destination spec.
type Destination struct {
	Upstream        *core.ResourceRef `json:"upstream"`
	DestinationSpec *DestinationSpec  `json:"destinationSpec,omitempty"`
}

// DestinationSpec selects the destination type's options.
type DestinationSpec struct {
	AWS *gloo.AWSDestinationSpec `json:"aws,omitempty"`
}

// RouteOptions are the per-route options lambdagate supports.
type RouteOptions struct {
	// Timeout of the whole invocation, including retries after throttling.
	// Default 15s; at most 15m (Lambda's own maximum).
	Timeout *core.Duration `json:"timeout,omitempty"`
}

// SSLConfig is Gloo's ssl.gloo.solo.io.SslConfig (the server side).
type SSLConfig struct {
	// SecretRef names a kubernetes.io/tls Secret (tls.crt, tls.key).
	SecretRef *core.ResourceRef `json:"secretRef,omitempty"`
	// SSLFiles names certificate files on disk instead.
	SSLFiles *SSLFiles `json:"sslFiles,omitempty"`
	// SniDomains this certificate serves. Default: the virtual host's
	// domains.
	SniDomains []string       `json:"sniDomains,omitempty"`
	Parameters *SSLParameters `json:"parameters,omitempty"`
}

// SSLFiles are PEM file paths.
type SSLFiles struct {
	TLSCert string `json:"tlsCert"`
	TLSKey  string `json:"tlsKey"`
}

// SSLParameters restricts the TLS versions.
type SSLParameters struct {
	// MinimumProtocolVersion: TLSv1_2 (default) or TLSv1_3.
	MinimumProtocolVersion string `json:"minimumProtocolVersion,omitempty"`
	// MaximumProtocolVersion: TLSv1_2 or TLSv1_3 (default).
	MaximumProtocolVersion string `json:"maximumProtocolVersion,omitempty"`
}
