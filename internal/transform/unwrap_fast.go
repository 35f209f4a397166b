package transform

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/net/http/httpguts"
)

// The unwrappers first try fastUnwrap, which reads the function's output
// with jsonScanner in one pass and builds the response with a handful of
// allocations. It handles the outputs functions actually return and gives
// up (returns nil) on anything unusual: a problem to report, an escaped
// key, a header name that is not a plain token, very deep nesting. The
// encoding/json code (slowUnwrap*) then decides, so every error and every
// odd case behaves exactly as before. The fast path took
// BenchmarkUnwrapAPIGatewayV1 from about 12 µs and 83 allocations to about
// 1.4 µs and 7, and a 1 MB text body from about 11 ms to 0.4 ms. The
// encoding/json unwrappers (slowUnwrap* in unwrap.go) are the reference:
// TestUnwrapMatchesJSON and FuzzUnwrapMatchesJSON check that the public
// functions give their result, error text included, on arbitrary bytes.

// outputFields are the raw values of the top-level keys the unwrappers
// read; nil when absent. Duplicate keys: the last one wins, as with
// encoding/json's map.
type outputFields struct {
	statusCode, headers, multiValueHeaders, cookies, body, isBase64Encoded []byte
	bodyFlags                                                              int
}

func (f *outputFields) member(key []byte, keyFlags int, value []byte, valueFlags int) bool {
	if keyFlags&strEscaped != 0 {
		return false // an escaped key may spell one of ours
	}
	switch string(key[1 : len(key)-1]) {
	case "statusCode":
		f.statusCode = value
	case "headers":
		f.headers = value
	case "multiValueHeaders":
		f.multiValueHeaders = value
	case "cookies":
		f.cookies = value
	case "body":
		f.body, f.bodyFlags = value, valueFlags
	case "isBase64Encoded":
		f.isBase64Encoded = value
	}
	return true
}

// fastUnwrap returns the response for payload in the given format, or nil
// when the fallback must decide. multiValue is UnwrapALB's.
func fastUnwrap(payload []byte, format string, multiValue bool) *Response {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 {
		return nil
	}
	var f outputFields
	s := jsonScanner{data: trimmed}
	switch {
	case trimmed[0] == '{':
		if !s.object(f.member) {
			return nil
		}
	case format == FormatAPIGatewayV2:
		if !s.value() {
			return nil
		}
	default:
		return nil
	}
	if s.skipSpace(); s.pos != len(trimmed) {
		return nil
	}

	v2 := format == FormatAPIGatewayV2
	if v2 && f.statusCode == nil {
		// Payload 2.0 without statusCode: the output is the body.
		var body []byte
		if trimmed[0] == '"' {
			body = unquoteBytes(trimmed, s.vflags)
		} else {
			body = slices.Clone(trimmed)
		}
		return &Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       body,
		}
	}

	status := http.StatusOK
	if f.statusCode != nil || format == FormatALB {
		if f.statusCode == nil || f.statusCode[0] == 'n' {
			return nil
		}
		var ok bool
		if status, ok = fastStatus(f.statusCode, format != FormatALB); !ok {
			return nil
		}
	}

	// Decoded names and values are no longer than their JSON, canonical
	// names no longer than the names: twice the raw size is enough.
	var recs [16]hrec
	hb := fastHeaders{
		strict: format == FormatALB,
		arena:  make([]byte, 0, 2*(len(f.headers)+len(f.multiValueHeaders)+len(f.cookies))),
		recs:   recs[:0],
	}
	var ok bool
	switch {
	case format == FormatALB && multiValue:
		ok = hb.collectMulti(f.multiValueHeaders)
	case format == FormatALB || v2:
		ok = hb.collectSingle(f.headers)
	default:
		// multiValueHeaders first: it wins for a name in both.
		ok = hb.collectMulti(f.multiValueHeaders) && hb.collectSingle(f.headers)
	}
	if ok && v2 {
		ok = hb.collectCookies(f.cookies)
	}
	if !ok {
		return nil
	}
	header, ok := hb.build()
	if !ok {
		return nil
	}
	body, ok := fastBody(f.body, f.bodyFlags, f.isBase64Encoded)
	if !ok {
		return nil
	}
	return &Response{StatusCode: status, Header: header, Body: body, ContentLength: hb.contentLength}
}

// fastStatus reads statusCode as parseStatus does; false means the
// fallback reports the problem.
func fastStatus(raw []byte, allowString bool) (int, bool) {
	if len(raw) == 3 && isDigit(raw[0]) && isDigit(raw[1]) && isDigit(raw[2]) {
		v := int(raw[0]-'0')*100 + int(raw[1]-'0')*10 + int(raw[2]-'0')
		return v, 100 <= v && v <= 599
	}
	status, problem := parseStatus(raw, allowString)
	return status, problem == ""
}

