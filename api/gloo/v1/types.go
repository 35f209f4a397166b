// Package v1 holds lambdagate's copies of Gloo's gloo.solo.io/v1 resources,
// with Gloo's JSON field names: Upstream (the aws kind) and Settings.
package v1

import (
	"strings"

	core "github.com/lambdagate/lambdagate/api/core/v1"
)

// APIVersion is the group/version of the resources in this package.
const APIVersion = "gloo.solo.io/v1"

// Upstream is a Gloo Upstream. Only the aws upstream type is supported.
type Upstream struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   core.ObjectMeta `json:"metadata"`
	Spec       UpstreamSpec    `json:"spec"`
	Status     *core.Status    `json:"status,omitempty"`
}

// UpstreamSpec selects the upstream type. Exactly one type must be set; aws
// is the only one lambdagate serves.
//
// +kubebuilder:pruning:PreserveUnknownFields
type UpstreamSpec struct {
	AWS *AWSUpstreamSpec `json:"aws,omitempty"`
	// Unimplemented holds Gloo's Upstream fields lambdagate does not
	// implement (connectionConfig, circuitBreakers, other upstream types...),
	// kept as written and named on status.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (s UpstreamSpec) MarshalJSON() ([]byte, error) {
	type plain UpstreamSpec
	return core.MarshalWithRaw(plain(s), s.Unimplemented)
}

// UnmarshalJSON keeps the fields UpstreamSpec does not model.
func (s *UpstreamSpec) UnmarshalJSON(b []byte) error {
	type plain UpstreamSpec
	raw, err := core.UnmarshalWithRaw(b, (*plain)(s))
	s.Unimplemented = raw
	return err
}

// AWSUpstreamSpec is Gloo's aws.options.gloo.solo.io.UpstreamSpec.
type AWSUpstreamSpec struct {
	// Region is required, e.g. "us-east-1".
	Region string `json:"region"`
	// SecretRef names a Secret holding aws_access_key_id and
	// aws_secret_access_key. Optional when Settings enables credential
	// discovery or service-account credentials.
	SecretRef *core.ResourceRef `json:"secretRef,omitempty"`
	// LambdaFunctions lists the functions routes may name; discovery fills
	// it unless turned off for this upstream.
	LambdaFunctions []LambdaFunctionSpec `json:"lambdaFunctions,omitempty"`
	// RoleARN is assumed through STS on top of the base credentials.
	RoleARN string `json:"roleArn,omitempty"`
	// AWSAccountID makes function names full ARNs in that account
	// (cross-account invocation through a resource policy).
	AWSAccountID string `json:"awsAccountId,omitempty"`
	// DisableRoleChaining assumes RoleARN directly with the web identity
	// instead of chaining it on top of AWS_ROLE_ARN. Default false.
	DisableRoleChaining bool `json:"disableRoleChaining,omitempty"`
	// DestinationOverrides fills unset fields of every route to this
	// upstream (Gloo's mergo semantics: only zero-valued fields are filled).
	DestinationOverrides *AWSDestinationSpec `json:"destinationOverrides,omitempty"`
	// EndpointURL is a lambdagate extension: the Lambda API base URL, e.g.
	// "http://127.0.0.1:9001" for a local Lambda. Default: the
	// AWS_ENDPOINT_URL_LAMBDA or AWS_ENDPOINT_URL environment variable, else
	// https://lambda.{region}.amazonaws.com.
	EndpointURL string `json:"endpointUrl,omitempty"`
}

// LambdaFunctionSpec is one function a route can target.
type LambdaFunctionSpec struct {
	// LogicalName is the name routes use. Required.
	LogicalName string `json:"logicalName"`
	// LambdaFunctionName is the function name as AWS shows it. Required.
	LambdaFunctionName string `json:"lambdaFunctionName"`
	// Qualifier is a version or alias; empty sends no Qualifier.
	Qualifier string `json:"qualifier,omitempty"`
}

// InvocationStyle is SYNC (RequestResponse) or ASYNC (Event).
type InvocationStyle string

// Invocation styles.
const (
	InvocationSync  InvocationStyle = "SYNC"
	InvocationAsync InvocationStyle = "ASYNC"
)

// Response transfer modes (lambdagate extension, named after API Gateway's
// integration setting responseTransferMode).
const (
	ResponseTransferBuffered = "BUFFERED"
	ResponseTransferStream   = "STREAM"
)

// Payload format versions for wrapAsApiGateway (lambdagate extension).
const (
	PayloadFormat10 = "1.0"
	PayloadFormat20 = "2.0"
)

