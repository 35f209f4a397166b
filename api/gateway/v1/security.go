package v1

import core "github.com/lambdagate/lambdagate/api/core/v1"

// CorsPolicy is Gloo's cors.options.gloo.solo.io.CorsPolicy. Once a route
// has one, the gateway answers its preflight requests itself and sets the
// CORS headers of its answers, replacing any the function returns (as an
// API Gateway HTTP API does).
type CorsPolicy struct {
	// AllowOrigin lists the origins allowed, compared exactly; "*" allows
	// any. Default: none.
	AllowOrigin []string `json:"allowOrigin,omitempty"`
	// AllowOriginRegex lists RE2 expressions an origin may match in
	// full. Default: none.
	AllowOriginRegex []string `json:"allowOriginRegex,omitempty"`
	// AllowMethods is the Access-Control-Allow-Methods of a preflight
	// answer. Default: not sent.
	AllowMethods []string `json:"allowMethods,omitempty"`
	// AllowHeaders is the Access-Control-Allow-Headers of a preflight
	// answer. Default: not sent.
	AllowHeaders []string `json:"allowHeaders,omitempty"`
	// ExposeHeaders is the Access-Control-Expose-Headers of an answer.
	// Default: not sent.
	ExposeHeaders []string `json:"exposeHeaders,omitempty"`
	// MaxAge is the Access-Control-Max-Age of a preflight answer, in
	// seconds (a string, as in Gloo). Default: not sent.
	MaxAge string `json:"maxAge,omitempty"`
	// AllowCredentials sends Access-Control-Allow-Credentials: true.
	// Default false.
	AllowCredentials bool `json:"allowCredentials,omitempty"`
	// DisableForRoute, on a route, turns the virtual host's policy off for
	// that route. Default false.
	DisableForRoute bool `json:"disableForRoute,omitempty"`
}

// CorsMergeStrategy is Gloo's CorsPolicyMergeSettings.MergeStrategy.
type CorsMergeStrategy string

// The merge strategies.
const (
	// CorsMergeDefault: a route's policy replaces the virtual host's.
	CorsMergeDefault CorsMergeStrategy = "DEFAULT"
	// CorsMergeUnion: the route's list is added to the virtual host's.
	CorsMergeUnion CorsMergeStrategy = "UNION"
)

// CorsPolicyMergeSettings is Gloo's
// cors.options.gloo.solo.io.CorsPolicyMergeSettings: how a route's policy
// combines with its virtual host's.
type CorsPolicyMergeSettings struct {
	// ExposeHeaders is DEFAULT or UNION. Default DEFAULT.
	ExposeHeaders CorsMergeStrategy `json:"exposeHeaders,omitempty"`
}

// JwtStagedVhostExtension is Gloo Enterprise's
// jwt.options.gloo.solo.io.JwtStagedVhostExtension: the JWT providers of
// the stage before and the stage after external auth.
type JwtStagedVhostExtension struct {
	// BeforeExtAuth runs before external auth. Default: none.
	BeforeExtAuth *JwtVhostExtension `json:"beforeExtAuth,omitempty"`
	// AfterExtAuth runs after external auth. Default: none.
	AfterExtAuth *JwtVhostExtension `json:"afterExtAuth,omitempty"`
}

// JwtValidationPolicy is Gloo's VhostExtension.ValidationPolicy.
type JwtValidationPolicy string

// The validation policies.
const (
	// JwtRequireValid: only a request with a valid token passes.
	JwtRequireValid JwtValidationPolicy = "REQUIRE_VALID"
	// JwtAllowMissing: a request without a token passes
	// unauthenticated; an invalid token is refused.
	JwtAllowMissing JwtValidationPolicy = "ALLOW_MISSING"
	// JwtAllowMissingOrFailed: every request passes; only a valid token
	// authenticates it.
	JwtAllowMissingOrFailed JwtValidationPolicy = "ALLOW_MISSING_OR_FAILED"
)

// JwtVhostExtension is Gloo Enterprise's jwt.options.gloo.solo.io
// VhostExtension.
type JwtVhostExtension struct {
	// Providers by name: a token valid for any of them authenticates the
	// request. Required.
	Providers map[string]JwtProvider `json:"providers,omitempty"`
	// AllowMissingOrFailedJwt is Gloo's deprecated spelling of
	// validationPolicy ALLOW_MISSING_OR_FAILED, and wins over it.
	// Default false.
	AllowMissingOrFailedJwt bool `json:"allowMissingOrFailedJwt,omitempty"`
	// ValidationPolicy says what happens to a request without a valid
	// token. Default REQUIRE_VALID.
	ValidationPolicy JwtValidationPolicy `json:"validationPolicy,omitempty"`
}

