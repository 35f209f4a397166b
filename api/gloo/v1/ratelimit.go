package v1

import core "github.com/lambdagate/lambdagate/api/core/v1"

// TokenBucket is Gloo's local_ratelimit.options.gloo.solo.io.TokenBucket
// (Envoy's local rate limit token bucket). Each request takes one token;
// a request finding none is answered 429.
type TokenBucket struct {
	// MaxTokens is the bucket's size and its initial content. Required,
	// at least 1.
	MaxTokens uint32 `json:"maxTokens,omitempty"`
	// TokensPerFill are added at each fill interval, up to maxTokens.
	// Default 1; must be more than 0.
	TokensPerFill *uint32 `json:"tokensPerFill,omitempty"`
	// FillInterval is the period of the fills. Default 1s; at least 50ms.
	FillInterval *core.Duration `json:"fillInterval,omitempty"`
}

// LocalRateLimitSettings is Gloo's local_ratelimit.options.gloo.solo.io
// Settings, which Gloo sets on a Gateway's HTTP listener options
// (httpLocalRatelimit). lambdagate has no Gateway kind: it reads it from
// Settings spec.httpLocalRatelimit and applies it to each listener.
type LocalRateLimitSettings struct {
	// DefaultLimit is a bucket per listener shared by the routes without
	// a local limit of their own or of their virtual host. Default: none.
	DefaultLimit *TokenBucket `json:"defaultLimit,omitempty"`
	// LocalRateLimitPerDownstreamConnection: a bucket per connection
	// instead of per gateway process. Only false (the default) is
	// supported.
	LocalRateLimitPerDownstreamConnection *bool `json:"localRateLimitPerDownstreamConnection,omitempty"`
	// EnableXRatelimitHeaders adds x-ratelimit-limit, -remaining and
	// -reset (Envoy's draft-03 headers) to the answers of locally limited
	// routes. Default false.
	EnableXRatelimitHeaders *bool `json:"enableXRatelimitHeaders,omitempty"`
}

// RateLimitUnit is Gloo's ratelimit.api.solo.io.RateLimit.Unit.
type RateLimitUnit string

// The rate limit units and their windows.
const (
	UnitSecond RateLimitUnit = "SECOND"
	UnitMinute RateLimitUnit = "MINUTE"
	UnitHour   RateLimitUnit = "HOUR"
	UnitDay    RateLimitUnit = "DAY"
)

// RateLimit is Gloo's ratelimit.api.solo.io.RateLimit: requestsPerUnit
// requests in each window of one unit, the windows aligned to the clock
// (as Gloo's and Envoy's rate-limit servers count).
type RateLimit struct {
	// Unit is SECOND, MINUTE, HOUR or DAY. Required.
	Unit RateLimitUnit `json:"unit,omitempty"`
	// RequestsPerUnit is required, at least 1.
	RequestsPerUnit uint32 `json:"requestsPerUnit,omitempty"`
}

// IngressRateLimit is Gloo's ratelimit.options.gloo.solo.io
// IngressRateLimit (the ratelimitBasic option): a limit per caller.
//
// +kubebuilder:pruning:PreserveUnknownFields
type IngressRateLimit struct {
	// AuthorizedLimits apply to each authenticated caller, keyed by its
	// identity (API key name, JWT issuer and subject, Lambda authorizer
	// principal, client certificate subject). Default: none.
	AuthorizedLimits *RateLimit `json:"authorizedLimits,omitempty"`
	// AnonymousLimits apply to each unauthenticated caller, keyed by its
	// address (or by anonymousKey). Default: none.
	AnonymousLimits *RateLimit `json:"anonymousLimits,omitempty"`
	// AnonymousKey is a lambdagate extension: what identifies an
	// unauthenticated caller, in the shape of Envoy's rate limit actions
	// that Gloo's rateLimits use. Default remoteAddress.
	AnonymousKey *RateLimitKey `json:"anonymousKey,omitempty"`
}

// RateLimitKey is a lambdagate extension naming a caller's key, shaped
// as Envoy's (and Gloo's ratelimit.api.solo.io) rate limit actions: at
// most one field is set.
type RateLimitKey struct {
	// RemoteAddress keys on the client's address (the connection's
	// peer). The default.
	RemoteAddress *RateLimitRemoteAddress `json:"remoteAddress,omitempty"`
	// RequestHeaders keys on a request header's value; a request without
	// the header is keyed on its address.
	RequestHeaders *RateLimitRequestHeaders `json:"requestHeaders,omitempty"`
	// GenericKey keys every anonymous caller on one value: the limit is
	// then the route's (or virtual host's) for all of them together.
	GenericKey *RateLimitGenericKey `json:"genericKey,omitempty"`
}

// RateLimitGenericKey is the genericKey rate limit action.
type RateLimitGenericKey struct {
	// DescriptorValue is required.
	DescriptorValue string `json:"descriptorValue,omitempty"`
}

