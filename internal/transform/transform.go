// Package transform holds the pure data-plane conversions between HTTP and
// AWS Lambda payloads: the events a function receives (Gloo's
// requestTransformation, API Gateway REST/HTTP API payloads 1.0 and 2.0, ALB
// target events) and the unwrapping of a function's output into the response
// the client receives (ALB, API Gateway 1.0 and 2.0).
//
// Nothing here does I/O. Every builder returns valid JSON for any input and
// every unwrapper either returns a response whose header names and values are
// valid on the wire or a *MalformedError; none of them panics. Deliberate
// differences from Gloo Edge are listed in docs/compatibility.md.
//
// Both directions are on every proxied request, so neither uses
// encoding/json on its hot path: the builders append JSON by hand
// (encode.go) and the unwrappers scan the output by hand (jsonscan.go,
// unwrap_fast.go), falling back to encoding/json for anything unusual. That
// cut the wrap and unwrap of a small payload 1.0 request from about 29 µs
// and 170 allocations to under 5 µs and 9 (BenchmarkAPIGatewayV1Event plus
// BenchmarkUnwrapAPIGatewayV1). Frozen encoding/json references and
// differential fuzz targets keep the results identical.
package transform

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// Request is the original client request, captured before any rewriting.
// Events are always built from it, never from the Lambda invoke request, so
// they can never leak the function qualifier or the invoke path (gloo#7446).
type Request struct {
	Method   string
	Path     string // raw (escaped) path as received, without the query
	RawQuery string // raw query without '?'
	Host     string // Host header as received, with port if any
	Proto    string // "HTTP/1.1", "HTTP/2.0"
	Scheme   string // "http" or "https"; default "http"
	// Header holds the client's headers with canonical keys, values in arrival
	// order per key. Host is not in it (see Host), Content-Length is.
	Header     http.Header
	Body       []byte
	RemoteAddr string // "ip:port" of the client
	Time       time.Time
	// RequestID is the gateway-generated id. It becomes requestContext.requestId
	// and, in the Gloo payload, the x-request-id header (Envoy's
	// generate_request_id). Default "": no x-request-id is added.
	RequestID string

	// Route information for API Gateway events.

	// Resource is the route template, e.g. "/hello/{name}", or "/{proxy+}" for
	// prefix routes. Default: the request path.
	Resource string
	// RouteKey is payload 2.0's routeKey, e.g. "GET /hello/{name}". Default "$default".
	RouteKey       string
	PathParameters map[string]string // nil when none
	Stage          string            // default "$default"
	AccountID      string            // default DefaultAccountID
	APIID          string            // default DefaultAPIID
	DomainName     string            // default: Host without port

	// Authorizer is what the gateway's authentication established about
	// the caller. Default nil: the events carry no authorizer.
	Authorizer *Authorizer
}

// Authorizer is the caller's identity as the gateway's authentication
// established it. The API Gateway events carry it where API Gateway does:
// payload 1.0 requestContext.authorizer (claims, principalId, context keys)
// and requestContext.identity.clientCert; payload 2.0
// requestContext.authorizer.jwt / .lambda and
// requestContext.authentication.clientCert.
type Authorizer struct {
	// Claims of a validated JWT (nil when none).
	Claims map[string]any
	// Scopes of a validated JWT (its "scope" or "scp" claim).
	Scopes []string
	// PrincipalID is a Lambda authorizer's principalId ("" when none).
	PrincipalID string
	// Context is a Lambda authorizer's context (nil when none).
	Context map[string]any
	// APIKey names the API key that authenticated the caller (its
	// Secret's name, never the key).
	APIKey string
	// ClientCert is the verified client certificate of an mTLS
	// connection (nil when none).
	ClientCert *ClientCert
}

// ClientCert is a client certificate as API Gateway shows it.
type ClientCert struct {
	PEM          string
	SubjectDN    string
	IssuerDN     string
	SerialNumber string
	NotBefore    time.Time
	NotAfter     time.Time
}

// Defaults used when the corresponding Request field is empty. They are fake
// but stable so that functions that log or branch on them behave the same on
// every request.
const (
	DefaultStage          = "$default"
	DefaultAccountID      = "123456789012"
	DefaultAPIID          = "lambdagate"
	DefaultTargetGroupARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambdagate/0000000000000000"
)