// JwtRouteExtension is Gloo Enterprise's jwt.options.gloo.solo.io
// RouteExtension.
type JwtRouteExtension struct {
	// Disable turns the virtual host's JWT checks off for the route.
	// Default false.
	Disable bool `json:"disable,omitempty"`
}

// JwtStagedRouteExtension is Gloo Enterprise's JwtStagedRouteExtension.
type JwtStagedRouteExtension struct {
	// BeforeExtAuth turns off the virtual host's stage before external
	// auth. Default: unchanged.
	BeforeExtAuth *JwtRouteExtension `json:"beforeExtAuth,omitempty"`
	// AfterExtAuth turns off the virtual host's stage after external
	// auth. Default: unchanged.
	AfterExtAuth *JwtRouteExtension `json:"afterExtAuth,omitempty"`
}

// JwtStagedRouteProvidersExtension is Gloo Enterprise's
// JwtStagedRouteProvidersExtension: a route's own providers, which replace
// the virtual host's for that stage.
type JwtStagedRouteProvidersExtension struct {
	// BeforeExtAuth replaces the virtual host's stage before external
	// auth. Default: the virtual host's.
	BeforeExtAuth *JwtVhostExtension `json:"beforeExtAuth,omitempty"`
	// AfterExtAuth replaces the virtual host's stage after external auth.
	// Default: the virtual host's.
	AfterExtAuth *JwtVhostExtension `json:"afterExtAuth,omitempty"`
}

// JwtProvider is Gloo Enterprise's jwt.options.gloo.solo.io.Provider.
type JwtProvider struct {
	// Jwks holds or locates the keys that sign the tokens. Required.
	Jwks *Jwks `json:"jwks,omitempty"`
	// Audiences: the token's aud (or, without aud, its client_id, as API
	// Gateway accepts) must be one of them. Default: any audience.
	Audiences []string `json:"audiences,omitempty"`
	// Issuer: the token's iss must equal it. Default: any issuer.
	Issuer string `json:"issuer,omitempty"`
	// TokenSource says where the token is. Default: the Authorization
	// header after "Bearer ", then the access_token query parameter.
	TokenSource *JwtTokenSource `json:"tokenSource,omitempty"`
	// KeepToken forwards the header holding the token to the function.
	// Default false: the header is removed once the token is validated.
	KeepToken bool `json:"keepToken,omitempty"`
	// ClaimsToHeaders copies claims of a valid token into request
	// headers. Default: none.
	ClaimsToHeaders []JwtClaimToHeader `json:"claimsToHeaders,omitempty"`
	// ClockSkewSeconds is the leeway on exp, nbf and iat. Default 60.
	ClockSkewSeconds *uint32 `json:"clockSkewSeconds,omitempty"`
}

// Jwks is Gloo Enterprise's jwt.options.gloo.solo.io.Jwks: exactly one of
// remote and local.
type Jwks struct {
	// Remote fetches the keys from a JWKS URL.
	Remote *RemoteJwks `json:"remote,omitempty"`
	// Local holds the keys inline.
	Local *LocalJwks `json:"local,omitempty"`
}

// RemoteJwks is Gloo Enterprise's jwt.options.gloo.solo.io.RemoteJwks.
type RemoteJwks struct {
	// URL of the JSON Web Key Set, absolute http or https. Required.
	URL string `json:"url,omitempty"`
	// UpstreamRef is accepted and not used: lambdagate fetches url
	// directly. Default: none.
	UpstreamRef *core.ResourceRef `json:"upstreamRef,omitempty"`
	// CacheDuration is how long fetched keys are used before they are
	// fetched again, in the background. Default 5m.
	CacheDuration *core.Duration `json:"cacheDuration,omitempty"`
	// AsyncFetch is accepted; the keys are fetched when a request first
	// needs them, then refreshed in the background. Default: none.
	AsyncFetch *JwksAsyncFetch `json:"asyncFetch,omitempty"`
}

// JwksAsyncFetch is Envoy's jwt_authn.v3.JwksAsyncFetch, as Gloo copies it.
type JwksAsyncFetch struct {
	// FastListener is accepted and has no effect: lambdagate never holds
	// its listener for a key fetch. Default false.
	FastListener bool `json:"fastListener,omitempty"`
	// FailedRefetchDuration is how long after a failed fetch the next
	// is tried. Default 1s.
	FailedRefetchDuration *core.Duration `json:"failedRefetchDuration,omitempty"`
}

