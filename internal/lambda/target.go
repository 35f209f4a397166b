// Package lambda invokes AWS Lambda functions over the Lambda HTTP API:
// it builds the Invoke request, signs it with SigV4 (sigv4.go, pinned byte
// for byte to aws-sdk-go-v2's signer by its tests), sends it on a pooled
// connection, and classifies the answer.
package lambda

import (
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Wrap says what the function receives.
type Wrap int

// Request formats.
const (
	WrapNone         Wrap = iota // the request body as is (Gloo's default)
	WrapGloo                     // requestTransformation: Gloo's JSON
	WrapAPIGatewayV1             // wrapAsApiGateway, payload 1.0
	WrapAPIGatewayV2             // wrapAsApiGateway, payload 2.0
	WrapALB                      // wrapAsAlb
)

// Unwrap says how the function's output becomes the client's response.
type Unwrap int

// Response formats.
const (
	UnwrapNone         Unwrap = iota // passed through
	UnwrapALB                        // unwrapAsAlb
	UnwrapAPIGatewayV1               // unwrapAsApiGateway / responseTransformation
	UnwrapAPIGatewayV2               // unwrapAsApiGateway with payload 2.0
)

var wrapNames = [...]string{"none", "requestTransformation", "apiGateway1.0", "apiGateway2.0", "alb"}
var unwrapNames = [...]string{"none", "alb", "apiGateway1.0", "apiGateway2.0"}

func (w Wrap) String() string   { return wrapNames[w] }
func (u Unwrap) String() string { return unwrapNames[u] }

// DefaultTimeout bounds an invocation, retries included, when the route sets
// no options.timeout. API Gateway's integration limit is 29s; 15s leaves the
// common case fast to fail while covering typical functions.
const DefaultTimeout = 15 * time.Second

// Payload limits of the Invoke API: "For synchronous invocations, the
// maximum payload size is 6 MB. For asynchronous invocations, the maximum
// payload size is 1 MB" (API_Invoke).
const (
	MaxSyncPayload  = 6 << 20
	MaxAsyncPayload = 1 << 20
)

// MaxALBPayload is an Application Load Balancer's limit on the request
// body it sends to a Lambda target and on the response JSON it accepts
// ("1 MB", ELB guide lambda-functions.md).
const MaxALBPayload = 1 << 20

// Target is everything needed to invoke one function from one route. It is
// built by the translator and never modified afterwards.
type Target struct {
	// VirtualService and Route name where the target came from (logs,
	// metrics); Upstream is "namespace/name".
	VirtualService, Route, Upstream string
	LogicalName                     string
	// FunctionName is the name or ARN sent to Lambda (not escaped).
	FunctionName string
	Qualifier    string
	Region       string
	// Endpoint is the Lambda API base URL.
	Endpoint    *url.URL
	Credentials aws.CredentialsProvider
	Async       bool
	Wrap        Wrap
	Unwrap      Unwrap
	// ALBMultiValue is the ALB target group's multi-value headers mode.
	ALBMultiValue bool
	// ALBLimits applies MaxALBPayload to the request body and the
	// function's response (ALB modes unless disableAlbPayloadLimits).
	ALBLimits bool
	Timeout   time.Duration
	// PropagateOriginalRouting adds x-envoy-original-path and -method.
	PropagateOriginalRouting bool
	// Retry is the route's retry policy (retries). Nil: throttling
	// only, within the invoker's throttle budget.
	Retry *RetryPolicy
	// Stream invokes with InvokeWithResponseStream and passes the answer
	// on as it arrives (responseTransferMode STREAM).
	Stream bool

	invokeURL *url.URL
	host      string
	// canonURI and canonQuery are the SigV4 canonical path and query.
	canonURI, canonQuery string
	// conn says where the invoker's own client connects; reqHead is the
	// request line, Host and User-Agent, written as is on every request.
	conn    connKey
	reqHead string
	// streamURL and streamCanonURI are InvokeWithResponseStream's URL and
	// canonical path.
	streamURL      *url.URL
	streamCanonURI string
}

// Prepare precomputes the invoke URL; the translator calls it once.
func (t *Target) Prepare() {
	// Gloo query-escapes the name (an ARN's ':' becomes %3A); the SDK
	// signer then escapes the escaped path again for the canonical request,
	// which is the double encoding Lambda expects.
	escName := escapeSegment(t.FunctionName)
	u := *t.Endpoint
	base := strings.TrimSuffix(u.Path, "/")
	u.Path = base + "/2015-03-31/functions/" + t.FunctionName + "/invocations"
	u.RawPath = base + "/2015-03-31/functions/" + escName + "/invocations"
	if t.Qualifier != "" {
		// The SDK signer's canonical query form (%20, not +), which it
		// also writes back into the URL it sends.
		u.RawQuery = "Qualifier=" + strings.ReplaceAll(url.QueryEscape(t.Qualifier), "+", "%20")
	}
	t.invokeURL = &u
	t.host = sdkHost(&u)
	t.canonURI = canonicalURI(&u)
	t.canonQuery = u.RawQuery
	t.conn = connKeyOf(&u)
	t.reqHead = "POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + t.host + "\r\nUser-Agent: " + userAgent + "\r\n"
	su := u
	su.Path = base + "/2021-11-15/functions/" + t.FunctionName + "/response-streaming-invocations"
	su.RawPath = base + "/2021-11-15/functions/" + escName + "/response-streaming-invocations"
	t.streamURL = &su
	t.streamCanonURI = canonicalURI(&su)
}

// PrepareCache shares Prepare's work between the targets of one
// configuration that call the same function (endpoint, name, qualifier):
// thousands of routes often call a few functions. A nil cache shares
// nothing.
type PrepareCache map[prepareKey]*Target

type prepareKey struct{ endpoint, function, qualifier string }

// PrepareWith is Prepare, reusing what c holds for the same function.
func (t *Target) PrepareWith(c PrepareCache) {
	if c == nil {
		t.Prepare()
		return
	}
	k := prepareKey{t.Endpoint.String(), t.FunctionName, t.Qualifier}
	p, ok := c[k]
	if !ok {
		t.Prepare()
		c[k] = t
		return
	}
	// The URLs are shared: requests copy them (newInvokeRequest).
	t.invokeURL, t.host, t.canonURI, t.canonQuery = p.invokeURL, p.host, p.canonURI, p.canonQuery
	t.conn, t.reqHead, t.streamURL, t.streamCanonURI = p.conn, p.reqHead, p.streamURL, p.streamCanonURI
}

// invocationType is the X-Amz-Invocation-Type the target sends.
func (t *Target) invocationType() string {
	if t.Async {
		return "Event"
	}
	return "RequestResponse"
}

// InvokeURL returns the prepared invoke URL.
func (t *Target) InvokeURL() *url.URL { return t.invokeURL }

func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// RegionalEndpoint returns https://lambda.{region}.amazonaws.com, with the
// China partition's domain where it applies.
func RegionalEndpoint(region string) *url.URL {
	host := "lambda." + region + ".amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		host += ".cn"
	}
	return &url.URL{Scheme: "https", Host: host}
}
