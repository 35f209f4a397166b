package transform

import "strings"

// APIGatewayV1Event builds the API Gateway REST API proxy event (payload
// 1.0, the event of Gloo's wrapAsApiGateway) from the original request.
// multiValue* maps hold every value, including single ones; query keys and
// values are form-decoded ('+' is a space); the query maps are null without
// a query and body is null when empty, as API Gateway does.
func APIGatewayV1Event(r *Request) ([]byte, error) {
	return AppendAPIGatewayV1Event(make([]byte, 0, eventSizeHint(r)), r)
}

// AppendAPIGatewayV1Event is APIGatewayV1Event appending to dst, so that a
// caller can reuse one buffer across requests.
func AppendAPIGatewayV1Event(dst []byte, r *Request) ([]byte, error) {
	var groups groupBuf
	// A constant-size make that does not escape lives on the stack.
	hs := make([]hdr, 0, 24)
	for _, g := range canonicalHeaderGroups(&groups, r.Header) {
		switch g.name {
		case "Host", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto":
			continue // set below
		}
		hs = append(hs, hdr{name: g.name, values: g.values})
	}
	hs = addForwarded(hs, r, "Host", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto")
	headers := sortHeaders(hs)

	dst = append(dst, `{"version":"1.0"`...)
	dst = appendStringField(dst, "resource", r.resource())
	dst = appendStringField(dst, "path", r.Path)
	dst = appendStringField(dst, "httpMethod", r.Method)
	dst = append(dst, `,"headers":`...)
	dst = appendHeaderObject(dst, headers, hdrLast)
	dst = append(dst, `,"multiValueHeaders":`...)
	dst = appendHeaderObject(dst, headers, hdrAll)

	var pbuf paramBuf
	params := sortedQuery(&pbuf, r.RawQuery, queryForm)
	if len(params) == 0 {
		dst = append(dst, `,"queryStringParameters":null,"multiValueQueryStringParameters":null`...)
	} else {
		dst = append(dst, `,"queryStringParameters":`...)
		dst = appendQueryObject(dst, params, hdrLast, 0)
		dst = append(dst, `,"multiValueQueryStringParameters":`...)
		dst = appendQueryObject(dst, params, hdrAll, 0)
	}
	if len(r.PathParameters) > 0 {
		dst = append(dst, `,"pathParameters":`...)
		dst = appendStringMap(dst, r.PathParameters)
	} else {
		dst = append(dst, `,"pathParameters":null`...)
	}
	dst = append(dst, `,"stageVariables":null,"requestContext":{`...)

	domain := r.domainName()
	dst = appendStringField(dst, "accountId", r.accountID())
	dst = appendStringField(dst, "apiId", r.apiID())
	if a := r.Authorizer; a != nil && a.authorizes() {
		dst = appendAuthorizerV1(dst, a)
	}
	dst = appendStringField(dst, "domainName", domain)
	dst = appendStringField(dst, "domainPrefix", domainPrefix(domain))
	dst = appendStringField(dst, "extendedRequestId", r.RequestID)
	dst = appendStringField(dst, "httpMethod", r.Method)
	if a := r.Authorizer; a == nil {
		dst = append(dst, `,"identity":{"accessKey":null,"accountId":null,"apiKey":null,"apiKeyId":null,"caller":null,"cognitoAuthenticationProvider":null,"cognitoAuthenticationType":null,"cognitoIdentityId":null,"cognitoIdentityPoolId":null,"principalOrgId":null`...)
	} else {
		dst = append(dst, `,"identity":{"accessKey":null,"accountId":null`...)
		dst = appendIdentityV1(dst, a)
		dst = append(dst, `,"caller":null,"cognitoAuthenticationProvider":null,"cognitoAuthenticationType":null,"cognitoIdentityId":null,"cognitoIdentityPoolId":null,"principalOrgId":null`...)
	}
	dst = appendStringField(dst, "sourceIp", r.sourceIP())
	dst = append(dst, `,"user":null`...)
	dst = appendStringField(dst, "userAgent", r.Header.Get("User-Agent"))
	dst = append(dst, `,"userArn":null}`...)
	stage := r.stage()
	dst = append(dst, `,"path":`...)
	if stage != DefaultStage {
		// REST APIs report the stage as the first path segment here. The
		// parts are escaped together: a UTF-8 sequence may span them.
		var buf [256]byte
		p := append(buf[:0], '/')
		p = append(p, stage...)
		dst = appendString(dst, append(p, r.Path...))
	} else {
		dst = appendString(dst, r.Path)
	}
	dst = appendStringField(dst, "protocol", r.proto())
	dst = appendStringField(dst, "requestId", r.RequestID)
	dst = append(dst, `,"requestTime":`...)
	dst = appendRequestTime(dst, r.Time)
	dst = appendIntField(dst, "requestTimeEpoch", r.Time.UnixMilli())
	dst = append(dst, `,"resourceId":null`...)
	dst = appendStringField(dst, "resourcePath", r.resource())
	dst = appendStringField(dst, "stage", stage)
	dst = append(dst, '}')

	isB64 := false
	dst = append(dst, `,"body":`...)
	if len(r.Body) > 0 {
		dst, isB64 = appendBody(dst, r.Body, isTextualAPIGateway(r.contentType()))
	} else {
		dst = append(dst, "null"...)
	}
	dst = appendBoolField(dst, "isBase64Encoded", isB64)
	return append(dst, '}'), nil
}

// APIGatewayV2Event builds the HTTP API event, payload format 2.0: lowercased
// headers with repeated values comma-joined, Cookie headers moved to cookies,
// query values form-decoded ('+' is a space) and comma-joined; rawQueryString
// is the query as received.
func APIGatewayV2Event(r *Request) ([]byte, error) {
	return AppendAPIGatewayV2Event(make([]byte, 0, eventSizeHint(r)), r)
}

// AppendAPIGatewayV2Event is APIGatewayV2Event appending to dst.
func AppendAPIGatewayV2Event(dst []byte, r *Request) ([]byte, error) {
	var groups groupBuf
	// A constant-size make that does not escape lives on the stack.
	hs := make([]hdr, 0, 24)
	var cookies []string
	for _, g := range lowerHeaderGroups(&groups, r.Header) {
		switch g.name {
		case "cookie":
			cookies = g.values
			continue
		case "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto":
			continue // set below
		}
		hs = append(hs, hdr{name: g.name, values: g.values})
	}
	hs = addForwarded(hs, r, "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
	headers := sortHeaders(hs)

	dst = append(dst, `{"version":"2.0"`...)
	dst = appendStringField(dst, "routeKey", r.routeKey())
	dst = appendStringField(dst, "rawPath", r.Path)
	dst = appendStringField(dst, "rawQueryString", r.RawQuery)
	dst = appendCookies(dst, cookies)
	dst = append(dst, `,"headers":`...)
	dst = appendHeaderObject(dst, headers, hdrJoined)
	var pbuf paramBuf
	if params := sortedQuery(&pbuf, r.RawQuery, queryForm); len(params) > 0 {
		dst = append(dst, `,"queryStringParameters":`...)
		dst = appendQueryObject(dst, params, hdrJoined, 0)
	}

	domain := r.domainName()
	dst = append(dst, `,"requestContext":{`...)
	dst = appendStringField(dst, "accountId", r.accountID())
	dst = appendStringField(dst, "apiId", r.apiID())
	if r.Authorizer != nil {
		dst = appendAuthorizerV2(dst, r.Authorizer)
	}
	dst = appendStringField(dst, "domainName", domain)
	dst = appendStringField(dst, "domainPrefix", domainPrefix(domain))
	dst = append(dst, `,"http":{`...)
	dst = appendStringField(dst, "method", r.Method)
	dst = appendStringField(dst, "path", r.Path)
	dst = appendStringField(dst, "protocol", r.proto())
	dst = appendStringField(dst, "sourceIp", r.sourceIP())
	dst = appendStringField(dst, "userAgent", r.Header.Get("User-Agent"))
	dst = append(dst, '}')
	dst = appendStringField(dst, "requestId", r.RequestID)
	dst = appendStringField(dst, "routeKey", r.routeKey())
	dst = appendStringField(dst, "stage", r.stage())
	dst = append(dst, `,"time":`...)
	dst = appendRequestTime(dst, r.Time)
	dst = appendIntField(dst, "timeEpoch", r.Time.UnixMilli())
	dst = append(dst, '}')

	isB64 := false
	if len(r.Body) > 0 {
		dst = append(dst, `,"body":`...)
		dst, isB64 = appendBody(dst, r.Body, isTextualAPIGateway(r.contentType()))
	}
	if len(r.PathParameters) > 0 {
		dst = append(dst, `,"pathParameters":`...)
		dst = appendStringMap(dst, r.PathParameters)
	}
	dst = appendBoolField(dst, "isBase64Encoded", isB64)
	return append(dst, '}'), nil
}

// appendCookies writes the "cookies" member of payload 2.0: the individual
// cookies of the Cookie header values ("a=1; b=2"), omitted when there are
// none.
func appendCookies(dst []byte, values []string) []byte {
	n := 0
	for _, v := range values {
		for c := range strings.SplitSeq(v, ";") {
			if c = strings.TrimSpace(c); c == "" {
				continue
			}
			if n == 0 {
				dst = append(dst, `,"cookies":[`...)
			} else {
				dst = append(dst, ',')
			}
			dst = appendString(dst, c)
			n++
		}
	}
	if n > 0 {
		dst = append(dst, ']')
	}
	return dst
}

// ALBEvent builds the event an Application Load Balancer sends to a Lambda
// target. Header names are lowercased; query keys and values are passed
// without URL-decoding, as ALB does. Without multi-value headers the last
// value of a repeated header or query key wins. targetGroupARN defaults to
// DefaultTargetGroupARN.
func ALBEvent(r *Request, multiValue bool, targetGroupARN string) ([]byte, error) {
	return AppendALBEvent(make([]byte, 0, eventSizeHint(r)), r, multiValue, targetGroupARN)
}

// AppendALBEvent is ALBEvent appending to dst.
func AppendALBEvent(dst []byte, r *Request, multiValue bool, targetGroupARN string) ([]byte, error) {
	if targetGroupARN == "" {
		targetGroupARN = DefaultTargetGroupARN
	}
	var groups groupBuf
	// A constant-size make that does not escape lives on the stack.
	hs := make([]hdr, 0, 24)
	for _, g := range lowerHeaderGroups(&groups, r.Header) {
		switch g.name {
		case "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto":
			continue // set below
		}
		hs = append(hs, hdr{name: g.name, values: g.values})
	}
	hs = addForwarded(hs, r, "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
	headers := sortHeaders(hs)

	dst = append(dst, `{"requestContext":{"elb":{"targetGroupArn":`...)
	dst = appendString(dst, targetGroupARN)
	dst = append(dst, `}}`...)
	dst = appendStringField(dst, "httpMethod", r.Method)
	dst = appendStringField(dst, "path", r.Path)
	var pbuf paramBuf
	params := sortedQuery(&pbuf, r.RawQuery, queryRaw)
	if multiValue {
		dst = append(dst, `,"multiValueQueryStringParameters":`...)
		dst = appendQueryObject(dst, params, hdrAll, 0)
		dst = append(dst, `,"multiValueHeaders":`...)
		dst = appendHeaderObject(dst, headers, hdrAll)
	} else {
		dst = append(dst, `,"queryStringParameters":`...)
		dst = appendQueryObject(dst, params, hdrLast, 0)
		dst = append(dst, `,"headers":`...)
		dst = appendHeaderObject(dst, headers, hdrLast)
	}
	dst = append(dst, `,"body":`...)
	isB64 := false
	if len(r.Body) > 0 {
		dst, isB64 = appendBody(dst, r.Body, isTextualALB(r.contentType()))
	} else {
		dst = append(dst, `""`...)
	}
	dst = appendBoolField(dst, "isBase64Encoded", isB64)
	return append(dst, '}'), nil
}

// domainPrefix is the first label of a domain name, as in requestContext.
func domainPrefix(domain string) string {
	p, _, _ := strings.Cut(domain, ".")
	return p
}
