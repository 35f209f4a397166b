// Package manifests writes the benchmark's configuration as the YAML a
// user would apply: one secret, AWS upstreams pointing at the stub, and one
// virtual service whose matched route is last behind filler routes (a mix
// of prefix, exact and regex matchers that never match the measured paths).
// The harness (bench/run.sh through loadgen) and the Go benchmarks share it.
package manifests

import (
	"fmt"
	"io"
)

// Options shapes the configuration.
type Options struct {
	// Endpoint is the Lambda API base URL (the stub). Required.
	Endpoint string
	// Routes is the number of routes, the measured ones included. Default
	// (0) is just the measured routes.
	Routes int
	// Upstreams and Functions: extra upstreams, each with this many
	// lambdaFunctions, referenced round-robin by the filler routes.
	// Default 0: only the upstream "bench" with the measured functions.
	Upstreams, Functions int
	// RateLimits adds, after the measured routes (so the plain route's
	// matching is unchanged), RateLimitLocalPath with a local token bucket
	// and, when Redis (host:port) is set, RateLimitRedisPath with a
	// ratelimitBasic limit counted in that Redis, plus the Settings naming
	// it. Both invoke "plain" as /echo does and never refuse: the rows
	// measure the check's cost. Default false.
	RateLimits bool
	Redis      string
	// Weighted adds, after the measured routes, WeightedPath: a 50/50
	// split between two qualifiers of "plain" (routeAction.multi), whose
	// row is a ratio to /echo. Default false.
	Weighted bool
}

// The measured routes: /echo invokes "plain" as is (passthrough), /apigw
// invokes "apigw-fn" with wrapAsApiGateway + unwrapAsApiGateway, /headers
// is /echo with a headerManipulation (two request and two response edits),
// measured as a ratio to /echo.
const (
	PassthroughPath = "/echo"
	WrapPath        = "/apigw"
	HeadersPath     = "/headers"
	measured        = 3
	// RateLimitLocalPath and RateLimitRedisPath are the rate-limited
	// passthrough routes (Options.RateLimits).
	RateLimitLocalPath = "/ratelimit-local"
	RateLimitRedisPath = "/ratelimit-redis"
	// WeightedPath is the weighted route (Options.Weighted).
	WeightedPath = "/weighted"
)

// Write writes the manifests to w.
func Write(w io.Writer, o Options) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p(`apiVersion: v1
kind: Secret
metadata: {name: bench-creds, namespace: gloo-system}
type: Opaque
stringData: {aws_access_key_id: AKIDBENCHMARK, aws_secret_access_key: benchmark-secret-key}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: bench, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    endpointUrl: %s
    secretRef: {name: bench-creds, namespace: gloo-system}
    lambdaFunctions:
    - {logicalName: plain, lambdaFunctionName: plain}
    - {logicalName: apigw, lambdaFunctionName: apigw-fn}
    - {logicalName: plain-a, lambdaFunctionName: plain, qualifier: a}
    - {logicalName: plain-b, lambdaFunctionName: plain, qualifier: b}
`, o.Endpoint)
	for u := range o.Upstreams {
		p(`---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up-%d, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    endpointUrl: %s
    secretRef: {name: bench-creds, namespace: gloo-system}
    lambdaFunctions:
`, u, o.Endpoint)
		for f := range o.Functions {
			p("    - {logicalName: fn-%d, lambdaFunctionName: function-%d-%d}\n", f, u, f)
		}
	}
	p(`---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: bench, namespace: gloo-system}
spec:
  virtualHost:
    domains: ["*"]
    routes:
`)
	for i := range max(0, o.Routes-measured) {
		up, fn := "bench", "plain"
		if o.Upstreams > 0 && o.Functions > 0 {
			up, fn = fmt.Sprintf("up-%d", i%o.Upstreams), fmt.Sprintf("fn-%d", (i/o.Upstreams)%o.Functions)
		}
		var m string
		switch i % 3 {
		case 0:
			m = fmt.Sprintf("{prefix: /p%d/}", i)
		case 1:
			m = fmt.Sprintf("{exact: /e%d}", i)
		default:
			m = fmt.Sprintf("{regex: '/g%d/[0-9]+'}", i)
		}
		p("    - matchers: [%s]\n      routeAction: {single: {upstream: {name: %s, namespace: gloo-system}, destinationSpec: {aws: {logicalName: %s}}}}\n", m, up, fn)
	}
	p(`    - matchers: [{exact: %s}]
      routeAction: {single: {upstream: {name: bench, namespace: gloo-system}, destinationSpec: {aws: {logicalName: plain}}}}
      options:
        headerManipulation:
          requestHeadersToAdd: [{header: {key: x-bench, value: "1"}}]
          requestHeadersToRemove: [cookie]
          responseHeadersToAdd: [{header: {key: x-served-by, value: lambdagate}, append: false}]
          responseHeadersToRemove: [x-amz-executed-version]
    - matchers: [{exact: %s}]
      routeAction: {single: {upstream: {name: bench, namespace: gloo-system}, destinationSpec: {aws: {logicalName: apigw, wrapAsApiGateway: true, unwrapAsApiGateway: true}}}}
    - matchers: [{exact: %s}]
      routeAction: {single: {upstream: {name: bench, namespace: gloo-system}, destinationSpec: {aws: {logicalName: plain}}}}
`, HeadersPath, WrapPath, PassthroughPath)
	if o.Weighted {
		p(`    - matchers: [{exact: %s}]
      routeAction:
        multi:
          destinations:
          - {weight: 50, destination: {upstream: {name: bench, namespace: gloo-system}, destinationSpec: {aws: {logicalName: plain-a}}}}
          - {weight: 50, destination: {upstream: {name: bench, namespace: gloo-system}, destinationSpec: {aws: {logicalName: plain-b}}}}
`, WeightedPath)
	}
	if !o.RateLimits {
		return nil
	}
	// Limits no benchmark reaches: the largest Gloo allows.
	p(`    - matchers: [{exact: %s}]
      routeAction: {single: {upstream: {name: bench, namespace: gloo-system}, destinationSpec: {aws: {logicalName: plain}}}}
      options:
        ratelimit: {localRatelimit: {maxTokens: 4294967295, tokensPerFill: 4294967295, fillInterval: 1s}}
`, RateLimitLocalPath)
	if o.Redis == "" {
		return nil
	}
	p(`    - matchers: [{exact: %s}]
      routeAction: {single: {upstream: {name: bench, namespace: gloo-system}, destinationSpec: {aws: {logicalName: plain}}}}
      options:
        ratelimitBasic: {anonymousLimits: {unit: MINUTE, requestsPerUnit: 4294967295}}
---
apiVersion: gloo.solo.io/v1
kind: Settings
metadata: {name: default, namespace: gloo-system}
spec:
  ratelimitServer: {redis: {url: "%s"}}
`, RateLimitRedisPath, o.Redis)
	return nil
}
