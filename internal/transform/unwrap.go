package transform

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// UnwrapALB turns a function's output into the response an Application Load
// Balancer would send. statusCode is required (an integer 100-599);
// statusDescription is ignored. Only multiValueHeaders is read when
// multiValue is set and only headers otherwise, as the ELB guide prescribes.
func UnwrapALB(payload []byte, multiValue bool) (*Response, error) {
	if resp := fastUnwrap(payload, FormatALB, multiValue); resp != nil {
		return resp, nil
	}
	return slowUnwrapALB(payload, multiValue)
}

// slowUnwrapALB is UnwrapALB on encoding/json, the fallback of the fast
// path (see fastUnwrap) and the only place that reports errors.
func slowUnwrapALB(payload []byte, multiValue bool) (*Response, error) {
	const format = FormatALB
	obj, err := parseObject(payload, format)
	if err != nil {
		return nil, err
	}
	raw, ok := obj["statusCode"]
	if !ok || isNull(raw) {
		return nil, malformed(format, "statusCode is missing")
	}
	status, problem := parseStatus(raw, false)
	if problem != "" {
		return nil, malformed(format, problem)
	}
	resp := &Response{StatusCode: status, Header: make(http.Header)}
	hb := headerBuilder{h: resp.Header, format: format, strict: true}
	if multiValue {
		err = hb.addMulti(obj["multiValueHeaders"], nil)
	} else {
		err = hb.addSingle(obj["headers"], nil)
	}
	if err != nil {
		return nil, err
	}
	resp.ContentLength = hb.contentLength
	if resp.Body, err = decodeBody(obj, format); err != nil {
		return nil, err
	}
	return resp, nil
}

// UnwrapAPIGatewayV1 turns a function's output into the response API Gateway
// (REST API, payload 1.0 / Gloo's unwrapAsApiGateway) would send. headers and
// multiValueHeaders are merged; for a name present in both only the
// multiValueHeaders values are used. A missing statusCode means 200 and a
// missing body an empty body. Unknown top-level keys are ignored.
func UnwrapAPIGatewayV1(payload []byte) (*Response, error) {
	if resp := fastUnwrap(payload, FormatAPIGatewayV1, false); resp != nil {
		return resp, nil
	}
	return slowUnwrapAPIGatewayV1(payload)
}

// slowUnwrapAPIGatewayV1 is UnwrapAPIGatewayV1 on encoding/json.
func slowUnwrapAPIGatewayV1(payload []byte) (*Response, error) {
	const format = FormatAPIGatewayV1
	obj, err := parseObject(payload, format)
	if err != nil {
		return nil, err
	}
	return unwrapAPIGateway(obj, format, false)
}

// UnwrapAPIGatewayV2 turns a function's output into the response an HTTP
// API (payload 2.0) would send. Output that is valid JSON but has no
// statusCode is the body itself: status 200, content-type application/json
// (a JSON string output is sent as its decoded text). Each cookies entry
// becomes a Set-Cookie line; multiValueHeaders is not read in 2.0.
func UnwrapAPIGatewayV2(payload []byte) (*Response, error) {
	if resp := fastUnwrap(payload, FormatAPIGatewayV2, false); resp != nil {
		return resp, nil
	}
	return slowUnwrapAPIGatewayV2(payload)
}

// slowUnwrapAPIGatewayV2 is UnwrapAPIGatewayV2 on encoding/json.
func slowUnwrapAPIGatewayV2(payload []byte) (*Response, error) {
	const format = FormatAPIGatewayV2
	trimmed := bytes.TrimSpace(payload)
	if !json.Valid(trimmed) {
		return nil, malformed(format, "output is not valid JSON")
	}
	var obj map[string]json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return nil, malformed(format, "output is not valid JSON")
		}
	}
	if _, ok := obj["statusCode"]; !ok {
		body := trimmed
		if trimmed[0] == '"' {
			var s string
			if err := json.Unmarshal(trimmed, &s); err != nil {
				return nil, malformed(format, "output is not valid JSON")
			}
			body = []byte(s)
		} else {
			body = slices.Clone(trimmed)
		}
		return &Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       body,
		}, nil
	}
	return unwrapAPIGateway(obj, format, true)
}