// LocalJwks is Gloo Enterprise's jwt.options.gloo.solo.io.LocalJwks.
type LocalJwks struct {
	// Key is a JSON Web Key Set, one JSON Web Key, or PEM public keys or
	// certificates. Required.
	Key string `json:"key,omitempty"`
}

// JwtTokenSource is Gloo Enterprise's jwt.options.gloo.solo.io
// TokenSource: the places tried in order, headers first.
type JwtTokenSource struct {
	// Headers to read the token from. Default: none.
	Headers []JwtHeaderSource `json:"headers,omitempty"`
	// QueryParams to read the token from. Default: none.
	QueryParams []string `json:"queryParams,omitempty"`
}

// JwtHeaderSource is Gloo Enterprise's TokenSource.HeaderSource.
type JwtHeaderSource struct {
	// Header is the header's name. Required.
	Header string `json:"header,omitempty"`
	// Prefix before the token, such as "Bearer ". Default: none.
	Prefix string `json:"prefix,omitempty"`
}

// JwtClaimToHeader is Gloo Enterprise's jwt.options.gloo.solo.io
// ClaimToHeader.
type JwtClaimToHeader struct {
	// Claim is the claim's name. Required.
	Claim string `json:"claim,omitempty"`
	// Header receives the claim's value (a string as it is, anything
	// else as JSON). Required.
	Header string `json:"header,omitempty"`
	// Append adds the value beside the header's; false replaces them.
	// Default false.
	Append bool `json:"append,omitempty"`
}

// RbacExtensionSettings is Gloo Enterprise's
// rbac.options.gloo.solo.io.ExtensionSettings: a request is allowed when
// one of the policies matches it.
type RbacExtensionSettings struct {
	// Disable turns RBAC off; on a route, the route's settings replace
	// the virtual host's. Default false.
	Disable bool `json:"disable,omitempty"`
	// Policies by name. None (and not disabled): every request is
	// refused. Default: none.
	Policies map[string]RbacPolicy `json:"policies,omitempty"`
}

// RbacPolicy is Gloo Enterprise's rbac.options.gloo.solo.io.Policy: it
// matches a request whose caller is one of the principals and which the
// permissions allow.
type RbacPolicy struct {
	// Principals: any one matches. Required.
	Principals []RbacPrincipal `json:"principals,omitempty"`
	// Permissions the request must have. Default: any request.
	Permissions *RbacPermissions `json:"permissions,omitempty"`
	// NestedClaimDelimiter splits claim names into paths
	// ("parent.child" with "."). Default "": names are not split.
	NestedClaimDelimiter string `json:"nestedClaimDelimiter,omitempty"`
}

// RbacPrincipal is Gloo Enterprise's rbac.options.gloo.solo.io.Principal.
type RbacPrincipal struct {
	// JwtPrincipal is required.
	JwtPrincipal *JWTPrincipal `json:"jwtPrincipal,omitempty"`
}

// ClaimMatcher is Gloo Enterprise's JWTPrincipal.ClaimMatcher.
type ClaimMatcher string

// The claim matchers.
const (
	// ClaimExactString: the claim is a string equal to the value.
	ClaimExactString ClaimMatcher = "EXACT_STRING"
	// ClaimBoolean: the claim is a boolean equal to the value ("true" or
	// "false").
	ClaimBoolean ClaimMatcher = "BOOLEAN"
	// ClaimListContains: the claim is a list holding the value (or, for
	// the scope claim, a space-separated string holding it).
	ClaimListContains ClaimMatcher = "LIST_CONTAINS"
)

// JWTPrincipal is Gloo Enterprise's rbac.options.gloo.solo.io
// JWTPrincipal: the caller of a request with a valid token whose claims
// all match.
type JWTPrincipal struct {
	// Claims the token must have, by name. Default: none (any token).
	Claims map[string]string `json:"claims,omitempty"`
	// Provider that must have validated the token. Default: any.
	Provider string `json:"provider,omitempty"`
	// Matcher compares the claims. Default EXACT_STRING.
	Matcher ClaimMatcher `json:"matcher,omitempty"`
}

// RbacPermissions is Gloo Enterprise's rbac.options.gloo.solo.io
// Permissions: every field set must match.
type RbacPermissions struct {
	// PathPrefix the request's path must start with. Default: any path.
	PathPrefix string `json:"pathPrefix,omitempty"`
	// Methods the request's method must be one of. Default: any method.
	Methods []string `json:"methods,omitempty"`
}
