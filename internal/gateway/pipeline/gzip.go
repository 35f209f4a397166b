package pipeline

import (
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// DefaultGzipTypes are the media types compressed when gzip names none
// (Envoy's gzip filter defaults, as Gloo documents them).
var DefaultGzipTypes = []string{
	"application/javascript", "application/json", "application/xhtml+xml", "image/svg+xml",
	"text/css", "text/html", "text/plain", "text/xml",
}

// Gzip is a virtual host's gzip option, compiled: a response filter that
// compresses an answer when the client accepts gzip, its type is one of
// Types and its body is at least MinLength bytes. It never compresses an
// answer that is already encoded, to a HEAD, a 204, a 206 or a 304, one
// marked Cache-Control: no-transform, or a streamed one
// (Exchange.Streamed). Vary: Accept-Encoding is added to every answer
// that would be compressed for a client that accepts gzip.
type Gzip struct {
	MinLength int
	Level     int             // 1 to 9
	Types     map[string]bool // lower-case media types
	// DisableOnETag leaves answers with an ETag alone; otherwise a
	// strong ETag is removed (it names the uncompressed bytes) and a
	// weak one kept.
	DisableOnETag bool
}

// GzipAcceptEncoding is the request half of a gzip option: it records
// whether the client accepts gzip before any header edit, and with Remove
// (removeAcceptEncodingHeader) removes Accept-Encoding so that the
// function does not compress.
type GzipAcceptEncoding struct{ Remove bool }

// FilterRequest records, and removes, Accept-Encoding.
func (f GzipAcceptEncoding) FilterRequest(_ http.ResponseWriter, r *http.Request, x *Exchange) error {
	x.acceptSeen, x.acceptGzip = true, AcceptsGzip(r.Header["Accept-Encoding"])
	if f.Remove {
		delete(r.Header, "Accept-Encoding")
	}
	return nil
}

// FilterResponse decides, and when it compresses sets the headers and
// tells Exchange.WriteBody to.
func (g *Gzip) FilterResponse(r *http.Request, x *Exchange, status int, h http.Header) (int, error) {
	switch {
	case x.Streamed, r.Method == http.MethodHead, x.BodySize < g.MinLength,
		status < 200, status == http.StatusNoContent, status == http.StatusPartialContent, status == http.StatusNotModified:
		return status, nil
	}
	if ce := h["Content-Encoding"]; len(ce) > 0 && ce[0] != "" && !strings.EqualFold(ce[0], "identity") {
		return status, nil
	}
	if cc := h["Cache-Control"]; len(cc) > 0 && hasToken(cc, "no-transform") {
		return status, nil
	}
	ct := h["Content-Type"]
	if len(ct) == 0 {
		return status, nil
	}
	mt, _, err := mime.ParseMediaType(ct[0])
	if err != nil || !g.Types[mt] {
		return status, nil
	}
	etag := h["Etag"]
	if len(etag) > 0 && g.DisableOnETag {
		return status, nil
	}
	if !hasToken(h["Vary"], "accept-encoding") {
		h["Vary"] = append(h["Vary"], "Accept-Encoding")
	}
	accepts := x.acceptGzip
	if !x.acceptSeen {
		accepts = AcceptsGzip(r.Header["Accept-Encoding"])
	}
	if !accepts {
		return status, nil
	}
	if len(etag) > 0 && !strings.HasPrefix(etag[0], "W/") {
		delete(h, "Etag")
	}
	h["Content-Encoding"] = []string{"gzip"}
	delete(h, "Content-Length")
	x.gzipLevel = g.Level
	return status, nil
}

// hasToken reports whether a comma-separated header holds tok (ASCII
// case-insensitive; parameters ignored).
func hasToken(values []string, tok string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t, _, _ = strings.Cut(t, "=")
			if strings.EqualFold(strings.TrimSpace(t), tok) {
				return true
			}
		}
	}
	return false
}

// AcceptsGzip reports whether Accept-Encoding values accept gzip (RFC 9110
// §12.5.3): "gzip" or "x-gzip" with a q-value above 0, or "*" above 0
// when gzip is not listed. No header: no (RFC 9110 allows any coding then,
// but clients that decode gzip say so, and Envoy does not compress).
func AcceptsGzip(values []string) bool {
	star, gz := -1.0, -1.0
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.TrimSpace(coding)
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0 // an invalid weight accepts nothing
					}
					q = f
				}
			}
			switch {
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				gz = max(gz, q)
			case coding == "*":
				star = max(star, q)
			}
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// gzipPools hold gzip writers by level: a writer's state is some 800 KB
// to allocate, so each is reused.
var gzipPools [10]sync.Pool

// Compressing reports whether a gzip filter chose to compress the answer.
func (x *Exchange) Compressing() bool { return x.gzipLevel != 0 }

// WriteBody writes an answer's body to w, compressed when a gzip filter
// chose to, and returns the bytes written to w.
func (x *Exchange) WriteBody(w io.Writer, body []byte) int {
	if x.gzipLevel == 0 {
		n, _ := w.Write(body)
		return n
	}
	cw := &countWriter{w: w}
	pool := &gzipPools[x.gzipLevel]
	zw, _ := pool.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(cw, x.gzipLevel) // a valid level
	} else {
		zw.Reset(cw)
	}
	_, _ = zw.Write(body)
	_ = zw.Close()
	zw.Reset(io.Discard) // drop the ResponseWriter
	pool.Put(zw)
	return cw.n
}

type countWriter struct {
	w io.Writer
	n int
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}