func unwrapAPIGateway(obj map[string]json.RawMessage, format string, v2 bool) (*Response, error) {
	status := http.StatusOK
	if raw, ok := obj["statusCode"]; ok {
		var problem string
		if status, problem = parseStatus(raw, true); problem != "" {
			return nil, malformed(format, problem)
		}
	}
	resp := &Response{StatusCode: status, Header: make(http.Header)}
	hb := headerBuilder{h: resp.Header, format: format}
	if v2 {
		if err := hb.addSingle(obj["headers"], nil); err != nil {
			return nil, err
		}
		if err := hb.addCookies(obj["cookies"]); err != nil {
			return nil, err
		}
	} else {
		// multiValueHeaders wins for a name present in both (API Gateway guide).
		multiNames := map[string]bool{}
		if err := hb.addMulti(obj["multiValueHeaders"], multiNames); err != nil {
			return nil, err
		}
		if err := hb.addSingle(obj["headers"], multiNames); err != nil {
			return nil, err
		}
	}
	resp.ContentLength = hb.contentLength
	var err error
	if resp.Body, err = decodeBody(obj, format); err != nil {
		return nil, err
	}
	return resp, nil
}

// quote quotes a function-supplied string for a Problem, cut to a length
// that keeps the 502 body short.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// short cuts a JSON number for a Problem.
func short(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

func malformed(format, problem string) *MalformedError {
	return &MalformedError{Format: format, Problem: problem}
}

// parseObject decodes payload as a JSON object. Duplicate keys: the last one
// wins, as in Gloo's parsers.
func parseObject(payload []byte, format string) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 {
		return nil, malformed(format, "output is empty")
	}
	if trimmed[0] != '{' {
		if json.Valid(trimmed) {
			return nil, malformed(format, "output is not a JSON object")
		}
		return nil, malformed(format, "output is not valid JSON")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, malformed(format, "output is not valid JSON")
	}
	return obj, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || raw[0] == 'n'
}

// parseStatus reads statusCode: a JSON integer (201 or 201.0) or, when
// allowString is set, a string holding one ("201"), which API Gateway
// accepts. The result must be 100-599.
func parseStatus(raw json.RawMessage, allowString bool) (int, string) {
	text := string(raw)
	switch {
	case len(raw) == 0 || raw[0] == 'n':
		return 0, "statusCode is null"
	case raw[0] == '"' && allowString:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, "statusCode is not a valid string"
		}
		text = strings.TrimSpace(s)
		if _, err := strconv.Atoi(text); err != nil {
			return 0, "statusCode " + quote(s) + " is not an integer"
		}
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
	default:
		return 0, "statusCode must be an integer"
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) {
		return 0, "statusCode " + short(text) + " is not an integer"
	}
	if f < 100 || f > 599 {
		return 0, "statusCode " + short(text) + " is outside 100-599"
	}
	return int(f), ""
}

// decodeBody reads body (a string; absent or null is empty) and
// isBase64Encoded (a bool; absent or null is false).
func decodeBody(obj map[string]json.RawMessage, format string) ([]byte, error) {
	isB64 := false
	if raw, ok := obj["isBase64Encoded"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &isB64); err != nil {
			return nil, malformed(format, "isBase64Encoded must be a boolean")
		}
	}
	raw, ok := obj["body"]
	if !ok || isNull(raw) {
		return nil, nil
	}
	if raw[0] != '"' {
		return nil, malformed(format, "body must be a string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, malformed(format, "body must be a string")
	}
	if !isB64 {
		return []byte(s), nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// Some encoders leave the padding off.
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
			return nil, malformed(format, "body is not valid base64")
		}
	}
	return b, nil
}

// headerBuilder validates and collects the function's headers.
type headerBuilder struct {
	h      http.Header
	format string
	// strict (ALB) accepts only strings as values; otherwise booleans and
	// numbers are written as their JSON text.
	strict bool
	// contentLength collects the function's Content-Length values.
	contentLength []string
}

