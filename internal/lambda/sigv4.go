package lambda

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sigv4 signs Invoke requests with AWS Signature Version 4, producing the
// same headers byte for byte as the SDK's v4.Signer.SignHTTP (the tests
// compare the two on every request shape the invoker sends, and the
// data-plane tests verify with the SDK). It exists because the SDK's signer
// costs 59 allocations and about 13 µs per request (BenchmarkSign), the
// largest single share of the gateway's own per-request CPU; this one
// reuses its buffers and its keyed HMAC.
type sigv4 struct {
	// keys holds one derived key per (access key id, secret, region): a
	// rotated secret that keeps its key id gets a new entry. Entries unused
	// since yesterday are dropped (sweep).
	keys sync.Map // keyID -> *atomic.Pointer[derivedKey]
	// lastDate caches the X-Amz-Date of the current second.
	lastDate atomic.Pointer[amzDate]
}

type keyID struct{ id, secret, region string }

// derivedKey is the signing key of one day.
type derivedKey struct {
	day  string // 20060102, UTC
	key  []byte
	macs sync.Pool // of hash.Hash: HMAC-SHA256 keyed with key
}

var signBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// sign adds X-Amz-Date, X-Amz-Security-Token (with a session token) and
// Authorization to req, whose URL and Host the target prepared. The
// net/http client path and the tests use it; the invoker's own client
// calls appendAuthorization directly.
func (s *sigv4) sign(req *http.Request, t *Target, id, secret, token, payloadHash string, now time.Time) {
	amzDate := s.date(now)
	h := req.Header
	h["X-Amz-Date"] = []string{amzDate}
	if token != "" {
		h["X-Amz-Security-Token"] = []string{token}
	}
	var names [16]hdr
	hs := names[:0]
	for k, v := range h {
		if ignoredHeader(k) {
			continue
		}
		hs = append(hs, hdr{name: k, vals: v})
	}
	auth := s.appendAuthorization(nil, req.Method, t, req.Host, req.ContentLength, hs, id, secret, amzDate, []byte(payloadHash))
	h["Authorization"] = []string{string(auth)}
}

// ignoredHeader reports the headers the SDK's signer leaves out
// (IgnoredHeaders, matched as written, and Content-Length, which is
// signed from the request's length instead).
func ignoredHeader(k string) bool {
	switch k {
	case "Authorization", "User-Agent", "X-Amzn-Trace-Id", "Expect", "Transfer-Encoding":
		return true
	}
	return strings.EqualFold(k, "Content-Length")
}

// date is the X-Amz-Date value of now. The last one is cached: under load
// many requests share a second, and the string is then not reallocated.
func (s *sigv4) date(now time.Time) string {
	now = now.UTC()
	sec := now.Unix()
	if d := s.lastDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &amzDate{sec: sec, text: now.Format("20060102T150405Z")}
	s.lastDate.Store(d)
	return d.text
}

type amzDate struct {
	sec  int64
	text string
}

// appendAuthorization appends the Authorization value of a request to dst.
// hs holds every header to sign except Host and Content-Length (the
// caller leaves out the ignored ones), including X-Amz-Date (amzDate) and
// any X-Amz-Security-Token; it is reordered.
func (s *sigv4) appendAuthorization(dst []byte, method string, t *Target, host string, contentLength int64, hs []hdr, id, secret, amzDate string, payloadHash []byte) []byte {
	day := amzDate[:8]
	dk := s.key(id, secret, t.Region, day)

	bp := signBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	// Canonical request.
	buf = append(buf, method...)
	buf = append(buf, '\n')
	buf = append(buf, t.canonURI...)
	buf = append(buf, '\n')
	buf = append(buf, t.canonQuery...)
	buf = append(buf, '\n')
	hs = append(hs, hdr{name: "host", one: host})
	if contentLength > 0 {
		hs = append(hs, hdr{name: "content-length", num: contentLength})
	}
	// Insertion sort by lower-cased name: a handful of headers.
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && lessLower(hs[j].name, hs[j-1].name); j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
	for i := range hs {
		if i > 0 && equalLower(hs[i].name, hs[i-1].name) {
			continue // merged into the previous line below
		}
		buf = appendLower(buf, hs[i].name)
		buf = append(buf, ':')
		switch {
		case hs[i].name == "host":
			buf = append(buf, stripExcessSpaces(hs[i].one)...)
		case hs[i].num > 0:
			buf = strconv.AppendInt(buf, hs[i].num, 10)
		default:
			first := true
			for j := i; j < len(hs) && (j == i || equalLower(hs[j].name, hs[i].name)); j++ {
				if hs[j].vals == nil {
					buf = appendCanonValue(buf, hs[j].one, first)
					first = false
				}
				for _, v := range hs[j].vals {
					buf = appendCanonValue(buf, v, first)
					first = false
				}
			}
		}
		buf = append(buf, '\n')
	}
	buf = append(buf, '\n')
	signedStart := len(buf)
	for i := range hs {
		if i > 0 && equalLower(hs[i].name, hs[i-1].name) {
			continue
		}
		if len(buf) > signedStart {
			buf = append(buf, ';')
		}
		buf = appendLower(buf, hs[i].name)
	}
	signedEnd := len(buf)
	buf = append(buf, '\n')
	buf = append(buf, payloadHash...)
	crHash := sha256.Sum256(buf)

	// String to sign, after the canonical request in the same buffer.
	stsStart := len(buf)
	buf = append(buf, "AWS4-HMAC-SHA256\n"...)
	buf = append(buf, amzDate...)
	buf = append(buf, '\n')
	scopeStart := len(buf)
	buf = append(buf, day...)
	buf = append(buf, '/')
	buf = append(buf, t.Region...)
	buf = append(buf, "/lambda/aws4_request"...)
	scopeEnd := len(buf)
	buf = append(buf, '\n')
	buf = hex.AppendEncode(buf, crHash[:])

	mac := dk.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(buf[stsStart:])
	// The signature goes after the string to sign, in the same buffer: a
	// local array would escape through the hash.Hash interface.
	buf = mac.Sum(buf)
	sig := buf[len(buf)-sha256.Size:]
	dk.macs.Put(mac)

	dst = append(dst, "AWS4-HMAC-SHA256 Credential="...)
	dst = append(dst, id...)
	dst = append(dst, '/')
	dst = append(dst, buf[scopeStart:scopeEnd]...)
	dst = append(dst, ", SignedHeaders="...)
	dst = append(dst, buf[signedStart:signedEnd]...)
	dst = append(dst, ", Signature="...)
	dst = hex.AppendEncode(dst, sig)

	*bp = buf
	signBufs.Put(bp)
	return dst
}