// RateLimitRemoteAddress is the remoteAddress rate limit action; it has
// no fields.
type RateLimitRemoteAddress struct{}

// RateLimitRequestHeaders is the requestHeaders rate limit action.
type RateLimitRequestHeaders struct {
	// HeaderName is required.
	HeaderName string `json:"headerName,omitempty"`
	// DescriptorKey names the key in Envoy's descriptors; lambdagate
	// accepts and ignores it. Default "".
	DescriptorKey string `json:"descriptorKey,omitempty"`
}

// RateLimitVhostExtension is Gloo's ratelimit.options.gloo.solo.io
// RateLimitVhostExtension: a virtual host's options.ratelimit.
//
// +kubebuilder:pruning:PreserveUnknownFields
type RateLimitVhostExtension struct {
	// LocalRatelimit is one bucket shared by the virtual host's routes
	// that have no local limit of their own. Default: none.
	LocalRatelimit *TokenBucket `json:"localRatelimit,omitempty"`
	// Unimplemented holds Gloo's rateLimits (actions for an external
	// rate-limit server), kept as written and named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (r RateLimitVhostExtension) MarshalJSON() ([]byte, error) {
	type plain RateLimitVhostExtension
	return core.MarshalWithRaw(plain(r), r.Unimplemented)
}

// UnmarshalJSON keeps the fields RateLimitVhostExtension does not model.
func (r *RateLimitVhostExtension) UnmarshalJSON(b []byte) error {
	type plain RateLimitVhostExtension
	raw, err := core.UnmarshalWithRaw(b, (*plain)(r))
	r.Unimplemented = raw
	return err
}

// RateLimitRouteExtension is Gloo's ratelimit.options.gloo.solo.io
// RateLimitRouteExtension: a route's options.ratelimit.
//
// +kubebuilder:pruning:PreserveUnknownFields
type RateLimitRouteExtension struct {
	// LocalRatelimit is the route's own bucket; the route's requests then
	// do not count against its virtual host's. Default: none.
	LocalRatelimit *TokenBucket `json:"localRatelimit,omitempty"`
	// Unimplemented holds Gloo's rateLimits and includeVhRateLimits
	// (actions for an external rate-limit server), kept as written and
	// named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (r RateLimitRouteExtension) MarshalJSON() ([]byte, error) {
	type plain RateLimitRouteExtension
	return core.MarshalWithRaw(plain(r), r.Unimplemented)
}

// UnmarshalJSON keeps the fields RateLimitRouteExtension does not model.
func (r *RateLimitRouteExtension) UnmarshalJSON(b []byte) error {
	type plain RateLimitRouteExtension
	raw, err := core.UnmarshalWithRaw(b, (*plain)(r))
	r.Unimplemented = raw
	return err
}

// RateLimitServerSettings is Gloo's ratelimit.options.gloo.solo.io
// Settings (Settings spec.ratelimitServer): how the gateway reaches the
// store that counts ratelimitBasic limits for the whole fleet.
//
// +kubebuilder:pruning:PreserveUnknownFields
type RateLimitServerSettings struct {
	// RequestTimeout bounds each call to Redis. Default 100ms.
	RequestTimeout *core.Duration `json:"requestTimeout,omitempty"`
	// DenyOnFail refuses requests (500) while Redis cannot be reached;
	// false lets them through unlimited. Default false (Gloo's).
	DenyOnFail bool `json:"denyOnFail,omitempty"`
	// EnableXRatelimitHeaders adds x-ratelimit-limit, -remaining and
	// -reset (Envoy's draft-03 headers) to ratelimitBasic routes' answers.
	// Default false.
	EnableXRatelimitHeaders bool `json:"enableXRatelimitHeaders,omitempty"`
	// Redis is a lambdagate extension: the Redis that holds the shared
	// counters. Gloo's rate-limit server reads it from REDIS_URL. Default:
	// none, and each gateway process counts alone.
	Redis *RedisSettings `json:"redis,omitempty"`
	// Unimplemented holds Gloo's ratelimitServerRef and
	// rateLimitBeforeAuth, kept as written and named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (s RateLimitServerSettings) MarshalJSON() ([]byte, error) {
	type plain RateLimitServerSettings
	return core.MarshalWithRaw(plain(s), s.Unimplemented)
}

// UnmarshalJSON keeps the fields RateLimitServerSettings does not model.
func (s *RateLimitServerSettings) UnmarshalJSON(b []byte) error {
	type plain RateLimitServerSettings
	raw, err := core.UnmarshalWithRaw(b, (*plain)(s))
	s.Unimplemented = raw
	return err
}

// RedisSettings is a lambdagate extension naming the Redis that backs
// shared rate limits.
type RedisSettings struct {
	// URL is "host:port" (as Gloo's REDIS_URL) or a redis:// URL
	// (redis://host:port/db). Required.
	URL string `json:"url,omitempty"`
}