// addSingle adds a headers object {"name": "value"}. Names in skip are
// ignored. A null value adds nothing.
func (hb *headerBuilder) addSingle(raw json.RawMessage, skip map[string]bool) error {
	if isNull(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return malformed(hb.format, "headers must be an object")
	}
	for _, name := range sortedKeys(m) {
		if skip[http.CanonicalHeaderKey(name)] {
			continue
		}
		v, ok, problem := hb.scalar(m[name])
		if problem != "" {
			return malformed(hb.format, "header "+quote(name)+" value "+problem)
		}
		if ok {
			if err := hb.add(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// addMulti adds a multiValueHeaders object {"name": ["v1", "v2"]}. Each
// canonical name is recorded in names when names is not nil.
func (hb *headerBuilder) addMulti(raw json.RawMessage, names map[string]bool) error {
	if isNull(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return malformed(hb.format, "multiValueHeaders must be an object")
	}
	for _, name := range sortedKeys(m) {
		rv := m[name]
		if isNull(rv) {
			continue // a null entry does not hide the same name in headers
		}
		if names != nil {
			names[http.CanonicalHeaderKey(name)] = true
		}
		var elems []json.RawMessage
		switch {
		case rv[0] == '[':
			if json.Unmarshal(rv, &elems) != nil {
				return malformed(hb.format, "header "+quote(name)+" values must be a list")
			}
		case hb.strict:
			return malformed(hb.format, "header "+quote(name)+" values must be a list of strings")
		default:
			// Gloo tolerates a bare scalar as a one-element list.
			elems = []json.RawMessage{rv}
		}
		for _, e := range elems {
			v, ok, problem := hb.scalar(e)
			if problem != "" {
				return malformed(hb.format, "header "+quote(name)+" value "+problem)
			}
			if ok {
				if err := hb.add(name, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// addCookies adds one Set-Cookie line per entry of a payload 2.0 cookies list.
func (hb *headerBuilder) addCookies(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var cookies []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &cookies) != nil {
		return malformed(hb.format, "cookies must be a list of strings")
	}
	for _, c := range cookies {
		var s string
		if len(c) == 0 || c[0] != '"' || json.Unmarshal(c, &s) != nil {
			return malformed(hb.format, "cookies must be a list of strings")
		}
		if err := hb.add("Set-Cookie", s); err != nil {
			return err
		}
	}
	return nil
}

// scalar converts one header value. ok is false for null (nothing is
// added). problem is set for objects, lists and, in strict mode, anything
// but a string.
func (hb *headerBuilder) scalar(raw json.RawMessage) (value string, ok bool, problem string) {
	if len(raw) == 0 {
		return "", false, ""
	}
	switch c := raw[0]; {
	case c == 'n':
		return "", false, ""
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false, "is not a valid string"
		}
		return s, true, ""
	case hb.strict:
		return "", false, "must be a string"
	case c == 't' || c == 'f' || c == '-' || c >= '0' && c <= '9':
		return string(raw), true, ""
	default:
		return "", false, "must be a string, number or boolean"
	}
}

// add validates a header and adds it unless it is hop-by-hop or
// Content-Length, which the server owns.
func (hb *headerBuilder) add(name, value string) error {
	if !httpguts.ValidHeaderFieldName(name) {
		return malformed(hb.format, "header name "+quote(name)+" is not a valid HTTP token")
	}
	value = strings.Trim(value, " \t")
	if !httpguts.ValidHeaderFieldValue(value) {
		var problem string
		switch {
		case strings.ContainsAny(value, "\r\n"):
			problem = "contains a line break"
		case strings.ContainsRune(value, 0):
			problem = "contains a NUL byte"
		default:
			problem = "contains a control character"
		}
		return malformed(hb.format, "header "+quote(name)+" value "+problem)
	}
	key := http.CanonicalHeaderKey(name)
	if key == "Content-Length" {
		hb.contentLength = append(hb.contentLength, value)
		return nil
	}
	if droppedResponseHeader(key) {
		return nil
	}
	hb.h[key] = append(hb.h[key], value)
	return nil
}

// droppedResponseHeader reports the headers a function may not set: the
// hop-by-hop ones (RFC 9110 7.6.1; ALB "does not honor hop-by-hop headers")
// and Content-Length, which the server computes from the body.
func droppedResponseHeader(canonical string) bool {
	switch canonical {
	case "Connection", "Keep-Alive", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Content-Length":
		return true
	}
	return strings.HasPrefix(canonical, "Proxy-")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