// hdr is a header to sign: its values are vals, or the single value one,
// or (content-length) the number num.
type hdr struct {
	name string
	vals []string
	one  string
	num  int64
}

// appendCanonValue appends one canonical header value, after a comma
// unless it is the first.
func appendCanonValue(buf []byte, v string, first bool) []byte {
	if !first {
		buf = append(buf, ',')
	}
	return append(buf, strings.TrimSpace(stripExcessSpaces(v))...)
}

func (s *sigv4) key(id, secret, region, day string) *derivedKey {
	k := keyID{id, secret, region}
	v, ok := s.keys.Load(k)
	if !ok {
		v, _ = s.keys.LoadOrStore(k, new(atomic.Pointer[derivedKey]))
	}
	p := v.(*atomic.Pointer[derivedKey])
	if dk := p.Load(); dk != nil && dk.day == day {
		return dk
	}
	mac := func(key []byte, data string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(data))
		return m.Sum(nil)
	}
	key := mac(mac(mac(mac([]byte("AWS4"+secret), day), region), "lambda"), "aws4_request")
	dk := &derivedKey{day: day, key: key}
	dk.macs.New = func() any { return hmac.New(sha256.New, key) }
	p.Store(dk)
	s.sweep(day)
	return dk
}

// sweep forgets the keys of credentials not used since the day before day.
// Temporary credentials bring a new key id every hour or so, and without
// this the map would grow for the whole uptime. It runs only when a key is
// derived, which is rare.
func (s *sigv4) sweep(day string) {
	t, err := time.Parse("20060102", day)
	if err != nil {
		return
	}
	cutoff := t.AddDate(0, 0, -1).Format("20060102")
	s.keys.Range(func(k, v any) bool {
		if dk := v.(*atomic.Pointer[derivedKey]).Load(); dk != nil && dk.day < cutoff {
			s.keys.Delete(k)
		}
		return true
	})
}

// stripExcessSpaces trims spaces at both ends and collapses inner runs of
// spaces to one, as SigV4's canonical header values require.
func stripExcessSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, lower(s[i]))
	}
	return dst
}

func lessLower(a, b string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if x, y := lower(a[i]), lower(b[i]); x != y {
			return x < y
		}
	}
	return len(a) < len(b)
}

func equalLower(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// canonicalURI is the SDK's canonical path: the escaped path (our names
// are already escaped once) escaped again, all but unreserved and '/'.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			const hexd = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
		}
	}
	return b.String()
}

// sdkHost is the Host the SDK signs and sends: a default port is dropped.
func sdkHost(u *url.URL) string {
	host := u.Host
	port := ""
	if i := strings.Index(host, "]:"); i >= 0 {
		port = host[i+2:]
	} else if c := strings.IndexByte(host, ':'); c >= 0 && !strings.Contains(host, "]") {
		port = host[c+1:]
	}
	s := strings.ToLower(u.Scheme)
	if port == "" || !(s == "http" && port == "80" || s == "https" && port == "443") {
		return host
	}
	if i := strings.IndexByte(host, ']'); i >= 0 {
		return strings.TrimPrefix(host[:i], "[")
	}
	return host[:strings.IndexByte(host, ':')]
}
