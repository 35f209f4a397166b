// Package v1 holds lambdagate's copy of Gloo's gateway.solo.io/v1
// VirtualService, with Gloo's JSON field names.
package v1

import (
	core "github.com/lambdagate/lambdagate/api/core/v1"
	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
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
//
// +kubebuilder:pruning:PreserveUnknownFields
type VirtualHost struct {
	// Domains this host serves: exact names, "*", "*.suffix" or "prefix.*".
	// Default ["*"].
	Domains []string `json:"domains,omitempty"`
	// Routes are tried in order; the first match wins.
	Routes []Route `json:"routes,omitempty"`
	// Options are Gloo's virtual host options; those lambdagate does not
	// implement are kept and named on status.
	Options *VirtualHostOptions `json:"options,omitempty"`
	// Unimplemented holds Gloo's virtual host fields lambdagate does not
	// implement (optionsConfigRefs), kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (v VirtualHost) MarshalJSON() ([]byte, error) {
	type plain VirtualHost
	return core.MarshalWithRaw(plain(v), v.Unimplemented)
}

// UnmarshalJSON keeps the fields VirtualHost does not model.
func (v *VirtualHost) UnmarshalJSON(b []byte) error {
	type plain VirtualHost
	raw, err := core.UnmarshalWithRaw(b, (*plain)(v))
	v.Unimplemented = raw
	return err
}

// VirtualHostOptions is Gloo's VirtualHostOptions.
//
// +kubebuilder:pruning:PreserveUnknownFields
type VirtualHostOptions struct {
	// HeaderManipulation applies to every route of the virtual host,
	// before the route's own (so the route's wins). Default: none.
	HeaderManipulation *HeaderManipulation `json:"headerManipulation,omitempty"`
	// Retries is the retry policy of the routes that set none. Default:
	// none (see RetryPolicy for what is retried without one).
	Retries *RetryPolicy `json:"retries,omitempty"`
	// Gzip compresses the answers of every route of the virtual host (a
	// lambdagate extension: Gloo has it on the Gateway). Default: none.
	Gzip *Gzip `json:"gzip,omitempty"`
	// Cors is the CORS policy of every route. Default: none.
	Cors *CorsPolicy `json:"cors,omitempty"`
	// CorsPolicyMergeSettings says how a route's cors combines with
	// this one. Default: the route's replaces it.
	CorsPolicyMergeSettings *CorsPolicyMergeSettings `json:"corsPolicyMergeSettings,omitempty"`
	// Jwt validates JSON Web Tokens on every route, where jwtStaged's
	// afterExtAuth does. At most one of jwt and jwtStaged. Default: none.
	Jwt *JwtVhostExtension `json:"jwt,omitempty"`
	// JwtStaged validates JSON Web Tokens on every route, before or
	// after external auth. Default: none.
	JwtStaged *JwtStagedVhostExtension `json:"jwtStaged,omitempty"`
	// Rbac authorizes the callers of every route by their token's
	// claims. Default: none.
	Rbac *RbacExtensionSettings `json:"rbac,omitempty"`
	// Ratelimit holds the virtual host's local rate limit, shared by its
	// routes without one of their own. Default: none.
	Ratelimit *gloo.RateLimitVhostExtension `json:"ratelimit,omitempty"`
	// RatelimitBasic limits each caller of the virtual host's routes
	// without one of their own. Default: none.
	RatelimitBasic *gloo.IngressRateLimit `json:"ratelimitBasic,omitempty"`
	// Extauth authenticates every route of the virtual host with an
	// AuthConfig, unless a route sets its own. Default: none.
	Extauth *enterprise.ExtAuthExtension `json:"extauth,omitempty"`
	// Unimplemented holds Gloo's virtual host options (waf, dlp...),
	// kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (v VirtualHostOptions) MarshalJSON() ([]byte, error) {
	type plain VirtualHostOptions
	return core.MarshalWithRaw(plain(v), v.Unimplemented)
}

// UnmarshalJSON keeps the fields VirtualHostOptions does not model.
func (v *VirtualHostOptions) UnmarshalJSON(b []byte) error {
	type plain VirtualHostOptions
	raw, err := core.UnmarshalWithRaw(b, (*plain)(v))
	v.Unimplemented = raw
	return err
}

// Route is one matcher set and its action.
//
// +kubebuilder:pruning:PreserveUnknownFields
type Route struct {
	// Name is optional and shows in logs and metrics.
	Name string `json:"name,omitempty"`
	// Matchers: the route matches when any matcher matches. Default: a
	// single prefix "/" matcher.
	Matchers []Matcher `json:"matchers,omitempty"`
	// RouteAction, RedirectAction, DirectResponseAction and
	// DelegateAction are the route's action: exactly one is required.
	RouteAction *RouteAction `json:"routeAction,omitempty"`
	// RedirectAction answers with a redirect; no Lambda is called.
	RedirectAction *RedirectAction `json:"redirectAction,omitempty"`
	// DirectResponseAction answers with a fixed status and body; no
	// Lambda is called.
	DirectResponseAction *DirectResponseAction `json:"directResponseAction,omitempty"`
	// DelegateAction hands the requests under this route's prefix to the
	// routes of RouteTables.
	DelegateAction *DelegateAction `json:"delegateAction,omitempty"`
	// InheritableMatchers: the routes delegated to inherit this route's
	// header, method and query parameter matchers. Default: the parent
	// route's value; false on a virtual service.
	InheritableMatchers *bool `json:"inheritableMatchers,omitempty"`
	// InheritablePathMatchers: the routes delegated to inherit this
	// route's path matcher. Default: the parent route's value; false on
	// a virtual service.
	InheritablePathMatchers *bool         `json:"inheritablePathMatchers,omitempty"`
	Options                 *RouteOptions `json:"options,omitempty"`
	// Unimplemented holds Gloo's route fields lambdagate does not implement
	// (graphqlApiRef, optionsConfigRefs), kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (r Route) MarshalJSON() ([]byte, error) {
	type plain Route
	return core.MarshalWithRaw(plain(r), r.Unimplemented)
}

// UnmarshalJSON keeps the fields Route does not model.
func (r *Route) UnmarshalJSON(b []byte) error {
	type plain Route
	raw, err := core.UnmarshalWithRaw(b, (*plain)(r))
	r.Unimplemented = raw
	return err
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

// RouteAction sends the request to one destination, or to one of
// several by weight. Exactly one of single, multi and upstreamGroup.
//
// +kubebuilder:pruning:PreserveUnknownFields
type RouteAction struct {
	Single *Destination `json:"single,omitempty"`
	// Multi splits the requests between destinations by weight.
	Multi *MultiDestination `json:"multi,omitempty"`
	// UpstreamGroup names an UpstreamGroup whose destinations the
	// requests are split between. Default namespace: the virtual
	// service's.
	UpstreamGroup *core.ResourceRef `json:"upstreamGroup,omitempty"`
	// Unimplemented holds Gloo's route actions lambdagate does not
	// implement (clusterHeader, dynamicForwardProxy), kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (r RouteAction) MarshalJSON() ([]byte, error) {
	type plain RouteAction
	return core.MarshalWithRaw(plain(r), r.Unimplemented)
}

// UnmarshalJSON keeps the fields RouteAction does not model.
func (r *RouteAction) UnmarshalJSON(b []byte) error {
	type plain RouteAction
	raw, err := core.UnmarshalWithRaw(b, (*plain)(r))
	r.Unimplemented = raw
	return err
}

// Destination is an upstream plus its destination spec.
//
// +kubebuilder:pruning:PreserveUnknownFields
type Destination struct {
	Upstream        *core.ResourceRef `json:"upstream"`
	DestinationSpec *DestinationSpec  `json:"destinationSpec,omitempty"`
	// Unimplemented holds Gloo's destination fields lambdagate does not
	// implement (kube, consul, subset), kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (d Destination) MarshalJSON() ([]byte, error) {
	type plain Destination
	return core.MarshalWithRaw(plain(d), d.Unimplemented)
}

// UnmarshalJSON keeps the fields Destination does not model.
func (d *Destination) UnmarshalJSON(b []byte) error {
	type plain Destination
	raw, err := core.UnmarshalWithRaw(b, (*plain)(d))
	d.Unimplemented = raw
	return err
}

// DestinationSpec selects the destination type's options.
//
// +kubebuilder:pruning:PreserveUnknownFields
type DestinationSpec struct {
	AWS *gloo.AWSDestinationSpec `json:"aws,omitempty"`
	// Unimplemented holds Gloo's destination specs of other upstream
	// types, kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (d DestinationSpec) MarshalJSON() ([]byte, error) {
	type plain DestinationSpec
	return core.MarshalWithRaw(plain(d), d.Unimplemented)
}

// UnmarshalJSON keeps the fields DestinationSpec does not model.
func (d *DestinationSpec) UnmarshalJSON(b []byte) error {
	type plain DestinationSpec
	raw, err := core.UnmarshalWithRaw(b, (*plain)(d))
	d.Unimplemented = raw
	return err
}

// RouteOptions are the per-route options lambdagate supports.
//
// +kubebuilder:pruning:PreserveUnknownFields
type RouteOptions struct {
	// Timeout of the whole invocation, including retries after throttling.
	// Default 15s; at most 15m (Lambda's own maximum).
	Timeout *core.Duration `json:"timeout,omitempty"`
	// HeaderManipulation adds and removes request and response headers,
	// after the virtual host's. Default: none.
	HeaderManipulation *HeaderManipulation `json:"headerManipulation,omitempty"`
	// PrefixRewrite replaces the matched prefix of the path (the whole
	// path for an exact matcher) before the Lambda event is built; ""
	// removes it. At most one of prefixRewrite and regexRewrite. Default:
	// no rewrite.
	PrefixRewrite *string `json:"prefixRewrite,omitempty"`
	// RegexRewrite replaces every match of pattern.regex in the path with
	// substitution. Default: no rewrite.
	RegexRewrite *RegexMatchAndSubstitute `json:"regexRewrite,omitempty"`
	// Retries is the route's retry policy; it replaces the virtual host's.
	// Default: the virtual host's, else none.
	Retries *RetryPolicy `json:"retries,omitempty"`
	// Faults injects aborts and delays into a share of the requests.
	// Default: none.
	Faults *RouteFaults `json:"faults,omitempty"`
	// Cors replaces the virtual host's CORS policy for this route (or,
	// with disableForRoute, turns it off). Default: the virtual host's.
	Cors *CorsPolicy `json:"cors,omitempty"`
	// Jwt turns the virtual host's JWT checks off (disable). At most one
	// of jwt, jwtStaged and jwtProvidersStaged. Default: unchanged.
	Jwt *JwtRouteExtension `json:"jwt,omitempty"`
	// JwtStaged turns a stage of the virtual host's JWT checks off.
	// Default: unchanged.
	JwtStaged *JwtStagedRouteExtension `json:"jwtStaged,omitempty"`
	// JwtProvidersStaged replaces the virtual host's JWT providers of a
	// stage for this route. Default: the virtual host's.
	JwtProvidersStaged *JwtStagedRouteProvidersExtension `json:"jwtProvidersStaged,omitempty"`
	// Rbac replaces the virtual host's RBAC settings for this route.
	// Default: the virtual host's.
	Rbac *RbacExtensionSettings `json:"rbac,omitempty"`
	// Ratelimit holds the route's local rate limit, which replaces its
	// virtual host's. Default: none.
	Ratelimit *gloo.RateLimitRouteExtension `json:"ratelimit,omitempty"`
	// RatelimitBasic limits each caller of the route, replacing its
	// virtual host's. Default: none.
	RatelimitBasic *gloo.IngressRateLimit `json:"ratelimitBasic,omitempty"`
	// Extauth authenticates the route with an AuthConfig (configRef),
	// replacing the virtual host's, or turns the virtual host's off
	// (disable). Default: the virtual host's.
	Extauth *enterprise.ExtAuthExtension `json:"extauth,omitempty"`
	// Unimplemented holds Gloo's route options lambdagate does not
	// implement (transformations, waf...), kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (r RouteOptions) MarshalJSON() ([]byte, error) {
	type plain RouteOptions
	return core.MarshalWithRaw(plain(r), r.Unimplemented)
}

// UnmarshalJSON keeps the fields RouteOptions does not model.
func (r *RouteOptions) UnmarshalJSON(b []byte) error {
	type plain RouteOptions
	raw, err := core.UnmarshalWithRaw(b, (*plain)(r))
	r.Unimplemented = raw
	return err
}

// SSLConfig is Gloo's ssl.gloo.solo.io.SslConfig (the server side).
//
// +kubebuilder:pruning:PreserveUnknownFields
type SSLConfig struct {
	// SecretRef names a kubernetes.io/tls Secret (tls.crt, tls.key).
	SecretRef *core.ResourceRef `json:"secretRef,omitempty"`
	// SSLFiles names certificate files on disk instead.
	SSLFiles *SSLFiles `json:"sslFiles,omitempty"`
	// SniDomains this certificate serves. Default: the virtual host's
	// domains.
	SniDomains []string       `json:"sniDomains,omitempty"`
	Parameters *SSLParameters `json:"parameters,omitempty"`
	// VerifySubjectAltName accepts only client certificates with one of
	// these subject alternative names (DNS, URI, email or IP), once a
	// client CA (sslFiles.rootCa, or the Secret's ca.crt) asks for client
	// certificates. Default: any certificate the CA signed.
	VerifySubjectAltName []string `json:"verifySubjectAltName,omitempty"`
	// OneWayTls serves TLS without asking for a client certificate even
	// when a client CA is configured. Default false.
	OneWayTls *bool `json:"oneWayTls,omitempty"`
	// Unimplemented holds Gloo's TLS fields lambdagate does not
	// implement (sds, alpnProtocols...), kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (s SSLConfig) MarshalJSON() ([]byte, error) {
	type plain SSLConfig
	return core.MarshalWithRaw(plain(s), s.Unimplemented)
}

// UnmarshalJSON keeps the fields SSLConfig does not model.
func (s *SSLConfig) UnmarshalJSON(b []byte) error {
	type plain SSLConfig
	raw, err := core.UnmarshalWithRaw(b, (*plain)(s))
	s.Unimplemented = raw
	return err
}

// SSLFiles are PEM file paths.
//
// +kubebuilder:pruning:PreserveUnknownFields
type SSLFiles struct {
	TLSCert string `json:"tlsCert"`
	TLSKey  string `json:"tlsKey"`
	// RootCa is a PEM file of the CAs client certificates must chain to:
	// the listener then requires a client certificate for this virtual
	// service (mutual TLS) unless oneWayTls is true. Default: none.
	RootCa string `json:"rootCa,omitempty"`
	// Unimplemented holds Gloo's other SSLFiles fields (ocspStaple), kept
	// as written and named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (s SSLFiles) MarshalJSON() ([]byte, error) {
	type plain SSLFiles
	return core.MarshalWithRaw(plain(s), s.Unimplemented)
}

// UnmarshalJSON keeps the fields SSLFiles does not model.
func (s *SSLFiles) UnmarshalJSON(b []byte) error {
	type plain SSLFiles
	raw, err := core.UnmarshalWithRaw(b, (*plain)(s))
	s.Unimplemented = raw
	return err
}

// SSLParameters restricts the TLS versions.
//
// +kubebuilder:pruning:PreserveUnknownFields
type SSLParameters struct {
	// MinimumProtocolVersion: TLSv1_2 (default) or TLSv1_3.
	MinimumProtocolVersion string `json:"minimumProtocolVersion,omitempty"`
	// MaximumProtocolVersion: TLSv1_2 or TLSv1_3 (default).
	MaximumProtocolVersion string `json:"maximumProtocolVersion,omitempty"`
	// Unimplemented holds Gloo's cipherSuites and ecdhCurves, kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (s SSLParameters) MarshalJSON() ([]byte, error) {
	type plain SSLParameters
	return core.MarshalWithRaw(plain(s), s.Unimplemented)
}

// UnmarshalJSON keeps the fields SSLParameters does not model.
func (s *SSLParameters) UnmarshalJSON(b []byte) error {
	type plain SSLParameters
	raw, err := core.UnmarshalWithRaw(b, (*plain)(s))
	s.Unimplemented = raw
	return err
}

// DirectResponseAction is Gloo's DirectResponseAction (proxy.proto): a
// fixed answer, as an ALB fixed-response rule.
type DirectResponseAction struct {
	// Status is the HTTP status, required, 200 to 599 (Envoy's range
	// minus the informational codes, which cannot end an exchange).
	Status uint32 `json:"status,omitempty"`
	// Body is sent as written, with Content-Type text/plain unless
	// headerManipulation sets one. Default: no body.
	Body string `json:"body,omitempty"`
}

// RedirectResponseCode is Gloo's RedirectAction.RedirectResponseCode, by
// name.
type RedirectResponseCode string

// The redirect response codes and their statuses.
const (
	MovedPermanently  RedirectResponseCode = "MOVED_PERMANENTLY"  // 301, the default
	Found             RedirectResponseCode = "FOUND"              // 302
	SeeOther          RedirectResponseCode = "SEE_OTHER"          // 303
	TemporaryRedirect RedirectResponseCode = "TEMPORARY_REDIRECT" // 307
	PermanentRedirect RedirectResponseCode = "PERMANENT_REDIRECT" // 308
)

// RedirectAction is Gloo's RedirectAction (proxy.proto, Envoy's
// RedirectAction): the Location is the request's URL with the parts set
// here replaced.
type RedirectAction struct {
	// HostRedirect replaces the host (and its port when it names one).
	// Default: the request's host.
	HostRedirect string `json:"hostRedirect,omitempty"`
	// PathRedirect replaces the path; a query in it replaces the
	// request's. At most one of pathRedirect, prefixRewrite and
	// regexRewrite. Default: the request's path.
	PathRedirect string `json:"pathRedirect,omitempty"`
	// PrefixRewrite replaces the matched prefix (prefix and exact
	// matchers only).
	PrefixRewrite string `json:"prefixRewrite,omitempty"`
	// RegexRewrite replaces every match of pattern.regex in the path with
	// substitution (\1 names a capture group).
	RegexRewrite *RegexMatchAndSubstitute `json:"regexRewrite,omitempty"`
	// ResponseCode is one of MOVED_PERMANENTLY (301), FOUND (302),
	// SEE_OTHER (303), TEMPORARY_REDIRECT (307), PERMANENT_REDIRECT (308).
	// Default MOVED_PERMANENTLY.
	ResponseCode RedirectResponseCode `json:"responseCode,omitempty"`
	// HttpsRedirect sets the scheme to https (and drops the request's
	// port unless portRedirect or hostRedirect names one). Default false.
	HttpsRedirect bool `json:"httpsRedirect,omitempty"`
	// StripQuery drops the query. Default false.
	StripQuery bool `json:"stripQuery,omitempty"`
	// PortRedirect replaces the port, 1 to 65535. Default: unchanged.
	PortRedirect *uint32 `json:"portRedirect,omitempty"`
}

// RegexMatchAndSubstitute is Gloo's
// solo.io.envoy.type.matcher.v3.RegexMatchAndSubstitute.
type RegexMatchAndSubstitute struct {
	// Pattern is required.
	Pattern *RegexMatcher `json:"pattern,omitempty"`
	// Substitution replaces each match; \1 to \9 insert capture groups.
	Substitution string `json:"substitution,omitempty"`
}

// RegexMatcher is Gloo's solo.io.envoy.type.matcher.v3.RegexMatcher: an
// RE2 expression.
type RegexMatcher struct {
	// Regex is required.
	Regex string `json:"regex,omitempty"`
}

// HeaderManipulation is Gloo's headers.options.gloo.solo.io
// HeaderManipulation. Removals apply before additions, as in Envoy.
type HeaderManipulation struct {
	// RequestHeadersToAdd are set on the request before the Lambda event
	// is built. Default: none.
	RequestHeadersToAdd []HeaderValueOption `json:"requestHeadersToAdd,omitempty"`
	// RequestHeadersToRemove are removed from the request. Default: none.
	RequestHeadersToRemove []string `json:"requestHeadersToRemove,omitempty"`
	// ResponseHeadersToAdd are set on the answer. Default: none.
	ResponseHeadersToAdd []HeaderValueOption `json:"responseHeadersToAdd,omitempty"`
	// ResponseHeadersToRemove are removed from the answer. Default: none.
	ResponseHeadersToRemove []string `json:"responseHeadersToRemove,omitempty"`
}

// HeaderValueOption is Gloo's HeaderValueOption: one header and whether
// it is appended to the values already present.
type HeaderValueOption struct {
	// Header is required.
	Header *HeaderValue `json:"header,omitempty"`
	// Append adds the value beside existing ones; false replaces them.
	// Default true.
	Append *bool `json:"append,omitempty"`
}

// HeaderValue is one header's name and value.
type HeaderValue struct {
	// Key is the header name, required.
	Key string `json:"key,omitempty"`
	// Value is sent as written.
	Value string `json:"value,omitempty"`
}