// AWSDestinationSpec is Gloo's aws.options.gloo.solo.io.DestinationSpec, the
// per-route Lambda options.
type AWSDestinationSpec struct {
	// LogicalName picks an entry of the upstream's lambdaFunctions.
	LogicalName string `json:"logicalName,omitempty"`
	// InvocationStyle is SYNC (default) or ASYNC.
	InvocationStyle InvocationStyle `json:"invocationStyle,omitempty"`
	// RequestTransformation sends Gloo's JSON request description (headers,
	// query, path, method, body) instead of the raw body. Default false.
	RequestTransformation bool `json:"requestTransformation,omitempty"`
	// ResponseTransformation is deprecated; it means unwrapAsApiGateway.
	ResponseTransformation bool `json:"responseTransformation,omitempty"`
	// UnwrapAsAlb reads the function's output as an ALB target response.
	// Default false.
	UnwrapAsAlb bool `json:"unwrapAsAlb,omitempty"`
	// UnwrapAsApiGateway reads the function's output as an API Gateway
	// proxy response. Default false.
	UnwrapAsApiGateway bool `json:"unwrapAsApiGateway,omitempty"`
	// WrapAsApiGateway sends an API Gateway proxy event. Default false.
	WrapAsApiGateway bool `json:"wrapAsApiGateway,omitempty"`
	// PayloadFormatVersion is a lambdagate extension selecting the API
	// Gateway event and response format: "1.0" (REST API, the default) or
	// "2.0" (HTTP API).
	PayloadFormatVersion string `json:"payloadFormatVersion,omitempty"`
	// WrapAsAlb is a lambdagate extension: send an ALB target event.
	// Default false.
	WrapAsAlb bool `json:"wrapAsAlb,omitempty"`
	// AlbMultiValueHeaders is a lambdagate extension: the ALB target
	// group's lambda.multi_value_headers.enabled. Default false.
	AlbMultiValueHeaders bool `json:"albMultiValueHeaders,omitempty"`
	// DisableAlbPayloadLimits is a lambdagate extension. With wrapAsAlb or
	// unwrapAsAlb, a request body over 1 MiB is refused with 413 and a
	// function response over 1 MiB with 502, as an Application Load
	// Balancer does; true lifts both (Lambda's own limits remain). Default
	// false.
	DisableAlbPayloadLimits bool `json:"disableAlbPayloadLimits,omitempty"`
	// ResponseTransferMode is a lambdagate extension named after API
	// Gateway's integration setting: BUFFERED (the default) invokes the
	// function with Invoke and sends its whole answer; STREAM invokes it
	// with InvokeWithResponseStream and passes each chunk to the client as
	// the function writes it. STREAM cannot be combined with ASYNC or an
	// unwrap mode, which need the whole answer.
	// +kubebuilder:validation:Enum=BUFFERED;STREAM
	ResponseTransferMode string `json:"responseTransferMode,omitempty"`
}

// Settings is Gloo's process-wide Settings; lambdagate reads its AWS options.
type Settings struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   core.ObjectMeta `json:"metadata"`
	Spec       SettingsSpec    `json:"spec"`
	Status     *core.Status    `json:"status,omitempty"`
}

// SettingsSpec holds the parts of Gloo's Settings lambdagate uses.
//
// +kubebuilder:pruning:PreserveUnknownFields
type SettingsSpec struct {
	// WatchNamespaces limits the namespaces whose resources are served
	// (Gloo's watchNamespaces). Default: every namespace. In Kubernetes mode
	// it takes effect at start; a change restarts the watches.
	WatchNamespaces []string          `json:"watchNamespaces,omitempty"`
	Gloo            *GlooOptions      `json:"gloo,omitempty"`
	Discovery       *DiscoveryOptions `json:"discovery,omitempty"`
	// RatelimitServer says where ratelimitBasic limits are counted for the
	// whole fleet (Redis) and what happens when it cannot be reached.
	// Default: none, each gateway process counts alone.
	RatelimitServer *RateLimitServerSettings `json:"ratelimitServer,omitempty"`
	// HttpLocalRatelimit is Gloo's Gateway httpLocalRatelimit (HTTP
	// listener options), here for every listener since lambdagate has no
	// Gateway kind. Default: none.
	HttpLocalRatelimit *LocalRateLimitSettings `json:"httpLocalRatelimit,omitempty"`
	// Unimplemented holds Gloo's Settings fields lambdagate does not use,
	// kept as written and named on status.
	Unimplemented core.RawFields `json:"-"`
}

// GlooOptions is Gloo's spec.gloo.
//
// +kubebuilder:pruning:PreserveUnknownFields
type GlooOptions struct {
	AWSOptions *AWSOptions `json:"awsOptions,omitempty"`
	// Unimplemented holds Gloo's other spec.gloo fields, kept as written.
	Unimplemented core.RawFields `json:"-"`
}