// fastBody reads body and isBase64Encoded as decodeBody does, allocating
// the result once.
func fastBody(raw []byte, flags int, isB64Raw []byte) ([]byte, bool) {
	isB64 := false
	switch {
	case isB64Raw == nil || isB64Raw[0] == 'n':
	case isB64Raw[0] == 't':
		isB64 = true
	case isB64Raw[0] != 'f':
		return nil, false
	}
	if raw == nil || raw[0] == 'n' {
		return nil, true
	}
	if raw[0] != '"' {
		return nil, false
	}
	if !isB64 {
		return unquoteBytes(raw, flags), true
	}
	src := raw[1 : len(raw)-1]
	if flags != 0 {
		// Rare: an escaped '/' or newline. Decode the string first.
		src = appendUnquoted(nil, raw)
	}
	// RawStdEncoding needs at least as much room as StdEncoding, so one
	// buffer serves both attempts.
	buf := make([]byte, base64.RawStdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(buf, src)
	if err != nil {
		// Some encoders leave the padding off.
		if n, err = base64.RawStdEncoding.Decode(buf, bytes.TrimRight(src, "=")); err != nil {
			return nil, false
		}
	}
	return buf[:n], true
}

// span is a [start, end) range of fastHeaders.arena.
type span struct{ start, end int }

// hrec is one header value to add, or (noValue) only a multiValueHeaders
// name that hides the same name in headers.
type hrec struct {
	name, canon, value span
	multi              bool // from multiValueHeaders
	noValue            bool
	bad                bool // a value headerBuilder.scalar rejects: an error unless hidden
}

// fastHeaders collects the function's headers into one arena so that all
// names and values share one allocation.
type fastHeaders struct {
	strict bool // ALB: only strings
	arena  []byte
	recs   []hrec
	nvals  int
	// contentLength collects the function's Content-Length values.
	contentLength []string
}

type member struct {
	name, value []byte
	flags       int // the value's string flags
}

// members returns an object's members sorted by name with only the last of
// a repeated name, as ranging over sortedKeys of encoding/json's map does.
// Names must be plain tokens: others go to the fallback.
func members(raw []byte, buf []member) ([]member, bool) {
	ms := buf[:0]
	s := jsonScanner{data: raw}
	ok := s.object(func(key []byte, keyFlags int, value []byte, valueFlags int) bool {
		if keyFlags != 0 {
			return false
		}
		ms = append(ms, member{key[1 : len(key)-1], value, valueFlags})
		return true
	})
	if !ok {
		return nil, false
	}
	cmp := func(a, b member) int { return bytes.Compare(a.name, b.name) }
	if !slices.IsSortedFunc(ms, cmp) {
		slices.SortStableFunc(ms, cmp)
	}
	out := ms[:0]
	for _, m := range ms {
		if n := len(out); n > 0 && bytes.Equal(out[n-1].name, m.name) {
			out[n-1] = m
			continue
		}
		out = append(out, m)
	}
	return out, true
}

// tokenByte is RFC 9110's tchar, the bytes httpguts.ValidHeaderFieldName
// and textproto's canonicalization accept.
var tokenByte = func() (t [256]bool) {
	for _, c := range []byte("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		t[c] = true
	}
	return t
}()

// putName stores a header name and its canonical form
// (http.CanonicalHeaderKey, which for a token only changes case).
func (hb *fastHeaders) putName(name []byte) (n, canon span, ok bool) {
	if len(name) == 0 {
		return n, canon, false
	}
	for _, c := range name {
		if !tokenByte[c] {
			return n, canon, false
		}
	}
	n.start = len(hb.arena)
	hb.arena = append(hb.arena, name...)
	n.end = len(hb.arena)
	upper := true
	same := true
	for _, c := range name {
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			same = false
			break
		}
		upper = c == '-'
	}
	if same {
		return n, n, true
	}
	canon.start = len(hb.arena)
	upper = true
	for _, c := range name {
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		hb.arena = append(hb.arena, c)
		upper = c == '-'
	}
	canon.end = len(hb.arena)
	return n, canon, true
}

// putScalar stores a header value as headerBuilder.scalar converts it.
// ok is false for null (nothing to add); bad for a value scalar rejects.
func (hb *fastHeaders) putScalar(raw []byte, flags int) (v span, ok, bad bool) {
	v.start = len(hb.arena)
	switch c := raw[0]; {
	case c == 'n':
		return v, false, false
	case c == '"':
		if flags == 0 {
			hb.arena = append(hb.arena, raw[1:len(raw)-1]...)
		} else {
			hb.arena = appendUnquoted(hb.arena, raw)
		}
	case hb.strict:
		return v, false, true
	case c == 't' || c == 'f' || c == '-' || isDigit(c):
		hb.arena = append(hb.arena, raw...)
	default:
		return v, false, true
	}
	v.end = len(hb.arena)
	return v, true, false
}

