package translate

import (
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// mergeZero fills dst's zero-valued fields from src, as mergo.Merge does in
// Gloo: overrides act as defaults, so for booleans the result is an OR and
// an override can force ASYNC but never SYNC.
func mergeZero(dst, src *gloo.AWSDestinationSpec) {
	if dst.LogicalName == "" {
		dst.LogicalName = src.LogicalName
	}
	// SYNC is the enum's zero value in Gloo's proto, so a route that says
	// SYNC is "unset" to mergo and an ASYNC override still applies.
	if dst.InvocationStyle == "" || dst.InvocationStyle == gloo.InvocationSync {
		if src.InvocationStyle != "" {
			dst.InvocationStyle = src.InvocationStyle
		}
	}
	dst.RequestTransformation = dst.RequestTransformation || src.RequestTransformation
	dst.ResponseTransformation = dst.ResponseTransformation || src.ResponseTransformation
	dst.UnwrapAsAlb = dst.UnwrapAsAlb || src.UnwrapAsAlb
	dst.UnwrapAsApiGateway = dst.UnwrapAsApiGateway || src.UnwrapAsApiGateway
	dst.WrapAsApiGateway = dst.WrapAsApiGateway || src.WrapAsApiGateway
	dst.WrapAsAlb = dst.WrapAsAlb || src.WrapAsAlb
	dst.AlbMultiValueHeaders = dst.AlbMultiValueHeaders || src.AlbMultiValueHeaders
	dst.DisableAlbPayloadLimits = dst.DisableAlbPayloadLimits || src.DisableAlbPayloadLimits
	if dst.PayloadFormatVersion == "" {
		dst.PayloadFormatVersion = src.PayloadFormatVersion
	}
	if dst.ResponseTransferMode == "" {
		dst.ResponseTransferMode = src.ResponseTransferMode
	}
}