// DiscoveryOptions is Gloo's spec.discovery.
//
// +kubebuilder:pruning:PreserveUnknownFields
type DiscoveryOptions struct {
	// FdsMode is BLACKLIST (the default), WHITELIST or DISABLED. For AWS
	// upstreams Gloo's BLACKLIST and WHITELIST are alike: every upstream
	// not labelled discovery.solo.io/function_discovery=disabled is
	// discovered, those in kube-system and kube-public only when labelled
	// ...=enabled. DISABLED discovers none.
	FdsMode string `json:"fdsMode,omitempty"`
	// Unimplemented holds Gloo's other spec.discovery fields (udsOptions,
	// fdsOptions), kept as written.
	Unimplemented core.RawFields `json:"-"`
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (s SettingsSpec) MarshalJSON() ([]byte, error) {
	type plain SettingsSpec
	return core.MarshalWithRaw(plain(s), s.Unimplemented)
}

// UnmarshalJSON keeps the fields SettingsSpec does not model.
func (s *SettingsSpec) UnmarshalJSON(b []byte) error {
	type plain SettingsSpec
	raw, err := core.UnmarshalWithRaw(b, (*plain)(s))
	s.Unimplemented = raw
	return err
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (o GlooOptions) MarshalJSON() ([]byte, error) {
	type plain GlooOptions
	return core.MarshalWithRaw(plain(o), o.Unimplemented)
}

// UnmarshalJSON keeps the fields GlooOptions does not model.
func (o *GlooOptions) UnmarshalJSON(b []byte) error {
	type plain GlooOptions
	raw, err := core.UnmarshalWithRaw(b, (*plain)(o))
	o.Unimplemented = raw
	return err
}

// MarshalJSON writes the unimplemented fields back beside the others.
func (o DiscoveryOptions) MarshalJSON() ([]byte, error) {
	type plain DiscoveryOptions
	return core.MarshalWithRaw(plain(o), o.Unimplemented)
}

// UnmarshalJSON keeps the fields DiscoveryOptions does not model.
func (o *DiscoveryOptions) UnmarshalJSON(b []byte) error {
	type plain DiscoveryOptions
	raw, err := core.UnmarshalWithRaw(b, (*plain)(o))
	o.Unimplemented = raw
	return err
}

// AWSOptions is Gloo's GlooOptions.AWSOptions.
type AWSOptions struct {
	// EnableCredentialsDiscovey (Gloo's spelling) uses the AWS SDK default
	// credential chain for upstreams without a secret. Default false.
	EnableCredentialsDiscovey bool `json:"enableCredentialsDiscovey,omitempty"`
	// EnableCredentialsDiscovery is the correctly spelt alias.
	EnableCredentialsDiscovery bool `json:"enableCredentialsDiscovery,omitempty"`
	// ServiceAccountCredentials enables web-identity (IRSA) credentials.
	ServiceAccountCredentials *ServiceAccountCredentials `json:"serviceAccountCredentials,omitempty"`
	// PropagateOriginalRouting sends x-envoy-original-path and
	// x-envoy-original-method to the function. Default false.
	PropagateOriginalRouting *bool `json:"propagateOriginalRouting,omitempty"`
	// CredentialRefreshDelay re-reads the web identity token this often.
	// Default: only when the file changes.
	CredentialRefreshDelay *core.Duration `json:"credentialRefreshDelay,omitempty"`
	// FallbackToFirstFunction routes to lambdaFunctions[0] when a route
	// names no function or an unknown one. Default false.
	FallbackToFirstFunction *bool `json:"fallbackToFirstFunction,omitempty"`
}

// CredentialsDiscovery reports whether either spelling is set.
func (o *AWSOptions) CredentialsDiscovery() bool {
	return o != nil && (o.EnableCredentialsDiscovey || o.EnableCredentialsDiscovery)
}

// ServiceAccountCredentials is envoy-gloo's AWSLambdaConfig.ServiceAccountCredentials.
type ServiceAccountCredentials struct {
	// Cluster is Envoy's STS cluster name; accepted for compatibility.
	Cluster string `json:"cluster,omitempty"`
	// URI is the STS host, e.g. "sts.us-east-2.amazonaws.com". Default
	// "sts.amazonaws.com" (or the regional host of Region).
	URI string `json:"uri,omitempty"`
	// Timeout of an STS call. Default 5s.
	Timeout *core.Duration `json:"timeout,omitempty"`
	// Region used to sign STS calls. Default "us-east-1".
	Region string `json:"region,omitempty"`
}

// StreamConflict names the options that cannot go with
// responseTransferMode STREAM ("" when none): an asynchronous invocation
// has no answer to stream, and the unwrap modes read the function's whole
// answer as one JSON document.
func (a *AWSDestinationSpec) StreamConflict() string {
	var bad []string
	if a.InvocationStyle == InvocationAsync {
		bad = append(bad, "invocationStyle ASYNC")
	}
	if a.UnwrapAsApiGateway {
		bad = append(bad, "unwrapAsApiGateway")
	}
	if a.ResponseTransformation {
		bad = append(bad, "responseTransformation")
	}
	if a.UnwrapAsAlb {
		bad = append(bad, "unwrapAsAlb")
	}
	if len(bad) == 0 {
		return ""
	}
	return "STREAM cannot be combined with " + strings.Join(bad, ", ") + ": they need the function's whole answer (a streamed answer with status and headers is written with the HTTP integration prelude, awslambda.HttpResponseStream.from)"
}
