package transform

import (
	"strings"
)

// v1Event is the API Gateway REST API proxy event (payload format 1.0).
type v1Event struct {
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
	RequestContext                  v1Context           `json:"requestContext"`
	Body                            *string             `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

type v1Context struct {
	AccountID         string     `json:"accountId"`
	APIID             string     `json:"apiId"`
	DomainName        string     `json:"domainName"`
	DomainPrefix      string     `json:"domainPrefix"`
	ExtendedRequestID string     `json:"extendedRequestId"`
	HTTPMethod        string     `json:"httpMethod"`
	Identity          v1Identity `json:"identity"`
	Path              string     `json:"path"`
	Protocol          string     `json:"protocol"`
	RequestID         string     `json:"requestId"`
	RequestTime       string     `json:"requestTime"`
	RequestTimeEpoch  int64      `json:"requestTimeEpoch"`
	ResourceID        *string    `json:"resourceId"`
	ResourcePath      string     `json:"resourcePath"`
	Stage             string     `json:"stage"`
}

// v1Identity lists every key API Gateway sends; the ones we cannot know are
// null. Some frameworks (aws-serverless-java-container, gloo#9541) fail when
// identity or its keys are missing.
type v1Identity struct {
	AccessKey                     *string `json:"accessKey"`
	AccountID                     *string `json:"accountId"`
	APIKey                        *string `json:"apiKey"`
	APIKeyID                      *string `json:"apiKeyId"`
	Caller                        *string `json:"caller"`
	CognitoAuthenticationProvider *string `json:"cognitoAuthenticationProvider"`
	CognitoAuthenticationType     *string `json:"cognitoAuthenticationType"`
	CognitoIdentityID             *string `json:"cognitoIdentityId"`
	CognitoIdentityPoolID         *string `json:"cognitoIdentityPoolId"`
	PrincipalOrgID                *string `json:"principalOrgId"`
	SourceIP                      string  `json:"sourceIp"`
	User                          *string `json:"user"`
	UserAgent                     string  `json:"userAgent"`
	UserArn                       *string `json:"userArn"`
}

// APIGatewayV1Event builds the API Gateway REST API proxy event (payload
// 1.0, the event of Gloo's wrapAsApiGateway) from the original request.
// multiValue* maps hold every value, including single ones; the query maps
// are null without a query and body is null when empty, as API Gateway does.
func APIGatewayV1Event(r *Request) ([]byte, error) {
	ev := v1Event{
		Version:    "1.0",
		Resource:   r.resource(),
		Path:       r.Path,
		HTTPMethod: r.Method,
	}
	groups := canonicalHeaderGroups(r.Header)
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
	addForwarded(r, func(name, value string) {
		ev.Headers[name] = value
		ev.MultiValueHeaders[name] = []string{value}
	}, "Host", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto")

	params := parseQuery(r.RawQuery, true)
	ev.QueryStringParameters = lastValues(params)
	ev.MultiValueQueryStringParameters = allValues(params)
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
	ev.RequestContext = v1Context{
		AccountID:         r.accountID(),
		APIID:             r.apiID(),
		DomainName:        domain,
		DomainPrefix:      domainPrefix(domain),
		ExtendedRequestID: r.RequestID,
		HTTPMethod:        r.Method,
		Identity: v1Identity{
			SourceIP:  r.sourceIP(),
			UserAgent: r.Header.Get("User-Agent"),
		},
		Path:             ctxPath,
		Protocol:         r.proto(),
		RequestID:        r.RequestID,
		RequestTime:      requestTime(r.Time),
		RequestTimeEpoch: r.Time.UnixMilli(),
		ResourcePath:     r.resource(),
		Stage:            stage,
	}
	if len(r.Body) > 0 {
		body, isB64 := encodeBody(r.Body, isTextualAPIGateway(r.contentType()))
		ev.Body, ev.IsBase64Encoded = &body, isB64
	}
	return marshal(&ev)
}

// v2Event is the HTTP API event, payload format 2.0.
type v2Event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        v2Context         `json:"requestContext"`
	Body                  *string           `json:"body,omitempty"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type v2Context struct {
	AccountID    string `json:"accountId"`
	APIID        string `json:"apiId"`
	DomainName   string `json:"domainName"`
	DomainPrefix string `json:"domainPrefix"`
	HTTP         v2HTTP `json:"http"`
	RequestID    string `json:"requestId"`
	RouteKey     string `json:"routeKey"`
	Stage        string `json:"stage"`
	Time         string `json:"time"`
	TimeEpoch    int64  `json:"timeEpoch"`
}

type v2HTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// APIGatewayV2Event builds the HTTP API event, payload format 2.0: lowercased
// headers with repeated values comma-joined, Cookie headers moved to cookies,
// query values percent-decoded and comma-joined.
func APIGatewayV2Event(r *Request) ([]byte, error) {
	groups := lowerHeaderGroups(r.Header)
	ev := v2Event{
		Version:        "2.0",
		RouteKey:       r.routeKey(),
		RawPath:        r.Path,
		RawQueryString: r.RawQuery,
		Headers:        make(map[string]string, len(groups)+4),
	}
	for _, g := range groups {
		switch g.name {
		case "cookie":
			ev.Cookies = splitCookies(ev.Cookies, g.values)
			continue
		case "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto":
			continue // set below
		}
		ev.Headers[g.name] = strings.Join(g.values, ",")
	}
	addForwarded(r, func(name, value string) { ev.Headers[name] = value },
		"host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
	ev.QueryStringParameters = joinedValues(parseQuery(r.RawQuery, true))
	if len(r.PathParameters) > 0 {
		ev.PathParameters = r.PathParameters
	}
	domain := r.domainName()
	ev.RequestContext = v2Context{
		AccountID:    r.accountID(),
		APIID:        r.apiID(),
		DomainName:   domain,
		DomainPrefix: domainPrefix(domain),
		HTTP: v2HTTP{
			Method:    r.Method,
			Path:      r.Path,
			Protocol:  r.proto(),
			SourceIP:  r.sourceIP(),
			UserAgent: r.Header.Get("User-Agent"),
		},
		RequestID: r.RequestID,
		RouteKey:  r.routeKey(),
		Stage:     r.stage(),
		Time:      requestTime(r.Time),
		TimeEpoch: r.Time.UnixMilli(),
	}
	if len(r.Body) > 0 {
		body, isB64 := encodeBody(r.Body, isTextualAPIGateway(r.contentType()))
		ev.Body, ev.IsBase64Encoded = &body, isB64
	}
	return marshal(&ev)
}

// albEvent is the ALB Lambda target event. Exactly one of the single-value
// and multi-value pairs is set, depending on the target group's
// lambda.multi_value_headers.enabled attribute.
type albEvent struct {
	RequestContext                  albContext          `json:"requestContext"`
	HTTPMethod                      string              `json:"httpMethod"`
	Path                            string              `json:"path"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters,omitzero"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters,omitzero"`
	Headers                         map[string]string   `json:"headers,omitzero"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders,omitzero"`
	Body                            string              `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

type albContext struct {
	ELB struct {
		TargetGroupARN string `json:"targetGroupArn"`
	} `json:"elb"`
}

// ALBEvent builds the event an Application Load Balancer sends to a Lambda
// target. Header names are lowercased; query keys and values are passed
// without URL-decoding, as ALB does. Without multi-value headers the last
// value of a repeated header or query key wins. targetGroupARN defaults to
// DefaultTargetGroupARN.
func ALBEvent(r *Request, multiValue bool, targetGroupARN string) ([]byte, error) {
	if targetGroupARN == "" {
		targetGroupARN = DefaultTargetGroupARN
	}
	ev := albEvent{HTTPMethod: r.Method, Path: r.Path}
	ev.RequestContext.ELB.TargetGroupARN = targetGroupARN
	groups := lowerHeaderGroups(r.Header)
	params := parseQuery(r.RawQuery, false)
	var set func(name, value string)
	if multiValue {
		ev.MultiValueHeaders = make(map[string][]string, len(groups)+4)
		ev.MultiValueQueryStringParameters = allValues(params)
		if ev.MultiValueQueryStringParameters == nil {
			ev.MultiValueQueryStringParameters = map[string][]string{}
		}
		set = func(name, value string) { ev.MultiValueHeaders[name] = []string{value} }
	} else {
		ev.Headers = make(map[string]string, len(groups)+4)
		ev.QueryStringParameters = lastValues(params)
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
	addForwarded(r, set, "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
	if len(r.Body) > 0 {
		ev.Body, ev.IsBase64Encoded = encodeBody(r.Body, isTextualALB(r.contentType()))
	}
	return marshal(&ev)
}

// addForwarded sets Host and the X-Forwarded-* headers that ALB and API
// Gateway add, under the given names (their case differs per format).
// X-Forwarded-For appends the client address to what the client sent; Port
// and Proto describe our listener and replace the client's values.
func addForwarded(r *Request, set func(name, value string), host, xff, port, proto string) {
	if r.Host != "" {
		set(host, r.Host)
	}
	if v := r.forwardedFor(); v != "" {
		set(xff, v)
	}
	set(port, r.forwardedPort())
	set(proto, r.scheme())
}

// domainPrefix is the first label of a domain name, as in requestContext.
func domainPrefix(domain string) string {
	p, _, _ := strings.Cut(domain, ".")
	return p
}

// splitCookies appends the individual cookies of Cookie header values
// ("a=1; b=2") to dst.
func splitCookies(dst []string, values []string) []string {
	for _, v := range values {
		for c := range strings.SplitSeq(v, ";") {
			if c = strings.TrimSpace(c); c != "" {
				dst = append(dst, c)
			}
		}
	}
	return dst
}
