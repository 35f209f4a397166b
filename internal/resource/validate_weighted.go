package resource

import (
	"fmt"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
)

// routeAction checks a routeAction: exactly one of single, multi and
// upstreamGroup (Gloo's oneof destination).
func (v *validator) routeAction(p string, a *gateway.RouteAction) {
	n := 0
	for _, set := range []bool{a.Single != nil, a.Multi != nil, a.UpstreamGroup != nil} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		v.errorf(p, "only one of single, multi and upstreamGroup may be set")
	case a.Single != nil:
		v.destination(p+".single", a.Single)
	case a.Multi != nil:
		v.weightedDestinations(p+".multi.destinations", a.Multi.Destinations)
	case a.UpstreamGroup != nil:
		if a.UpstreamGroup.Name == "" {
			v.errorf(p+".upstreamGroup.name", "required value")
		}
	case len(a.Unimplemented) == 0:
		v.errorf(p+".single", "required value: a routeAction needs one of single, multi and upstreamGroup")
	}
}

func (v *validator) destination(p string, d *gateway.Destination) {
	if d.Upstream == nil || d.Upstream.Name == "" {
		v.errorf(p+".upstream.name", "required value")
	}
	if d.DestinationSpec != nil {
		if d.DestinationSpec.AWS == nil {
			v.errorf(p+".destinationSpec", "required value: aws")
		} else {
			v.awsDestination(p+".destinationSpec.aws", d.DestinationSpec.AWS)
		}
	}
}

// weightedDestinations checks the destinations of a routeAction.multi or
// an UpstreamGroup: as in Gloo, a destination without a weight gets none
// of the requests, and the weights must not add up to zero (Envoy refuses
// a total weight below 1).
func (v *validator) weightedDestinations(p string, ds []gateway.WeightedDestination) {
	if len(ds) == 0 {
		v.errorf(p, "required value: at least one destination with a weight above 0")
		return
	}
	var total uint64
	for i, d := range ds {
		dp := fmt.Sprintf("%s[%d]", p, i)
		if d.Destination == nil {
			v.errorf(dp+".destination", "required value")
		} else {
			v.destination(dp+".destination", d.Destination)
		}
		if d.Weight != nil {
			total += uint64(*d.Weight)
		}
	}
	if total == 0 {
		v.errorf(p, "invalid value: the weights add up to 0; at least one destination needs a weight above 0")
	}
}
