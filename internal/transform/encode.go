package transform

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The event builders write JSON by hand, appending to one []byte, instead of
// filling structs and maps for encoding/json. Reflection, the intermediate
// maps and one string per value made encoding/json most of the cost of a
// passthrough request: on the 2-core bench machine
// BenchmarkAPIGatewayV1Event went from about 17 µs and 87 allocations per
// event to about 3.5 µs and 2, and the 1 MB body case from 420 to about
// 1100 MB/s. The output keeps the bytes the classic json.Encoder with
// SetEscapeHTML(false) wrote for the old structs: fields in struct order,
// map keys sorted bytewise, the same string escaping. The old builders are
// frozen in ref_events_test.go, and TestEventEncodingMatchesJSON and
// FuzzEventEncodingMatchesJSON require the two to decode to the same
// values; they do not compare bytes, because encoding/json's own spelling
// changes between toolchains (GOEXPERIMENT=jsonv2).

// jsonSafe reports the ASCII bytes encoding/json writes as they are when
// HTML escaping is off: everything from space to DEL except '"' and '\\'.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends src as a JSON string exactly as encoding/json does
// with SetEscapeHTML(false): short escapes for \b \f \n \r \t, \u00XX for
// other control bytes, \ufffd for each byte of invalid UTF-8, and \u2028 and
// \u2029 escaped.
func appendString[B []byte | string](dst []byte, src B) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, src)
	return append(dst, '"')
}

// appendEscaped is appendString without the quotes.
func appendEscaped[B []byte | string](dst []byte, src B) []byte {
	start := 0
	for i := 0; i < len(src); {
		b := src[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, src[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(src)-i, utf8.UTFMax)
		c, size := utf8.DecodeRuneInString(string(src[i : i+n]))
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, src[start:i]...)
			dst = append(dst, `\ufffd`...)
			start = i + 1
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			start = i + size
		}
		i += size
	}
	return append(dst, src[start:]...)
}

// appendKey appends `"key":` for a key that needs no escaping.
func appendKey(dst []byte, key string) []byte {
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

// appendStringField appends `"key":"value",`-style members: a comma first
// unless dst ends with '{'.
func appendStringField(dst []byte, key, value string) []byte {
	dst = appendComma(dst)
	dst = appendKey(dst, key)
	return appendString(dst, value)
}

func appendComma(dst []byte) []byte {
	if n := len(dst); n > 0 && dst[n-1] != '{' && dst[n-1] != '[' {
		dst = append(dst, ',')
	}
	return dst
}

func appendBoolField(dst []byte, key string, v bool) []byte {
	dst = appendComma(dst)
	dst = appendKey(dst, key)
	return strconv.AppendBool(dst, v)
}

func appendIntField(dst []byte, key string, v int64) []byte {
	dst = appendComma(dst)
	dst = appendKey(dst, key)
	return strconv.AppendInt(dst, v, 10)
}

// appendStringList appends a JSON array of strings.
func appendStringList(dst []byte, values []string) []byte {
	dst = append(dst, '[')
	for i, v := range values {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, v)
	}
	return append(dst, ']')
}

// appendJoined appends values joined with sep as one JSON string, without
// building the joined string. Escaping the parts one by one gives the same
// bytes as escaping the joined string because sep is plain ASCII, which ends
// any UTF-8 sequence.
func appendJoined(dst []byte, values []string, sep string) []byte {
	dst = append(dst, '"')
	for i, v := range values {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = appendEscaped(dst, v)
	}
	return append(dst, '"')
}

// appendBody appends the event body as a JSON string: as text when textual
// and valid UTF-8, otherwise base64-encoded. It reports whether it encoded.
func appendBody(dst []byte, body []byte, textual bool) ([]byte, bool) {
	if textual && utf8.Valid(body) {
		return appendString(dst, body), false
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, body)
	return append(dst, '"'), true
}

// appendStringMap appends a map[string]string as encoding/json writes it:
// keys sorted bytewise. It is used only for PathParameters, a small map.
func appendStringMap(dst []byte, m map[string]string) []byte {
	var buf [8]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendString(dst, m[k])
	}
	return append(dst, '}')
}

