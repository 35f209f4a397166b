package v1

import (
	core "github.com/lambdagate/lambdagate/api/core/v1"
)

// MultiDestination is Gloo's MultiDestination (proxy.proto): the requests
// of a route split between destinations by weight.
type MultiDestination struct {
	// Destinations: at least one must have a weight above zero.
	Destinations []WeightedDestination `json:"destinations,omitempty"`
}

// WeightedDestination is Gloo's WeightedDestination (proxy.proto): a
// destination and its share of the requests.
//
// +kubebuilder:pruning:PreserveUnknownFields
type WeightedDestination struct {
	// Destination is required.
	Destination *Destination `json:"destination,omitempty"`
	// Weight is this destination's share: weight divided by the sum of
	// the weights. Default 0: no request goes to it.
	Weight *uint32 `json:"weight,omitempty"`
	// Unimplemented holds Gloo's options on a weighted destination
	// (options: its own header manipulation, transformations...), kept
	// as written and named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (w WeightedDestination) MarshalJSON() ([]byte, error) {
	type plain WeightedDestination
	return core.MarshalWithRaw(plain(w), w.Unimplemented)
}

// UnmarshalJSON keeps the fields WeightedDestination does not model.
func (w *WeightedDestination) UnmarshalJSON(b []byte) error {
	type plain WeightedDestination
	raw, err := core.UnmarshalWithRaw(b, (*plain)(w))
	w.Unimplemented = raw
	return err
}

// UpstreamGroup is Gloo's gloo.solo.io/v1 UpstreamGroup: weighted
// destinations that several routes share, so that a canary's weights
// change in one place. Its Go type lives here, beside Destination, which
// it is made of; its apiVersion is gloo.solo.io/v1.
type UpstreamGroup struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   core.ObjectMeta   `json:"metadata"`
	Spec       UpstreamGroupSpec `json:"spec"`
	Status     *core.Status      `json:"status,omitempty"`
}

// UpstreamGroupSpec is the spec of Gloo's UpstreamGroup.
type UpstreamGroupSpec struct {
	// Destinations: at least one must have a weight above zero. An
	// upstream without a namespace is in the group's namespace.
	Destinations []WeightedDestination `json:"destinations,omitempty"`
}
