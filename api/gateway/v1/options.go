package v1

import (
	"encoding/json"

	core "github.com/lambdagate/lambdagate/api/core/v1"
)

// RetryPolicy is Gloo's retries.options.gloo.solo.io.RetryPolicy. What an
// Invoke is retried on is lambdagate's rule (docs/reliability.md): the
// failures that prove the function did not run always; a function's own
// failure only when retryOn opts in with "5xx".
//
// +kubebuilder:pruning:PreserveUnknownFields
type RetryPolicy struct {
	// RetryOn is Envoy's comma-separated list of retry conditions. "5xx"
	// also retries function errors and answers lost after the request was
	// sent (the function may have run), "reset" only the lost answers;
	// neither applies to ASYNC routes. The other Envoy conditions are
	// accepted and add nothing. Default "": only what did not run.
	RetryOn string `json:"retryOn,omitempty"`
	// NumRetries is how many times a failed Invoke is sent again. Default
	// 1 (Gloo's), at most 10.
	NumRetries uint32 `json:"numRetries,omitempty"`
	// PerTryTimeout bounds each attempt; the route's timeout bounds them
	// all. Default: none.
	PerTryTimeout *core.Duration `json:"perTryTimeout,omitempty"`
	// RetryBackOff spaces the attempts. Default: Envoy's, 25ms base and
	// a 250ms maximum.
	RetryBackOff *RetryBackOff `json:"retryBackOff,omitempty"`
	// Unimplemented holds Gloo's previousPriorities (upstream failover
	// priorities, which a Lambda upstream has none of), kept as written
	// and named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (r RetryPolicy) MarshalJSON() ([]byte, error) {
	type plain RetryPolicy
	return core.MarshalWithRaw(plain(r), r.Unimplemented)
}

// UnmarshalJSON keeps the fields RetryPolicy does not model.
func (r *RetryPolicy) UnmarshalJSON(b []byte) error {
	type plain RetryPolicy
	raw, err := core.UnmarshalWithRaw(b, (*plain)(r))
	r.Unimplemented = raw
	return err
}

// RetryBackOff is Gloo's RetryBackOff: fully jittered exponential backoff.
type RetryBackOff struct {
	// BaseInterval is required, at least 1ms.
	BaseInterval *core.Duration `json:"baseInterval,omitempty"`
	// MaxInterval caps a wait, at least baseInterval. Default 10 times
	// baseInterval (Envoy's).
	MaxInterval *core.Duration `json:"maxInterval,omitempty"`
}

// RouteFaults is Gloo's fault.options.gloo.solo.io.RouteFaults: the delay
// runs first, then the abort, as in Envoy's fault filter.
type RouteFaults struct {
	// Abort answers a share of the requests with a status, calling no
	// Lambda. Default: none.
	Abort *RouteAbort `json:"abort,omitempty"`
	// Delay holds a share of the requests before they go on. Default:
	// none.
	Delay *RouteDelay `json:"delay,omitempty"`
}

// Percentage is Gloo's float percentage, a JSON number from 0 to 100. A
// struct, so that the CRD generator takes the number type from the marker.
//
// +kubebuilder:validation:Type=number
type Percentage struct {
	Value float64 `json:"-"`
}

// MarshalJSON writes the number.
func (p Percentage) MarshalJSON() ([]byte, error) { return json.Marshal(p.Value) }

// UnmarshalJSON reads a number.
func (p *Percentage) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &p.Value) }

// RouteAbort is Gloo's RouteAbort.
type RouteAbort struct {
	// Percentage of the requests aborted, 0 to 100. Default 0.
	Percentage Percentage `json:"percentage,omitempty"`
	// HttpStatus is the status answered, 200 to 599; required.
	HttpStatus uint32 `json:"httpStatus,omitempty"`
}

// RouteDelay is Gloo's RouteDelay.
type RouteDelay struct {
	// Percentage of the requests delayed, 0 to 100. Default 0.
	Percentage Percentage `json:"percentage,omitempty"`
	// FixedDelay is the delay, more than 0; required.
	FixedDelay *core.Duration `json:"fixedDelay,omitempty"`
}

// GzipCompressionLevel is Gloo's Gzip.CompressionLevel.Enum, by name.
type GzipCompressionLevel string

// The compression levels and zlib's levels behind them.
const (
	GzipDefault GzipCompressionLevel = "DEFAULT" // zlib level 6
	GzipBest    GzipCompressionLevel = "BEST"    // 9
	GzipSpeed   GzipCompressionLevel = "SPEED"   // 1
)

// Gzip is the shape of Gloo's solo.io.envoy.config.filter.http.gzip.v2.Gzip
// (Envoy's gzip filter), which Gloo sets on a Gateway's httpGateway
// options. lambdagate has no Gateway kind: it reads it from a virtual
// host's options (a lambdagate extension).
//
// +kubebuilder:pruning:PreserveUnknownFields
type Gzip struct {
	// ContentLength is the smallest body compressed, in bytes, at least
	// 30. Default 30.
	ContentLength *uint32 `json:"contentLength,omitempty"`
	// CompressionLevel is DEFAULT (zlib's 6), BEST (9) or SPEED (1).
	// Default DEFAULT.
	CompressionLevel GzipCompressionLevel `json:"compressionLevel,omitempty"`
	// ContentType lists the media types compressed (parameters ignored),
	// at most 50. Default: application/javascript, application/json,
	// application/xhtml+xml, image/svg+xml, text/css, text/html,
	// text/plain, text/xml.
	ContentType []string `json:"contentType,omitempty"`
	// DisableOnEtagHeader leaves answers with an ETag uncompressed.
	// Default false: a strong ETag is removed, a weak one kept.
	DisableOnEtagHeader bool `json:"disableOnEtagHeader,omitempty"`
	// RemoveAcceptEncodingHeader removes Accept-Encoding from the request
	// the function sees. Default false.
	RemoveAcceptEncodingHeader bool `json:"removeAcceptEncodingHeader,omitempty"`
	// Unimplemented holds Gloo's zlib tuning (memoryLevel, windowBits,
	// compressionStrategy), which Go's compress/flate does not offer, kept
	// as written and named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (g Gzip) MarshalJSON() ([]byte, error) {
	type plain Gzip
	return core.MarshalWithRaw(plain(g), g.Unimplemented)
}

// UnmarshalJSON keeps the fields Gzip does not model.
func (g *Gzip) UnmarshalJSON(b []byte) error {
	type plain Gzip
	raw, err := core.UnmarshalWithRaw(b, (*plain)(g))
	g.Unimplemented = raw
	return err
}