// hdr is one entry of an event's header object: a name and either all its
// values (values), or one value set by the gateway (value), or the
// X-Forwarded-For the gateway computes (xff, see forwardedFor).
type hdr struct {
	name   string
	values []string
	value  string
	xff    []string // the client's X-Forwarded-For values; value is then the client IP
	isXFF  bool
}

// hdrMode says how a header group is written in an object.
type hdrMode int

const (
	hdrLast   hdrMode = iota // the last value: "name":"v2"
	hdrJoined                // the values joined with ",": "name":"v1,v2"
	hdrAll                   // all values: "name":["v1","v2"]
)

// appendHeaderObject appends the headers as a JSON object.
func appendHeaderObject(dst []byte, hs []hdr, mode hdrMode) []byte {
	dst = append(dst, '{')
	for i := range hs {
		h := &hs[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, h.name)
		dst = append(dst, ':')
		if mode == hdrAll {
			if h.values != nil {
				dst = appendStringList(dst, h.values)
				continue
			}
			dst = append(dst, '[')
		}
		switch {
		case h.values == nil && h.isXFF:
			dst = appendForwardedFor(dst, h.xff, h.value)
		case h.values == nil:
			dst = appendString(dst, h.value)
		case mode == hdrJoined:
			dst = appendJoined(dst, h.values, ",")
		default:
			dst = appendString(dst, h.values[len(h.values)-1])
		}
		if mode == hdrAll {
			dst = append(dst, ']')
		}
	}
	return append(dst, '}')
}

// appendForwardedFor writes r.forwardedFor() without building it: the
// client's X-Forwarded-For values joined with ", ", then ", " and the client
// IP when there is one.
func appendForwardedFor(dst []byte, prev []string, ip string) []byte {
	if len(prev) == 0 {
		return appendString(dst, ip)
	}
	dst = appendJoined(dst, prev, ", ")
	if ip != "" {
		dst = dst[:len(dst)-1]
		dst = append(dst, ',', ' ')
		dst = appendEscaped(dst, ip)
		dst = append(dst, '"')
	}
	return dst
}

// sortHeaders sorts header entries, collected in the order the old
// builders assigned them to a map, by name and keeps only the last entry of
// each name: the contents of that map in encoding/json's key order.
func sortHeaders(es []hdr) []hdr {
	if !slices.IsSortedFunc(es, cmpHdr) {
		slices.SortStableFunc(es, cmpHdr)
	}
	out := es[:0]
	for _, e := range es {
		if n := len(out); n > 0 && out[n-1].name == e.name {
			out[n-1] = e
			continue
		}
		out = append(out, e)
	}
	return out
}

func cmpHdr(a, b hdr) int { return strings.Compare(a.name, b.name) }

// addForwarded appends Host and the X-Forwarded-* headers that ALB and API
// Gateway add, under the given names (their case differs per format).
// X-Forwarded-For appends the client address to what the client sent; Port
// and Proto describe our listener and replace the client's values.
func addForwarded(es []hdr, r *Request, host, xff, port, proto string) []hdr {
	if r.Host != "" {
		es = append(es, hdr{name: host, value: r.Host})
	}
	if prev, ip := r.Header.Values("X-Forwarded-For"), r.sourceIP(); ip != "" || joinedLen(prev, 2) > 0 {
		es = append(es, hdr{name: xff, xff: prev, value: ip, isXFF: true})
	}
	es = append(es, hdr{name: port, value: r.forwardedPort()})
	return append(es, hdr{name: proto, value: r.scheme()})
}

// joinedLen is len(strings.Join(values, sep)) for a separator of length sepLen.
func joinedLen(values []string, sepLen int) int {
	if len(values) == 0 {
		return 0
	}
	n := sepLen * (len(values) - 1)
	for _, v := range values {
		n += len(v)
	}
	return n
}

// eventSizeHint estimates the event size so that the output is allocated once.
func eventSizeHint(r *Request) int {
	n := 1536 + 3*len(r.Path) + 3*len(r.RawQuery) + 2*len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += 2 * (len(k) + len(v) + 8)
		}
	}
	for k, v := range r.PathParameters {
		n += len(k) + len(v) + 8
	}
	// Text bodies rarely need escapes; base64 needs 4/3.
	return n + base64.StdEncoding.EncodedLen(len(r.Body)) + 8
}
