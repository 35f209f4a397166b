package transform

// This file freezes the encoding/json event builders that the hand-written
// encoder replaced (see encode.go). They are the reference whose output the
// differential tests and FuzzEventEncodingMatchesJSON compare, as decoded
// values, with the encoder's, so they must not be edited to make a test
// pass.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// refV1Event is the API Gateway REST API proxy event (payload format 1.0).
type refV1Event struct {
	Version                         string              `json:"version"`
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  refV1Context        `json:"requestContext"`
	Body                            *string             `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

type refV1Context struct {
	AccountID         string         `json:"accountId"`
	APIID             string         `json:"apiId"`
	Authorizer        map[string]any `json:"authorizer,omitempty"`
	DomainName        string         `json:"domainName"`
	DomainPrefix      string         `json:"domainPrefix"`
	ExtendedRequestID string         `json:"extendedRequestId"`
	HTTPMethod        string         `json:"httpMethod"`
	Identity          refV1Identity  `json:"identity"`
	Path              string         `json:"path"`
	Protocol          string         `json:"protocol"`
	RequestID         string         `json:"requestId"`
	RequestTime       string         `json:"requestTime"`
	RequestTimeEpoch  int64          `json:"requestTimeEpoch"`
	ResourceID        *string        `json:"resourceId"`
	ResourcePath      string         `json:"resourcePath"`
	Stage             string         `json:"stage"`
}

// refV1Identity lists every key API Gateway sends; the ones we cannot know are
// null. Some frameworks (aws-serverless-java-container, gloo#9541) fail when
// identity or its keys are missing.
type refV1Identity struct {
	AccessKey                     *string        `json:"accessKey"`
	AccountID                     *string        `json:"accountId"`
	APIKey                        *string        `json:"apiKey"`
	APIKeyID                      *string        `json:"apiKeyId"`
	ClientCert                    *refClientCert `json:"clientCert,omitempty"`
	Caller                        *string        `json:"caller"`
	CognitoAuthenticationProvider *string        `json:"cognitoAuthenticationProvider"`
	CognitoAuthenticationType     *string        `json:"cognitoAuthenticationType"`
	CognitoIdentityID             *string        `json:"cognitoIdentityId"`
	CognitoIdentityPoolID         *string        `json:"cognitoIdentityPoolId"`
	PrincipalOrgID                *string        `json:"principalOrgId"`
	SourceIP                      string         `json:"sourceIp"`
	User                          *string        `json:"user"`
	UserAgent                     string         `json:"userAgent"`
	UserArn                       *string        `json:"userArn"`
}

// refAPIGatewayV1Event builds the API Gateway REST API proxy event (payload
// 1.0, the event of Gloo's wrapAsApiGateway) from the original request.
// multiValue* maps hold every value, including single ones; the query maps
// are null without a query and body is null when empty, as API Gateway does.
func refAPIGatewayV1Event(r *Request) ([]byte, error) {
	ev := refV1Event{
		Version:    "1.0",
		Resource:   r.resource(),
		Path:       r.Path,
		HTTPMethod: r.Method,
	}
	groups := refCanonicalHeaderGroups(r.Header)
	ev.Headers = make(map[string]string, len(groups)+4)
	ev.MultiValueHeaders = make(map[string][]string, len(groups)+4)
	for _, g := range groups {
		switch g.name {
		case "Host", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto":
			continue // set below
		}
		ev.Headers[g.name] = g.values[len(g.values)-1]
		ev.MultiValueHeaders[g.name] = g.values
	}
	refAddForwarded(r, func(name, value string) {
		ev.Headers[name] = value
		ev.MultiValueHeaders[name] = []string{value}
	}, "Host", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto")

	params := refParseQuery(r.RawQuery, queryForm)
	ev.QueryStringParameters = refLastValues(params)
	ev.MultiValueQueryStringParameters = refAllValues(params)
	if len(r.PathParameters) > 0 {
		ev.PathParameters = r.PathParameters
	}

	stage := r.stage()
	ctxPath := r.Path
	if stage != DefaultStage {
		// REST APIs report the stage as the first path segment here.
		ctxPath = "/" + stage + r.Path
	}
	domain := r.domainName()
	ev.RequestContext = refV1Context{
		AccountID:         r.accountID(),
		APIID:             r.apiID(),
		DomainName:        domain,
		DomainPrefix:      refDomainPrefix(domain),
		ExtendedRequestID: r.RequestID,
		HTTPMethod:        r.Method,
		Identity: refV1Identity{
			SourceIP:   r.sourceIP(),
			UserAgent:  r.Header.Get("User-Agent"),
			APIKeyID:   refAPIKeyID(r.Authorizer),
			ClientCert: refClientCertOf(r.Authorizer),
		},
		Path:             ctxPath,
		Authorizer:       refAuthorizerV1(r.Authorizer),
		Protocol:         r.proto(),
		RequestID:        r.RequestID,
		RequestTime:      refRequestTime(r.Time),
		RequestTimeEpoch: r.Time.UnixMilli(),
		ResourcePath:     r.resource(),
		Stage:            stage,
	}
	if len(r.Body) > 0 {
		body, isB64 := refEncodeBody(r.Body, isTextualAPIGateway(r.contentType()))
		ev.Body, ev.IsBase64Encoded = &body, isB64
	}
	return refMarshal(&ev)
}

// refV2Event is the HTTP API event, payload format 2.0.
type refV2Event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        refV2Context      `json:"requestContext"`
	Body                  *string           `json:"body,omitempty"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type refV2Context struct {
	AccountID      string             `json:"accountId"`
	APIID          string             `json:"apiId"`
	Authorizer     map[string]any     `json:"authorizer,omitempty"`
	Authentication *refAuthentication `json:"authentication,omitempty"`
	DomainName     string             `json:"domainName"`
	DomainPrefix   string             `json:"domainPrefix"`
	HTTP           refV2HTTP          `json:"http"`
	RequestID      string             `json:"requestId"`
	RouteKey       string             `json:"routeKey"`
	Stage          string             `json:"stage"`
	Time           string             `json:"time"`
	TimeEpoch      int64              `json:"timeEpoch"`
}

type refV2HTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// refAPIGatewayV2Event builds the HTTP API event, payload format 2.0: lowercased
// headers with repeated values comma-joined, Cookie headers moved to cookies,
// query values percent-decoded and comma-joined.
func refAPIGatewayV2Event(r *Request) ([]byte, error) {
	groups := refLowerHeaderGroups(r.Header)
	ev := refV2Event{
		Version:        "2.0",
		RouteKey:       r.routeKey(),
		RawPath:        r.Path,
		RawQueryString: r.RawQuery,
		Headers:        make(map[string]string, len(groups)+4),
	}
	for _, g := range groups {
		switch g.name {
		case "cookie":
			ev.Cookies = refSplitCookies(ev.Cookies, g.values)
			continue
		case "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto":
			continue // set below
		}
		ev.Headers[g.name] = strings.Join(g.values, ",")
	}
	refAddForwarded(r, func(name, value string) { ev.Headers[name] = value },
		"host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
	ev.QueryStringParameters = refJoinedValues(refParseQuery(r.RawQuery, queryForm))
	if len(r.PathParameters) > 0 {
		ev.PathParameters = r.PathParameters
	}
	domain := r.domainName()
	ev.RequestContext = refV2Context{
		AccountID:    r.accountID(),
		APIID:        r.apiID(),
		DomainName:   domain,
		DomainPrefix: refDomainPrefix(domain),
		HTTP: refV2HTTP{
			Method:    r.Method,
			Path:      r.Path,
			Protocol:  r.proto(),
			SourceIP:  r.sourceIP(),
			UserAgent: r.Header.Get("User-Agent"),
		},
		Authorizer:     refAuthorizerV2(r.Authorizer),
		Authentication: refAuthenticationOf(r.Authorizer),
		RequestID:      r.RequestID,
		RouteKey:       r.routeKey(),
		Stage:          r.stage(),
		Time:           refRequestTime(r.Time),
		TimeEpoch:      r.Time.UnixMilli(),
	}
	if len(r.Body) > 0 {
		body, isB64 := refEncodeBody(r.Body, isTextualAPIGateway(r.contentType()))
		ev.Body, ev.IsBase64Encoded = &body, isB64
	}
	return refMarshal(&ev)
}

// refAlbEvent is the ALB Lambda target event. Exactly one of the single-value
// and multi-value pairs is set, depending on the target group's
// lambda.multi_value_headers.enabled attribute.
type refAlbEvent struct {
	RequestContext                  refAlbContext       `json:"requestContext"`
	HTTPMethod                      string              `json:"httpMethod"`
	Path                            string              `json:"path"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters,omitzero"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters,omitzero"`
	Headers                         map[string]string   `json:"headers,omitzero"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders,omitzero"`
	Body                            string              `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

type refAlbContext struct {
	ELB struct {
		TargetGroupARN string `json:"targetGroupArn"`
	} `json:"elb"`
}

// refALBEvent builds the event an Application Load Balancer sends to a Lambda
// target. Header names are lowercased; query keys and values are passed
// without URL-decoding, as ALB does. Without multi-value headers the last
// value of a repeated header or query key wins. targetGroupARN defaults to
// DefaultTargetGroupARN.
func refALBEvent(r *Request, multiValue bool, targetGroupARN string) ([]byte, error) {
	if targetGroupARN == "" {
		targetGroupARN = DefaultTargetGroupARN
	}
	ev := refAlbEvent{HTTPMethod: r.Method, Path: r.Path}
	ev.RequestContext.ELB.TargetGroupARN = targetGroupARN
	groups := refLowerHeaderGroups(r.Header)
	params := refParseQuery(r.RawQuery, queryRaw)
	var set func(name, value string)
	if multiValue {
		ev.MultiValueHeaders = make(map[string][]string, len(groups)+4)
		ev.MultiValueQueryStringParameters = refAllValues(params)
		if ev.MultiValueQueryStringParameters == nil {
			ev.MultiValueQueryStringParameters = map[string][]string{}
		}
		set = func(name, value string) { ev.MultiValueHeaders[name] = []string{value} }
	} else {
		ev.Headers = make(map[string]string, len(groups)+4)
		ev.QueryStringParameters = refLastValues(params)
		if ev.QueryStringParameters == nil {
			ev.QueryStringParameters = map[string]string{}
		}
		set = func(name, value string) { ev.Headers[name] = value }
	}
	for _, g := range groups {
		switch g.name {
		case "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto":
			continue // set below
		}
		if multiValue {
			ev.MultiValueHeaders[g.name] = g.values
		} else {
			ev.Headers[g.name] = g.values[len(g.values)-1]
		}
	}
	refAddForwarded(r, set, "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
	if len(r.Body) > 0 {
		ev.Body, ev.IsBase64Encoded = refEncodeBody(r.Body, isTextualALB(r.contentType()))
	}
	return refMarshal(&ev)
}

// refAddForwarded sets Host and the X-Forwarded-* headers that ALB and API
// Gateway add, under the given names (their case differs per format).
// X-Forwarded-For appends the client address to what the client sent; Port
// and Proto describe our listener and replace the client's values.
func refAddForwarded(r *Request, set func(name, value string), host, xff, port, proto string) {
	if r.Host != "" {
		set(host, r.Host)
	}
	if v := refForwardedFor(r); v != "" {
		set(xff, v)
	}
	set(port, r.forwardedPort())
	set(proto, r.scheme())
}

// refDomainPrefix is the first label of a domain name, as in requestContext.
func refDomainPrefix(domain string) string {
	p, _, _ := strings.Cut(domain, ".")
	return p
}

// refSplitCookies appends the individual cookies of Cookie header values
// ("a=1; b=2") to dst.
func refSplitCookies(dst []string, values []string) []string {
	for _, v := range values {
		for c := range strings.SplitSeq(v, ";") {
			if c = strings.TrimSpace(c); c != "" {
				dst = append(dst, c)
			}
		}
	}
	return dst
}

// refGlooEvent is the body Gloo's requestTransformation sends (envoy-gloo
// HeaderBodyTransform with add_request_metadata=true).
type refGlooEvent struct {
	Body string `json:"body,omitempty"`
	// IsBase64Encoded is our addition, present only when the body is not
	// valid UTF-8: Gloo would emit invalid JSON there.
	IsBase64Encoded                 bool                `json:"isBase64Encoded,omitempty"`
	Headers                         map[string]string   `json:"headers"`
	HTTPMethod                      string              `json:"httpMethod"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	Path                            string              `json:"path"`
	QueryString                     string              `json:"queryString"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
}

// refGlooRequestTransform builds the payload of Gloo's requestTransformation:
// headers (last value, lowercased, with the HTTP/2 pseudo-headers Envoy has),
// multiValueHeaders and multiValueQueryStringParameters only for repeated
// names, the raw query string, percent-decoded queryStringParameters (last
// value wins, '+' stays '+'), httpMethod, path and body (omitted when empty).
func refGlooRequestTransform(r *Request) ([]byte, error) {
	pathWithQuery := r.Path
	if r.RawQuery != "" {
		pathWithQuery += "?" + r.RawQuery
	}
	ev := refGlooEvent{
		HTTPMethod:                      r.Method,
		Path:                            r.Path,
		QueryString:                     r.RawQuery,
		Headers:                         make(map[string]string, len(r.Header)+6),
		MultiValueHeaders:               map[string][]string{},
		QueryStringParameters:           map[string]string{},
		MultiValueQueryStringParameters: map[string][]string{},
	}
	ev.Headers[":authority"] = r.Host
	ev.Headers[":method"] = r.Method
	ev.Headers[":path"] = pathWithQuery
	ev.Headers[":scheme"] = r.scheme()

	for _, g := range refLowerHeaderGroups(r.Header) {
		switch g.name {
		case "host", "x-forwarded-proto", "x-request-id":
			// Host is :authority; the other two are set by Envoy below.
			continue
		}
		ev.Headers[g.name] = g.values[len(g.values)-1]
		if len(g.values) > 1 {
			ev.MultiValueHeaders[g.name] = g.values
		}
	}
	// Envoy at the edge sets x-forwarded-proto to the downstream scheme and,
	// with generate_request_id (Gloo's default), x-request-id.
	ev.Headers["x-forwarded-proto"] = r.scheme()
	if r.RequestID != "" {
		ev.Headers["x-request-id"] = r.RequestID
	}

	params := refParseQuery(r.RawQuery, queryPercent)
	for _, p := range params {
		ev.QueryStringParameters[p.key] = p.value
	}
	for k, vs := range refAllValues(params) {
		if len(vs) > 1 {
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}

	if len(r.Body) > 0 {
		if utf8.Valid(r.Body) {
			ev.Body = string(r.Body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(r.Body), true
		}
	}
	return refMarshal(&ev)
}

// refHeaderGroup is one header name with all its values.
type refHeaderGroup struct {
	name   string
	values []string
}

// refLowerHeaderGroups returns the headers with lowercased names, sorted by
// name so that output is deterministic.
func refLowerHeaderGroups(h http.Header) []refHeaderGroup {
	return refHeaderGroups(h, strings.ToLower)
}

// refCanonicalHeaderGroups is refLowerHeaderGroups with canonical names ("Content-Type").
func refCanonicalHeaderGroups(h http.Header) []refHeaderGroup {
	return refHeaderGroups(h, http.CanonicalHeaderKey)
}

// refHeaderGroups renames every key with rename and sorts by the new name. Keys
// that end up equal (http.Header can hold "x-a" and "X-A" when filled
// directly) are merged, in sorted order of the original keys.
func refHeaderGroups(h http.Header, rename func(string) string) []refHeaderGroup {
	groups := make([]refHeaderGroup, 0, len(h))
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		groups = append(groups, refHeaderGroup{k, vs})
	}
	slices.SortFunc(groups, func(a, b refHeaderGroup) int { return strings.Compare(a.name, b.name) })
	for i := range groups {
		groups[i].name = rename(groups[i].name)
	}
	slices.SortStableFunc(groups, func(a, b refHeaderGroup) int { return strings.Compare(a.name, b.name) })
	out := groups[:0]
	for _, g := range groups {
		if n := len(out); n > 0 && out[n-1].name == g.name {
			// Clip forces a copy so the caller's header slices are never written.
			out[n-1].values = append(slices.Clip(out[n-1].values), g.values...)
			continue
		}
		out = append(out, g)
	}
	return out
}

// refMarshal encodes v without HTML escaping (the payload is not HTML) and
// without the trailing newline json.Encoder adds.
func refMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(1024)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// refQueryParam is one key=value pair of a query string, in arrival order.
type refQueryParam struct{ key, value string }

// refParseQuery splits a raw query string on '&'. A parameter without '='
// has the value "". Empty parameters ("a=1&&b=2") are skipped, as Envoy's
// parseQueryString does. Keys and values are decoded as dec says: raw (ALB),
// percent-decoded leniently with '+' kept (Envoy), or with '+' as a space
// before percent-decoding (API Gateway).
func refParseQuery(raw string, dec queryDecoding) []refQueryParam {
	if raw == "" {
		return nil
	}
	params := make([]refQueryParam, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		switch dec {
		case queryPercent:
			k, v = percentDecode(k), percentDecode(v)
		case queryForm:
			k = percentDecode(strings.ReplaceAll(k, "+", " "))
			v = percentDecode(strings.ReplaceAll(v, "+", " "))
		}
		params = append(params, refQueryParam{k, v})
	}
	return params
}

// refLastValues maps each key to its last value; nil when there are no params.
func refLastValues(params []refQueryParam) map[string]string {
	if len(params) == 0 {
		return nil
	}
	m := make(map[string]string, len(params))
	for _, p := range params {
		m[p.key] = p.value
	}
	return m
}

// refAllValues maps each key to all its values in order; nil when there are no params.
func refAllValues(params []refQueryParam) map[string][]string {
	if len(params) == 0 {
		return nil
	}
	m := make(map[string][]string, len(params))
	for _, p := range params {
		m[p.key] = append(m[p.key], p.value)
	}
	return m
}

// refJoinedValues maps each key to its values joined with ",", as HTTP API
// payload 2.0 does; nil when there are no params. Joining once per key keeps
// this linear however often a key repeats.
func refJoinedValues(params []refQueryParam) map[string]string {
	all := refAllValues(params)
	if all == nil {
		return nil
	}
	m := make(map[string]string, len(all))
	for k, vs := range all {
		m[k] = strings.Join(vs, ",")
	}
	return m
}

// forwardedFor appends the client address to any X-Forwarded-For the client
// sent, as ALB and API Gateway do.
func refForwardedFor(r *Request) string {
	ip := r.sourceIP()
	if prev := r.Header.Values("X-Forwarded-For"); len(prev) > 0 {
		joined := strings.Join(prev, ", ")
		if ip == "" {
			return joined
		}
		return joined + ", " + ip
	}
	return ip
}

// refRequestTime formats t as API Gateway's requestTime/time: "02/Jan/2006:15:04:05 +0000".
func refRequestTime(t time.Time) string {
	return t.UTC().Format("02/Jan/2006:15:04:05 +0000")
}

// refEncodeBody returns the event's body string and isBase64Encoded. Bodies that
// are not valid UTF-8 are always base64-encoded: a JSON string cannot carry
// them.
func refEncodeBody(body []byte, textual bool) (string, bool) {
	if textual && utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

type refClientCert struct {
	ClientCertPem string `json:"clientCertPem"`
	SubjectDN     string `json:"subjectDN"`
	IssuerDN      string `json:"issuerDN"`
	SerialNumber  string `json:"serialNumber"`
	Validity      struct {
		NotBefore string `json:"notBefore"`
		NotAfter  string `json:"notAfter"`
	} `json:"validity"`
}

type refAuthentication struct {
	ClientCert *refClientCert `json:"clientCert"`
}

func refClientCertOf(a *Authorizer) *refClientCert {
	if a == nil || a.ClientCert == nil {
		return nil
	}
	c := a.ClientCert
	rc := &refClientCert{ClientCertPem: c.PEM, SubjectDN: c.SubjectDN, IssuerDN: c.IssuerDN, SerialNumber: c.SerialNumber}
	// OpenSSL's notation: month, day padded with a space, time, year, GMT.
	format := func(t time.Time) string {
		t = t.UTC()
		return fmt.Sprintf("%s %2d %02d:%02d:%02d %04d GMT", t.Month().String()[:3], t.Day(), t.Hour(), t.Minute(), t.Second(), t.Year())
	}
	rc.Validity.NotBefore, rc.Validity.NotAfter = format(c.NotBefore), format(c.NotAfter)
	return rc
}

func refAuthenticationOf(a *Authorizer) *refAuthentication {
	if c := refClientCertOf(a); c != nil {
		return &refAuthentication{ClientCert: c}
	}
	return nil
}

func refAPIKeyID(a *Authorizer) *string {
	if a == nil || a.APIKey == "" {
		return nil
	}
	return &a.APIKey
}

// refAuthorizerV1 is payload 1.0's requestContext.authorizer: context keys,
// then principalId and the JWT's claims and scopes over them.
func refAuthorizerV1(a *Authorizer) map[string]any {
	if a == nil || (a.Claims == nil && a.PrincipalID == "" && a.Context == nil) {
		return nil
	}
	m := map[string]any{}
	maps.Copy(m, a.Context)
	if a.PrincipalID != "" || a.Context != nil {
		m["principalId"], m["integrationLatency"] = a.PrincipalID, 0
	}
	if a.Claims != nil {
		m["claims"], m["scopes"] = a.Claims, a.Scopes
	}
	return m
}

// refAuthorizerV2 is payload 2.0's requestContext.authorizer: jwt with
// string claims, lambda with the context.
func refAuthorizerV2(a *Authorizer) map[string]any {
	if a == nil || (a.Claims == nil && a.PrincipalID == "" && a.Context == nil) {
		return nil
	}
	m := map[string]any{}
	if a.Claims != nil {
		claims := map[string]string{}
		for k, v := range a.Claims {
			claims[k] = refClaimString(v)
		}
		m["jwt"] = map[string]any{"claims": claims, "scopes": a.Scopes}
	}
	if a.PrincipalID != "" || a.Context != nil {
		ctx := a.Context
		if ctx == nil {
			ctx = map[string]any{}
		}
		m["lambda"] = ctx
	}
	return m
}

func refClaimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(refClaimString(e))
		}
		return b.String() + "]"
	}
	j, _ := json.Marshal(v)
	return string(j)
}
