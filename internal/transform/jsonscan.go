package transform

import (
	"encoding/binary"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonScanner validates JSON for the unwrappers' fast path. It accepts a
// subset of what json.Valid accepts: the RFC 8259 grammar encoding/json
// implements (bytes >= 0x80 in strings are accepted whatever their UTF-8
// validity, as encoding/json does), but nesting only to maxScanDepth.
// Anything it rejects goes to the encoding/json fallback, which decides
// between a response and an error, so rejecting too much costs only speed
// while accepting too much would be a bug; FuzzUnwrap*MatchesJSON checks it.
type jsonScanner struct {
	data   []byte
	pos    int
	depth  int
	vflags int // string flags of the last value scanned, 0 unless a string
}

// maxScanDepth bounds recursion; deeper documents take the fallback, which
// has encoding/json's own limit (10000).
const maxScanDepth = 64

// String flags reported by str.
const (
	strEscaped = 1 << iota // has a backslash escape
	strHigh                // has a byte >= 0x80
)

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) && isJSONSpace(s.data[s.pos]) {
		s.pos++
	}
}

// value scans one value at s.pos and moves past it.
func (s *jsonScanner) value() bool {
	if s.pos >= len(s.data) {
		return false
	}
	s.vflags = 0
	switch c := s.data[s.pos]; {
	case c == '"':
		flags, ok := s.str()
		s.vflags = flags
		return ok
	case c == '{':
		ok := s.object(nil)
		s.vflags = 0 // not a nested string's
		return ok
	case c == '[':
		ok := s.array(nil)
		s.vflags = 0
		return ok
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return false
}

func (s *jsonScanner) literal(lit string) bool {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *jsonScanner) number() bool {
	d, i := s.data, s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	s.pos = i
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// strPlain marks the string bytes that need no attention: printable ASCII
// other than '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans the string at s.pos (its opening quote) and moves past it.
func (s *jsonScanner) str() (flags int, ok bool) {
	d := s.data
	i := s.pos + 1
	for i < len(d) {
		// Long bodies are plain ASCII: skip eight bytes at a time while
		// none is a quote, a backslash, a control byte or >= 0x80.
		for i+8 <= len(d) {
			x := binary.LittleEndian.Uint64(d[i:])
			const lo, hi = 0x0101010101010101, 0x8080808080808080
			bad := x | (x - lo*0x20) | hasZero(x^(lo*'"')) | hasZero(x^(lo*'\\'))
			if bad&hi != 0 {
				break
			}
			i += 8
		}
		if i >= len(d) {
			break
		}
		c := d[i]
		if strPlain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			s.pos = i + 1
			return flags, true
		case c == '\\':
			flags |= strEscaped
			if i+1 >= len(d) {
				return 0, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if getu4(d[i:]) < 0 {
					return 0, false
				}
				i += 6
			default:
				return 0, false
			}
		case c < 0x20:
			return 0, false
		default:
			flags |= strHigh
			i++
		}
	}
	return 0, false
}

// hasZero has the high bit set in each byte of x that is zero (and
// possibly in higher bytes after one that is): enough to decide whether
// to leave the fast loop.
func hasZero(x uint64) uint64 {
	const lo = 0x0101010101010101
	return (x - lo) &^ x
}

// object scans the object at s.pos. member, when not nil, is called for
// each member with the raw key (quotes included), the key's string flags,
// the raw value and its string flags; returning false stops the scan as a
// failure.
func (s *jsonScanner) object(member func(key []byte, keyFlags int, value []byte, valueFlags int) bool) bool {
	empty, ok := s.open('}')
	if !ok || empty {
		return ok
	}
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return false
		}
		kstart := s.pos
		kflags, ok := s.str()
		if !ok {
			return false
		}
		key := s.data[kstart:s.pos]
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return false
		}
		s.pos++
		s.skipSpace()
		vstart := s.pos
		if !s.value() {
			return false
		}
		if member != nil && !member(key, kflags, s.data[vstart:s.pos], s.vflags) {
			return false
		}
		if more, ok := s.next('}'); !more {
			return ok
		}
	}
}

// array scans the array at s.pos, calling elem (when not nil) with each
// raw element and its string flags.
func (s *jsonScanner) array(elem func(value []byte, flags int) bool) bool {
	empty, ok := s.open(']')
	if !ok || empty {
		return ok
	}
	for {
		vstart := s.pos
		if !s.value() {
			return false
		}
		if elem != nil && !elem(s.data[vstart:s.pos], s.vflags) {
			return false
		}
		if more, ok := s.next(']'); !more {
			return ok
		}
	}
}

// open enters the object or array at s.pos, whose closing byte is closer:
// empty reports "{}" or "[]" (already consumed); ok is false past the
// nesting limit.
func (s *jsonScanner) open(closer byte) (empty, ok bool) {
	if s.depth++; s.depth > maxScanDepth {
		return false, false
	}
	s.pos++ // '{' or '['
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == closer {
		s.pos++
		s.depth--
		return true, true
	}
	return false, true
}

// next reads what follows a member or element: a comma (more is true) or
// closer (the container ends well: ok is true); anything else fails.
func (s *jsonScanner) next(closer byte) (more, ok bool) {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return false, false
	}
	switch s.data[s.pos] {
	case ',':
		s.pos++
		s.skipSpace()
		return true, true
	case closer:
		s.pos++
		s.depth--
		return false, true
	}
	return false, false
}

// getu4 decodes \uXXXX at the start of s, or returns -1 (encoding/json's
// getu4).
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// appendUnquoted appends the contents of raw, a JSON string that str
// accepted (quotes included), decoded as encoding/json decodes strings:
// each byte of invalid UTF-8 becomes U+FFFD, and so does a \u escape of a
// surrogate that is not followed by its valid pair.
func appendUnquoted(dst []byte, raw []byte) []byte {
	s := raw[1 : len(raw)-1]
	for r := 0; r < len(s); {
		// Copy the run of bytes that need no decoding at once.
		start := r
		for r < len(s) && s[r] != '\\' && s[r] < utf8.RuneSelf {
			r++
		}
		dst = append(dst, s[start:r]...)
		if r >= len(s) {
			break
		}
		if c := s[r]; c >= utf8.RuneSelf {
			rr, size := utf8.DecodeRune(s[r:])
			if rr == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, unicode.ReplacementChar)
			} else {
				dst = append(dst, s[r:r+size]...)
			}
			r += size
			continue
		}
		// A backslash: str checked that a valid escape follows.
		switch c := s[r+1]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			rr := getu4(s[r:])
			r += 6
			if utf16.IsSurrogate(rr) {
				if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != unicode.ReplacementChar {
					dst = utf8.AppendRune(dst, dec)
					r += 6
					continue
				}
				rr = unicode.ReplacementChar
			}
			dst = utf8.AppendRune(dst, rr)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
		r += 2
	}
	return dst
}

// unquoteBytes decodes the JSON string raw (quotes included, accepted by
// str with the given flags) into a new slice of exactly the right size in
// the common case.
func unquoteBytes(raw []byte, flags int) []byte {
	inner := raw[1 : len(raw)-1]
	if flags&strEscaped == 0 && (flags&strHigh == 0 || utf8.Valid(inner)) {
		b := make([]byte, len(inner))
		copy(b, inner)
		return b
	}
	return appendUnquoted(make([]byte, 0, len(inner)), raw)
}
