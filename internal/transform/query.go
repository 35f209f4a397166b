package transform

import (
	"slices"
	"strings"
)

// queryParam is one key=value pair of a query string, in arrival order.
type queryParam struct{ key, value string }

// queryDecoding says how keys and values of a query are decoded.
type queryDecoding int

const (
	// queryRaw keeps keys and values as received (ALB: "the load balancer
	// does not decode them").
	queryRaw queryDecoding = iota
	// queryPercent decodes %XX and keeps '+' (Envoy's parseQueryString, the
	// Gloo payload).
	queryPercent
	// queryForm decodes '+' as a space, then %XX, as HTML forms encode a
	// query and as API Gateway decodes it ("%2B" stays a plus).
	queryForm
)

// parseQuery appends to dst the parameters of a raw query string, split on
// '&'. A parameter without '=' has the value "". Empty parameters
// ("a=1&&b=2") are skipped, as Envoy's parseQueryString does. Keys and
// values are decoded as dec says; percent-decoding is lenient (see
// percentDecode).
func parseQuery(dst []queryParam, raw string, dec queryDecoding) []queryParam {
	params := dst
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
			k, v = formDecode(k), formDecode(v)
		}
		params = append(params, queryParam{k, v})
	}
	return params
}

// formDecode is percentDecode after turning '+' into a space, so that an
// encoded plus ("%2B") survives as '+'.
func formDecode(s string) string {
	if strings.IndexByte(s, '+') >= 0 {
		s = strings.ReplaceAll(s, "+", " ")
	}
	return percentDecode(s)
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

// paramBuf is stack space for the parameters of a typical query.
type paramBuf struct{ buf [16]queryParam }

// sortedQuery parses raw and sorts the parameters stably by key: each key's
// values stay in arrival order, and the keys come in encoding/json's map
// order.
func sortedQuery(b *paramBuf, raw string, dec queryDecoding) []queryParam {
	params := parseQuery(b.buf[:0], raw, dec)
	if !slices.IsSortedFunc(params, cmpParam) {
		slices.SortStableFunc(params, cmpParam)
	}
	return params
}

func cmpParam(a, b queryParam) int { return strings.Compare(a.key, b.key) }

// appendQueryObject writes sorted parameters as the JSON object the old
// maps gave: per key the last value (hdrLast, last one wins), the values
// joined with "," (hdrJoined, payload 2.0) or all values (hdrAll). Keys with
// fewer than minCount values are left out (Gloo's multiValue* maps hold
// only repeated keys).
func appendQueryObject(dst []byte, params []queryParam, mode hdrMode, minCount int) []byte {
	dst = append(dst, '{')
	n := 0
	for i := 0; i < len(params); {
		j := i + 1
		for j < len(params) && params[j].key == params[i].key {
			j++
		}
		run := params[i:j]
		i = j
		if len(run) < minCount {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = appendString(dst, run[0].key)
		dst = append(dst, ':')
		switch mode {
		case hdrLast:
			dst = appendString(dst, run[len(run)-1].value)
		case hdrJoined:
			dst = append(dst, '"')
			for k, p := range run {
				if k > 0 {
					dst = append(dst, ',')
				}
				dst = appendEscaped(dst, p.value)
			}
			dst = append(dst, '"')
		default:
			dst = append(dst, '[')
			for k, p := range run {
				if k > 0 {
					dst = append(dst, ',')
				}
				dst = appendString(dst, p.value)
			}
			dst = append(dst, ']')
		}
	}
	return append(dst, '}')
}
