package transform

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// glooEvent is the body Gloo's requestTransformation sends (envoy-gloo
// HeaderBodyTransform with add_request_metadata=true).
type glooEvent struct {
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

// GlooRequestTransform builds the payload of Gloo's requestTransformation:
// headers (last value, lowercased, with the HTTP/2 pseudo-headers Envoy has),
// multiValueHeaders and multiValueQueryStringParameters only for repeated
// names, the raw query string, percent-decoded queryStringParameters (last
// value wins, '+' stays '+'), httpMethod, path and body (omitted when empty).
func GlooRequestTransform(r *Request) ([]byte, error) {
	pathWithQuery := r.Path
	if r.RawQuery != "" {
		pathWithQuery += "?" + r.RawQuery
	}
	ev := glooEvent{
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

	for _, g := range lowerHeaderGroups(r.Header) {
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

	params := parseQuery(r.RawQuery, true)
	for _, p := range params {
		ev.QueryStringParameters[p.key] = p.value
	}
	for k, vs := range allValues(params) {
		if len(vs) > 1 {
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}

	if len(r.Body) > 0 {
		if utf8.Valid(r.Body) {
			ev.Body = string(r.Body)
		} else {
			ev.Body, ev.IsBase64Encoded = b64.EncodeToString(r.Body), true
		}
	}
	return marshal(&ev)
}

// headerGroup is one header name with all its values.
type headerGroup struct {
	name   string
	values []string
}

// lowerHeaderGroups returns the headers with lowercased names, sorted by
// name so that output is deterministic.
func lowerHeaderGroups(h http.Header) []headerGroup {
	return headerGroups(h, strings.ToLower)
}

// canonicalHeaderGroups is lowerHeaderGroups with canonical names ("Content-Type").
func canonicalHeaderGroups(h http.Header) []headerGroup {
	return headerGroups(h, http.CanonicalHeaderKey)
}

// headerGroups renames every key with rename and sorts by the new name. Keys
// that end up equal (http.Header can hold "x-a" and "X-A" when filled
// directly) are merged, in sorted order of the original keys.
func headerGroups(h http.Header, rename func(string) string) []headerGroup {
	groups := make([]headerGroup, 0, len(h))
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		groups = append(groups, headerGroup{k, vs})
	}
	slices.SortFunc(groups, func(a, b headerGroup) int { return strings.Compare(a.name, b.name) })
	for i := range groups {
		groups[i].name = rename(groups[i].name)
	}
	slices.SortStableFunc(groups, func(a, b headerGroup) int { return strings.Compare(a.name, b.name) })
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

// marshal encodes v without HTML escaping (the payload is not HTML) and
// without the trailing newline json.Encoder adds.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(1024)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
