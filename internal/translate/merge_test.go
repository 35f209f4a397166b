package translate

import (
	"testing"

	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// TestMergeZero pins Gloo's mergo.Merge semantics for destinationOverrides:
// the upstream's values fill only zero-valued route fields. In Gloo's proto
// SYNC is the enum's zero value, so a route that writes SYNC is the same as
// one that writes nothing, and an ASYNC override applies to both.
func TestMergeZero(t *testing.T) {
	tests := []struct {
		name            string
		route, upstream gloo.AWSDestinationSpec
		want            gloo.AWSDestinationSpec
	}{
		{
			name:     "empty route takes every override",
			upstream: gloo.AWSDestinationSpec{LogicalName: "echo", InvocationStyle: gloo.InvocationAsync, UnwrapAsAlb: true, PayloadFormatVersion: "2.0"},
			want:     gloo.AWSDestinationSpec{LogicalName: "echo", InvocationStyle: gloo.InvocationAsync, UnwrapAsAlb: true, PayloadFormatVersion: "2.0"},
		},
		{
			name:     "route logicalName is kept",
			route:    gloo.AWSDestinationSpec{LogicalName: "mine"},
			upstream: gloo.AWSDestinationSpec{LogicalName: "echo"},
			want:     gloo.AWSDestinationSpec{LogicalName: "mine"},
		},
		{
			name:     "booleans are an OR",
			route:    gloo.AWSDestinationSpec{WrapAsApiGateway: true},
			upstream: gloo.AWSDestinationSpec{RequestTransformation: true, ResponseTransformation: true, UnwrapAsApiGateway: true, WrapAsAlb: true, AlbMultiValueHeaders: true, DisableAlbPayloadLimits: true},
			want:     gloo.AWSDestinationSpec{WrapAsApiGateway: true, RequestTransformation: true, ResponseTransformation: true, UnwrapAsApiGateway: true, WrapAsAlb: true, AlbMultiValueHeaders: true, DisableAlbPayloadLimits: true},
		},
		{
			name:     "SYNC override cannot undo a route's ASYNC",
			route:    gloo.AWSDestinationSpec{InvocationStyle: gloo.InvocationAsync},
			upstream: gloo.AWSDestinationSpec{InvocationStyle: gloo.InvocationSync},
			want:     gloo.AWSDestinationSpec{InvocationStyle: gloo.InvocationAsync},
		},
		{
			name:     "ASYNC override applies to a route that writes SYNC (SYNC is Gloo's zero value)",
			route:    gloo.AWSDestinationSpec{InvocationStyle: gloo.InvocationSync},
			upstream: gloo.AWSDestinationSpec{InvocationStyle: gloo.InvocationAsync},
			want:     gloo.AWSDestinationSpec{InvocationStyle: gloo.InvocationAsync},
		},
		{
			name:     "route payloadFormatVersion is kept",
			route:    gloo.AWSDestinationSpec{PayloadFormatVersion: "1.0"},
			upstream: gloo.AWSDestinationSpec{PayloadFormatVersion: "2.0"},
			want:     gloo.AWSDestinationSpec{PayloadFormatVersion: "1.0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.route
			mergeZero(&got, &tc.upstream)
			if got != tc.want {
				t.Errorf("mergeZero(%+v, %+v) = %+v, want %+v", tc.route, tc.upstream, got, tc.want)
			}
		})
	}
}