// Response is what the client will receive. Header replaces whatever the
// Lambda Invoke API returned; hop-by-hop headers and Content-Length from the
// function are never in it (the server computes the length).
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// ContentLength holds the Content-Length values the function set (nil
	// when none). They are not in Header: the server computes the length,
	// except on a HEAD answer without a body, where only the function
	// knows what a GET would send.
	ContentLength []string
}

// MalformedError means the function's output cannot be turned into a
// response. The gateway answers 502 with a short JSON error naming Problem,
// as ALB and API Gateway do with their own "malformed response" errors.
type MalformedError struct {
	Format  string // "alb", "apigateway-v1", "apigateway-v2"
	Problem string // e.g. `header "X-Foo" value contains a line break`
}

func (e *MalformedError) Error() string {
	return "malformed " + e.Format + " response from function: " + e.Problem
}

// Payload formats, as used in MalformedError.Format.
const (
	FormatALB          = "alb"
	FormatAPIGatewayV1 = "apigateway-v1"
	FormatAPIGatewayV2 = "apigateway-v2"
)

func (r *Request) scheme() string {
	if r.Scheme == "" {
		return "http"
	}
	return r.Scheme
}

func (r *Request) stage() string {
	if r.Stage == "" {
		return DefaultStage
	}
	return r.Stage
}

func (r *Request) accountID() string {
	if r.AccountID == "" {
		return DefaultAccountID
	}
	return r.AccountID
}

func (r *Request) apiID() string {
	if r.APIID == "" {
		return DefaultAPIID
	}
	return r.APIID
}

func (r *Request) domainName() string {
	if r.DomainName != "" {
		return r.DomainName
	}
	if h, _, ok := splitHostPort(r.Host); ok {
		return h
	}
	return r.Host
}

func (r *Request) resource() string {
	if r.Resource == "" {
		return r.Path
	}
	return r.Resource
}

func (r *Request) routeKey() string {
	if r.RouteKey == "" {
		return "$default"
	}
	return r.RouteKey
}

func (r *Request) proto() string {
	if r.Proto == "" {
		return "HTTP/1.1"
	}
	return r.Proto
}

// sourceIP is the client address without the port.
func (r *Request) sourceIP() string {
	if h, _, ok := splitHostPort(r.RemoteAddr); ok {
		return h
	}
	return r.RemoteAddr
}

// forwardedPort is what ALB and API Gateway put in X-Forwarded-Port: the
// listener port. We only know the port the client addressed, from Host.
func (r *Request) forwardedPort() string {
	if _, p, ok := splitHostPort(r.Host); ok && p != "" {
		return p
	}
	if r.scheme() == "https" {
		return "443"
	}
	return "80"
}

func (r *Request) contentType() string {
	return r.Header.Get("Content-Type")
}

// appendRequestTime appends t as API Gateway's requestTime/time, a JSON
// string "02/Jan/2006:15:04:05 +0000", without allocating.
func appendRequestTime(dst []byte, t time.Time) []byte {
	var buf [64]byte
	return appendString(dst, t.UTC().AppendFormat(buf[:0], "02/Jan/2006:15:04:05 +0000"))
}

// splitHostPort is net.SplitHostPort without the error value, which is
// allocated: a Host without a port, the usual case, would cost an
// allocation per event.
func splitHostPort(hostport string) (host, port string, ok bool) {
	if !strings.Contains(hostport, ":") {
		return "", "", false
	}
	host, port, err := net.SplitHostPort(hostport)
	return host, port, err == nil
}

// isTextualAPIGateway decides which bodies the API Gateway builders send as text.
// API Gateway base64-encodes bodies whose type matches the API's binary
// media types; we behave as if every type except these textual ones were
// binary, so binary uploads survive unchanged.
func isTextualAPIGateway(contentType string) bool {
	mt := mediaType(contentType)
	switch {
	case mt == "":
		return true // no type: text if it is valid UTF-8 (checked by the caller)
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-www-form-urlencoded", mt == "application/graphql":
		return true
	case strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// isTextualALB is the ELB documented rule: "text/*, application/json,
// application/javascript, and application/xml" are sent as is, all other
// types (including none) are base64-encoded.
func isTextualALB(contentType string) bool {
	mt := mediaType(contentType)
	return strings.HasPrefix(mt, "text/") || mt == "application/json" ||
		mt == "application/javascript" || mt == "application/xml"
}

// mediaType returns the lowercased type/subtype of a Content-Type value.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}
