package transform

import (
	"bytes"
	"net/http"
)

// FormatHTTPIntegration names a streamed answer's HTTP integration prelude
// in MalformedError.
const FormatHTTPIntegration = "http-integration-response"

// HTTPIntegrationContentType is the content type of a streamed answer that
// starts with an HTTP integration prelude (what Node.js's
// awslambda.HttpResponseStream.from and aws-lambda-go's
// LambdaFunctionURLStreamingResponse write).
const HTTPIntegrationContentType = "application/vnd.awslambda.http-integration-response"

// PreludeDelimiter ends the prelude: 8 NUL bytes, which JSON text cannot
// contain.
var PreludeDelimiter = []byte{0, 0, 0, 0, 0, 0, 0, 0}

// ParseStreamPrelude reads the JSON prelude of a streamed answer:
// statusCode (default 200), headers, multiValueHeaders (which wins for a
// name present in both) and cookies (one Set-Cookie line each), validated
// as an API Gateway response's. The response has no body: the stream's
// bytes after the delimiter are the body.
func ParseStreamPrelude(prelude []byte) (*Response, error) {
	const format = FormatHTTPIntegration
	if len(bytes.TrimSpace(prelude)) == 0 {
		return &Response{StatusCode: http.StatusOK, Header: make(http.Header)}, nil
	}
	obj, err := parseObject(prelude, format)
	if err != nil {
		return nil, err
	}
	status := http.StatusOK
	if raw, ok := obj["statusCode"]; ok && !isNull(raw) {
		var problem string
		if status, problem = parseStatus(raw, false); problem != "" {
			return nil, malformed(format, problem)
		}
	}
	resp := &Response{StatusCode: status, Header: make(http.Header)}
	hb := headerBuilder{h: resp.Header, format: format}
	multiNames := map[string]bool{}
	if err := hb.addMulti(obj["multiValueHeaders"], multiNames); err != nil {
		return nil, err
	}
	if err := hb.addSingle(obj["headers"], multiNames); err != nil {
		return nil, err
	}
	if err := hb.addCookies(obj["cookies"]); err != nil {
		return nil, err
	}
	resp.ContentLength = hb.contentLength
	return resp, nil
}
