package transform

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// GlooRequestTransform builds the payload of Gloo's requestTransformation
// (envoy-gloo HeaderBodyTransform with add_request_metadata=true): headers
// (last value, lowercased, with the HTTP/2 pseudo-headers Envoy has),
// multiValueHeaders and multiValueQueryStringParameters only for repeated
// names, the raw query string, percent-decoded queryStringParameters (last
// value wins, '+' stays '+'), httpMethod, path and body (omitted when
// empty). A body that is not valid UTF-8 is base64-encoded and
// isBase64Encoded (our addition: Gloo would emit invalid JSON there) is true.
func GlooRequestTransform(r *Request) ([]byte, error) {
	return AppendGlooRequestTransform(make([]byte, 0, eventSizeHint(r)), r)
}

// AppendGlooRequestTransform is GlooRequestTransform appending to dst.
func AppendGlooRequestTransform(dst []byte, r *Request) ([]byte, error) {
	pathWithQuery := r.Path
	if r.RawQuery != "" {
		pathWithQuery += "?" + r.RawQuery
	}
	var groups groupBuf
	// A constant-size make that does not escape lives on the stack.
	hs := make([]hdr, 0, 24)
	hs = append(hs, hdr{name: ":authority", value: r.Host})
	hs = append(hs, hdr{name: ":method", value: r.Method})
	hs = append(hs, hdr{name: ":path", value: pathWithQuery})
	hs = append(hs, hdr{name: ":scheme", value: r.scheme()})
	gs := lowerHeaderGroups(&groups, r.Header)
	multi := 0
	for _, g := range gs {
		switch g.name {
		case "host", "x-forwarded-proto", "x-request-id":
			// Host is :authority; the other two are set by Envoy below.
			continue
		}
		hs = append(hs, hdr{name: g.name, values: g.values})
		if len(g.values) > 1 {
			multi++
		}
	}
	// Envoy at the edge sets x-forwarded-proto to the downstream scheme and,
	// with generate_request_id (Gloo's default), x-request-id.
	hs = append(hs, hdr{name: "x-forwarded-proto", value: r.scheme()})
	if r.RequestID != "" {
		hs = append(hs, hdr{name: "x-request-id", value: r.RequestID})
	}
	headers := sortHeaders(hs)

	dst = append(dst, '{')
	if len(r.Body) > 0 {
		dst = append(dst, `"body":`...)
		var isB64 bool
		if dst, isB64 = appendBody(dst, r.Body, true); isB64 {
			dst = append(dst, `,"isBase64Encoded":true`...)
		}
	}
	dst = appendComma(dst)
	dst = append(dst, `"headers":`...)
	dst = appendHeaderObject(dst, headers, hdrLast)
	dst = appendStringField(dst, "httpMethod", r.Method)
	dst = append(dst, `,"multiValueHeaders":{`...)
	if multi > 0 {
		n := 0
		for _, g := range gs {
			switch g.name {
			case "host", "x-forwarded-proto", "x-request-id":
				continue
			}
			if len(g.values) > 1 {
				if n > 0 {
					dst = append(dst, ',')
				}
				dst = appendString(dst, g.name)
				dst = append(dst, ':')
				dst = appendStringList(dst, g.values)
				n++
			}
		}
	}
	dst = append(dst, '}')
	var pbuf paramBuf
	params := sortedQuery(&pbuf, r.RawQuery, queryPercent)
	dst = append(dst, `,"multiValueQueryStringParameters":`...)
	dst = appendQueryObject(dst, params, hdrAll, 2)
	dst = appendStringField(dst, "path", r.Path)
	dst = appendStringField(dst, "queryString", r.RawQuery)
	dst = append(dst, `,"queryStringParameters":`...)
	dst = appendQueryObject(dst, params, hdrLast, 0)
	return append(dst, '}'), nil
}

// headerGroup is one header name with all its values.
type headerGroup struct {
	name   string
	values []string
}

// groupBuf is stack space for the header groups of a typical request.
type groupBuf struct{ buf [24]headerGroup }

// lowerHeaderGroups returns the headers with lowercased names, sorted by
// name so that output is deterministic.
func lowerHeaderGroups(b *groupBuf, h http.Header) []headerGroup {
	return headerGroups(b, h, true)
}

// canonicalHeaderGroups is lowerHeaderGroups with canonical names ("Content-Type").
func canonicalHeaderGroups(b *groupBuf, h http.Header) []headerGroup {
	return headerGroups(b, h, false)
}

// headerGroups renames every key (strings.ToLower or
// http.CanonicalHeaderKey) and sorts by the new name. Keys that end up equal
// (http.Header can hold "x-a" and "X-A" when filled directly) are merged, in
// sorted order of the original keys.
func headerGroups(b *groupBuf, h http.Header, lower bool) []headerGroup {
	groups := b.buf[:0]
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		groups = append(groups, headerGroup{k, vs})
	}
	slices.SortFunc(groups, cmpGroup)
	if lower {
		lowerNames(groups)
	} else {
		for i := range groups {
			groups[i].name = http.CanonicalHeaderKey(groups[i].name)
		}
	}
	if !slices.IsSortedFunc(groups, cmpGroup) {
		slices.SortStableFunc(groups, cmpGroup)
	}
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

func cmpGroup(a, b headerGroup) int { return strings.Compare(a.name, b.name) }

// lowerNames applies strings.ToLower to every name, with one allocation for
// all the ASCII names that have capitals instead of one each.
func lowerNames(groups []headerGroup) {
	n := 0
	for i := range groups {
		switch ascii, upper := asciiUpper(groups[i].name); {
		case !ascii:
			groups[i].name = strings.ToLower(groups[i].name)
		case upper:
			n += len(groups[i].name)
		}
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for i := range groups {
		if _, upper := asciiUpper(groups[i].name); upper {
			for j := 0; j < len(groups[i].name); j++ {
				c := groups[i].name[j]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b.WriteByte(c)
			}
		}
	}
	all := b.String() // no copy: one allocation for every name
	off := 0
	for i := range groups {
		if _, upper := asciiUpper(groups[i].name); upper {
			groups[i].name = all[off : off+len(groups[i].name)]
			off += len(groups[i].name)
		}
	}
}

// asciiUpper reports whether s is ASCII and whether it has capitals.
func asciiUpper(s string) (ascii, upper bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false, upper
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	return true, upper
}
