package resource

import (
	"encoding/json"
	"reflect"

	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// Support says what lambdagate does with a Gloo field it does not
// implement. The resource keeps the field as written either way.
type Support int

const (
	// ServedWithout: the route or resource is served without the field,
	// with a Warning naming it. For fields whose absence changes how a
	// request is handled but never lets through one Gloo would refuse.
	ServedWithout Support = iota
	// NotServed: the route (or, above the routes, the whole resource) is
	// not served and is reported Rejected, naming the field. For
	// authentication, authorization, rate limiting and request-inspection
	// options, which must never be served open, and for actions and
	// destinations lambdagate cannot carry out.
	NotServed
	// Honoured: lambdagate acts on the field without modelling it, so
	// nothing is reported (sslConfig.oneWayTls: the translator reads it).
	Honoured
)

// Gloo's fields that lambdagate does not implement, at each option and
// extension point of its API types (the types with an Unimplemented
// field), with what lambdagate does when one is set. The names are the
// JSON names of Gloo's protos (solo-io/gloo projects/gloo/api/v1/
// options.proto RouteOptions and VirtualHostOptions, upstream.proto,
// proxy.proto RouteAction and Destination, ssl/ssl.proto SslConfig,
// SSLFiles and SslParameters,
// settings.proto; projects/gateway/api/v1/virtual_service.proto
// VirtualHost and Route). Implementing an option moves its entry out of
// this table into a typed field.
var glooFields = map[reflect.Type]map[string]Support{
	reflect.TypeOf(gloo.UpstreamSpec{}): {
		// Other upstream types: there is no Lambda to call.
		"kube": NotServed, "static": NotServed, "pipe": NotServed, "azure": NotServed,
		"consul": NotServed, "awsEc2": NotServed, "gcp": NotServed,
		// Envoy cluster tuning; the Lambda client has its own.
		"discoveryMetadata": ServedWithout, "sslConfig": ServedWithout, "circuitBreakers": ServedWithout,
		"loadBalancerConfig": ServedWithout, "healthChecks": ServedWithout, "outlierDetection": ServedWithout,
		"failover": ServedWithout, "connectionConfig": ServedWithout, "protocolSelection": ServedWithout,
		"useHttp2": ServedWithout, "initialStreamWindowSize": ServedWithout,
		"initialConnectionWindowSize": ServedWithout, "maxConcurrentStreams": ServedWithout,
		"overrideStreamErrorOnInvalidHttpMessage": ServedWithout, "ignoreHealthOnHostRemoval": ServedWithout,
		"respectDnsTtl": ServedWithout, "dnsRefreshRate": ServedWithout, "proxyProtocolVersion": ServedWithout,
		"preconnectPolicy": ServedWithout,
		// An egress proxy the traffic must go through: going direct
		// would bypass it.
		"httpProxyHostname": NotServed, "httpConnectSslConfig": NotServed, "httpConnectHeaders": NotServed,
	},
	reflect.TypeOf(gateway.VirtualHost{}): {
		// Delegated options may hold authentication.
		"optionsConfigRefs": NotServed,
	},
	reflect.TypeOf(gateway.VirtualHostOptions{}): withSecurity(map[string]Support{
		"extensions": ServedWithout, "stats": ServedWithout, "transformations": ServedWithout,
		"bufferPerRoute": ServedWithout, "includeRequestAttemptCount": ServedWithout,
		"includeAttemptCountInResponse": ServedWithout, "stagedTransformations": ServedWithout,
	}),
	reflect.TypeOf(gateway.Route{}): {
		"graphqlApiRef": NotServed, "optionsConfigRefs": NotServed,
	},
	reflect.TypeOf(gateway.RouteAction{}): {
		"clusterHeader": NotServed, "dynamicForwardProxy": NotServed,
	},
	reflect.TypeOf(gateway.WeightedDestination{}): {
		// WeightedDestinationOptions may hold authentication (extauth,
		// csrf) for the requests sent to this destination.
		"options": NotServed,
	},
	reflect.TypeOf(gateway.Destination{}): {
		"kube": NotServed, "consul": NotServed, "subset": ServedWithout,
	},
	reflect.TypeOf(gateway.DestinationSpec{}): {
		"azure": NotServed, "rest": NotServed, "grpc": NotServed,
	},
	reflect.TypeOf(gateway.RouteOptions{}): withSecurity(map[string]Support{
		"transformations": ServedWithout, "extensions": ServedWithout, "tracing": ServedWithout,
		"shadowing": ServedWithout, "hostRewrite": ServedWithout,
		"autoHostRewrite": ServedWithout, "hostRewritePathRegex": ServedWithout,
		"lbHash": ServedWithout, "upgrades": ServedWithout, "bufferPerRoute": ServedWithout,
		"stagedTransformations": ServedWithout, "envoyMetadata": ServedWithout,
		"maxStreamDuration": ServedWithout, "idleTimeout": ServedWithout,
	}),
	reflect.TypeOf(gateway.RetryPolicy{}): {
		// Failover priorities: a Lambda upstream has a single endpoint.
		"previousPriorities": ServedWithout,
	},
	reflect.TypeOf(gateway.Gzip{}): {
		// zlib tuning Go's compress/flate does not offer.
		"memoryLevel": ServedWithout, "windowBits": ServedWithout, "compressionStrategy": ServedWithout,
	},
	reflect.TypeOf(gateway.SSLConfig{}): {
		// Without it there is no certificate to serve.
		"sds":           NotServed,
		"alpnProtocols": ServedWithout, "disableTlsSessionResumption": ServedWithout,
		"transportSocketConnectTimeout": ServedWithout, "ocspStaplePolicy": ServedWithout,
	},
	reflect.TypeOf(gateway.SSLFiles{}): {
		"ocspStaple": ServedWithout,
	},
	reflect.TypeOf(gateway.SSLParameters{}): {
		"cipherSuites": ServedWithout, "ecdhCurves": ServedWithout,
	},
	reflect.TypeOf(gloo.SettingsSpec{}): {
		// Settings of Gloo's own processes and integrations.
		"discoveryNamespace": ServedWithout, "kubernetesConfigSource": ServedWithout,
		"directoryConfigSource": ServedWithout, "consulKvSource": ServedWithout,
		"kubernetesSecretSource": ServedWithout, "vaultSecretSource": ServedWithout,
		"directorySecretSource": ServedWithout, "secretOptions": ServedWithout,
		"kubernetesArtifactSource": ServedWithout, "directoryArtifactSource": ServedWithout,
		"consulKvArtifactSource": ServedWithout, "refreshRate": ServedWithout, "devMode": ServedWithout,
		"linkerd": ServedWithout, "knative": ServedWithout, "gateway": ServedWithout, "consul": ServedWithout,
		"consulDiscovery": ServedWithout, "kubernetes": ServedWithout, "extensions": ServedWithout,
		"ratelimit": ServedWithout, "extauth": ServedWithout,
		"namedExtauth": ServedWithout, "cachingServer": ServedWithout, "observabilityOptions": ServedWithout,
		"upstreamOptions": ServedWithout, "consoleOptions": ServedWithout, "graphqlOptions": ServedWithout,
		// rbac.requireRbac: true makes Gloo refuse every request to a
		// virtual host without an RBAC policy; RequiresRBAC tells the
		// translator, which does the same.
		"rbac": Honoured,
	},
	// Actions for an external rate-limit server: without them a limit
	// the user asked for would not hold.
	reflect.TypeOf(gloo.RateLimitVhostExtension{}): {"rateLimits": NotServed},
	reflect.TypeOf(gloo.RateLimitRouteExtension{}): {"rateLimits": NotServed, "includeVhRateLimits": ServedWithout},
	reflect.TypeOf(gloo.RateLimitServerSettings{}): {
		// lambdagate counts in Redis itself (spec.ratelimitServer.redis),
		// after the authentication filters.
		"ratelimitServerRef": ServedWithout, "rateLimitBeforeAuth": ServedWithout,
	},
	reflect.TypeOf(gloo.GlooOptions{}): {
		"xdsBindAddr": ServedWithout, "validationBindAddr": ServedWithout, "circuitBreakers": ServedWithout,
		"endpointsWarmingTimeout": ServedWithout, "invalidConfigPolicy": ServedWithout,
		"disableKubernetesDestinations": ServedWithout, "disableGrpcWeb": ServedWithout,
		"disableProxyGarbageCollection": ServedWithout, "regexMaxProgramSize": ServedWithout,
		"restXdsBindAddr": ServedWithout, "enableRestEds": ServedWithout,
		"failoverUpstreamDnsPollingInterval": ServedWithout, "removeUnusedFilters": ServedWithout,
		"proxyDebugBindAddr": ServedWithout, "logTransformationRequestResponseInfo": ServedWithout,
	},
	// AuthConfig (Gloo Enterprise's extauth.proto): every auth config
	// type lambdagate does not run refuses, never lets a request through.
	reflect.TypeOf(enterprise.AuthConfigSpec{}): {
		"booleanExpr": NotServed, "failOnRedirect": ServedWithout,
	},
	reflect.TypeOf(enterprise.Config{}): {
		"basicAuth": NotServed, "oauth": NotServed, "oauth2": NotServed, "pluginAuth": NotServed,
		"opaAuth": NotServed, "ldap": NotServed, "jwt": NotServed, "passThroughAuth": NotServed,
		"hmacAuth": NotServed, "opaServerAuth": NotServed,
	},
	reflect.TypeOf(enterprise.ApiKeyAuth{}): {
		"aerospikeApikeyStorage": NotServed, "headersFromMetadata": NotServed,
	},
	reflect.TypeOf(enterprise.ExtAuthExtension{}): {
		// An external auth server lambdagate does not call.
		"customAuth": NotServed,
	},
	reflect.TypeOf(gloo.DiscoveryOptions{}): {
		"udsOptions": ServedWithout, "fdsOptions": ServedWithout,
	},
}

// securityOptions are the options of Gloo's RouteOptions and
// VirtualHostOptions that authenticate, authorize, limit or inspect
// requests (most are Gloo Enterprise's): a route is never served without
// them.
var securityOptions = []string{
	"waf", "dlp", "csrf", "extProc",
	"ratelimitEarly", "rateLimitEarlyConfigs", "rateLimitConfigs",
	"ratelimitRegular", "rateLimitRegularConfigs",
}

func withSecurity(m map[string]Support) map[string]Support {
	for _, k := range securityOptions {
		m[k] = NotServed
	}
	return m
}

// glooField reports whether name is a Gloo field lambdagate keeps without
// implementing it at a struct of type t, and what it does when it is set.
func glooField(t reflect.Type, name string) (Support, bool) {
	s, ok := glooFields[t][name]
	return s, ok
}

// rawFieldsType is the type of the Unimplemented fields.
var rawFieldsType = reflect.TypeOf(gloo.UpstreamSpec{}.Unimplemented)

// RequiresRBAC reports whether Settings set Gloo's rbac.requireRbac, under
// which a virtual host without an RBAC policy refuses every request.
func RequiresRBAC(s *gloo.SettingsSpec) bool {
	raw, ok := s.Unimplemented["rbac"]
	if !ok {
		return false
	}
	var rbac struct {
		RequireRbac bool `json:"requireRbac"`
	}
	return json.Unmarshal(raw, &rbac) == nil && rbac.RequireRbac
}
