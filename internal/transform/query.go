package transform

import (
	"encoding/base64"
	"strings"
)

var b64 = base64.StdEncoding

// queryParam is one key=value pair of a query string, in arrival order.
type queryParam struct{ key, value string }

// parseQuery splits a raw query string on '&'. A parameter without '='
// has the value "". Empty parameters ("a=1&&b=2") are skipped, as Envoy's
// parseQueryString does. When decode is set, keys and values are
// percent-decoded leniently (see percentDecode); '+' is never turned into a
// space, matching Envoy and API Gateway.
func parseQuery(raw string, decode bool) []queryParam {
	if raw == "" {
		return nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if decode {
			k, v = percentDecode(k), percentDecode(v)
		}
		params = append(params, queryParam{k, v})
	}
	return params
}

// percentDecode decodes %XX sequences and leaves malformed ones (such as
// "%zz" or a trailing "%") as they are, like Envoy's PercentEncoding::decode.
// The result may be invalid UTF-8; encoding/json then writes U+FFFD for the
// bad bytes, so the event is still valid JSON.
func percentDecode(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// lastValues maps each key to its last value; nil when there are no params.
func lastValues(params []queryParam) map[string]string {
	if len(params) == 0 {
		return nil
	}
	m := make(map[string]string, len(params))
	for _, p := range params {
		m[p.key] = p.value
	}
	return m
}

// allValues maps each key to all its values in order; nil when there are no params.
func allValues(params []queryParam) map[string][]string {
	if len(params) == 0 {
		return nil
	}
	m := make(map[string][]string, len(params))
	for _, p := range params {
		m[p.key] = append(m[p.key], p.value)
	}
	return m
}

// joinedValues maps each key to its values joined with ",", as HTTP API
// payload 2.0 does; nil when there are no params. Joining once per key keeps
// this linear however often a key repeats.
func joinedValues(params []queryParam) map[string]string {
	all := allValues(params)
	if all == nil {
		return nil
	}
	m := make(map[string]string, len(all))
	for k, vs := range all {
		m[k] = strings.Join(vs, ",")
	}
	return m
}