// collectSingle reads a headers object {"name": "value"}.
func (hb *fastHeaders) collectSingle(raw []byte) bool {
	if raw == nil || raw[0] == 'n' {
		return true
	}
	if raw[0] != '{' {
		return false
	}
	var buf [16]member
	ms, ok := members(raw, buf[:])
	if !ok {
		return false
	}
	for _, m := range ms {
		name, canon, ok := hb.putName(m.name)
		if !ok {
			return false
		}
		v, ok, bad := hb.putScalar(m.value, m.flags)
		if !ok && !bad {
			continue
		}
		hb.recs = append(hb.recs, hrec{name: name, canon: canon, value: v, bad: bad})
		hb.nvals++
	}
	return true
}

// collectMulti reads a multiValueHeaders object {"name": ["v1", "v2"]}.
func (hb *fastHeaders) collectMulti(raw []byte) bool {
	if raw == nil || raw[0] == 'n' {
		return true
	}
	if raw[0] != '{' {
		return false
	}
	var buf [16]member
	ms, ok := members(raw, buf[:])
	if !ok {
		return false
	}
	for _, m := range ms {
		if m.value[0] == 'n' {
			continue // a null entry does not hide the same name in headers
		}
		name, canon, ok := hb.putName(m.name)
		if !ok {
			return false
		}
		hb.recs = append(hb.recs, hrec{name: name, canon: canon, multi: true, noValue: true})
		add := func(raw []byte, flags int) bool {
			v, ok, bad := hb.putScalar(raw, flags)
			if bad {
				return false
			}
			if ok {
				hb.recs = append(hb.recs, hrec{name: name, canon: canon, value: v, multi: true})
				hb.nvals++
			}
			return true
		}
		switch {
		case m.value[0] == '[':
			s := jsonScanner{data: m.value}
			if !s.array(add) {
				return false
			}
		case hb.strict:
			return false
		default:
			// Gloo tolerates a bare scalar as a one-element list.
			if !add(m.value, m.flags) {
				return false
			}
		}
	}
	return true
}

// collectCookies reads payload 2.0's cookies list: one Set-Cookie each.
func (hb *fastHeaders) collectCookies(raw []byte) bool {
	if raw == nil || raw[0] == 'n' {
		return true
	}
	if raw[0] != '[' {
		return false
	}
	name, canon, _ := hb.putName([]byte("Set-Cookie"))
	s := jsonScanner{data: raw}
	return s.array(func(raw []byte, flags int) bool {
		if raw[0] != '"' {
			return false
		}
		v, _, _ := hb.putScalar(raw, flags)
		hb.recs = append(hb.recs, hrec{name: name, canon: canon, value: v})
		hb.nvals++
		return true
	})
}

// build validates the collected headers as headerBuilder.add does and
// returns the header map.
func (hb *fastHeaders) build() (http.Header, bool) {
	// One string holds every name and value. The arena is never written
	// again, so viewing it as a string is safe (strings.Builder does the
	// same).
	all := unsafe.String(unsafe.SliceData(hb.arena), len(hb.arena))
	at := func(s span) string { return all[s.start:s.end] }

	// Names of multiValueHeaders that hide the same name in headers.
	var hidden []string
	for _, r := range hb.recs {
		if r.multi && r.noValue {
			if len(hidden) == 32 {
				return nil, false // keep the lookup below cheap
			}
			hidden = append(hidden, at(r.canon))
		}
	}

	h := make(http.Header, len(hb.recs)-len(hidden))
	// All values share one backing array; each key's slice is capped so
	// that a caller's append copies instead of overwriting a neighbour.
	vals := make([]string, 0, hb.nvals)
	lastKey, lastStart := "", 0
	for _, r := range hb.recs {
		if r.noValue {
			continue
		}
		key := at(r.canon)
		if !r.multi && slices.Contains(hidden, key) {
			continue
		}
		if r.bad {
			return nil, false
		}
		if !httpguts.ValidHeaderFieldName(at(r.name)) {
			return nil, false
		}
		value := strings.Trim(at(r.value), " \t")
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, false
		}
		if key == "Content-Length" {
			hb.contentLength = append(hb.contentLength, value)
			continue
		}
		if droppedResponseHeader(key) {
			continue
		}
		switch cur, ok := h[key]; {
		case ok && key == lastKey:
			vals = append(vals, value)
			h[key] = vals[lastStart:len(vals):len(vals)]
		case ok:
			h[key] = append(cur, value)
		default:
			lastKey, lastStart = key, len(vals)
			vals = append(vals, value)
			h[key] = vals[lastStart:len(vals):len(vals)]
		}
	}
	return h, true
}
