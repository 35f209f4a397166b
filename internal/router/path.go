package router

import "strings"

// NormalizePath prepares a raw (still percent-encoded) request path for
// matching: percent-encoded unreserved characters (A-Z a-z 0-9 - . _ ~)
// are decoded, every other escape is kept with upper-case hex, a "%" that
// starts no valid escape becomes "%25", and dot
// segments are removed (RFC 3986 §5.2.4). An encoded slash (%2F) therefore
// never matches "/", and "/a/../admin" matches as "/admin", as Envoy does
// with normalize_path. The result always starts with "/".
func NormalizePath(raw string) string {
	if raw == "" {
		return "/"
	}
	if raw[0] == '/' && !strings.ContainsAny(raw, "%.") {
		return raw // fast path: nothing to normalize
	}
	var b strings.Builder
	b.Grow(len(raw) + 1)
	if raw[0] != '/' {
		b.WriteByte('/')
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' && i+2 < len(raw) && ishex(raw[i+1]) && ishex(raw[i+2]) {
			d := unhex(raw[i+1])<<4 | unhex(raw[i+2])
			if unreserved(d) {
				b.WriteByte(d)
			} else {
				b.WriteByte('%')
				b.WriteByte(upper(raw[i+1]))
				b.WriteByte(upper(raw[i+2]))
			}
			i += 2
			continue
		}
		if c == '%' {
			// A '%' that starts no valid escape is written as %25, so that
			// it can never pair with a decoded character into a new escape
			// (normalizing twice gives the same path).
			b.WriteString("%25")
			continue
		}
		b.WriteByte(c)
	}
	return removeDotSegments(b.String())
}

func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func ishex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 32
	}
	return c
}
