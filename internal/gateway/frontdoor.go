package gateway

import (
	"net/http"

	"github.com/lambdagate/lambdagate/internal/httperr"
)

var connectionClose = []string{"close"}

// frontDoor checks what net/http accepts but the gateway must not trust,
// before routing.
//
// A chunked HTTP/1 request closes its connection after the answer. net/http
// drops a Content-Length sent beside Transfer-Encoding (RFC 9112 §6.3: the
// chunked framing wins) and would keep the connection open; RFC 9112 §6.1
// then asks the server to close it, since a front proxy that framed the
// request by Content-Length may have sent a second, smuggled request after
// the chunked body. The dropped header cannot be seen here, so every
// chunked request closes: keep-alive is lost only for chunked uploads,
// which Lambda's buffered payloads make rare. An HTTP/1.0 request with a
// body closes too: net/http ignores and removes Transfer-Encoding there
// and frames by Content-Length, where RFC 9112 §6.1 asks to treat the
// framing as faulty and close.
func frontDoor(w http.ResponseWriter, r *http.Request) error {
	if r.ProtoMajor == 1 && (len(r.TransferEncoding) > 0 || (r.ProtoMinor == 0 && r.ContentLength > 0)) {
		w.Header()["Connection"] = connectionClose
	}
	if !validHost(r.Host) {
		return httperr.New(http.StatusBadRequest, "BadHost", "the Host header is not a host name or IP address with an optional numeric port")
	}
	return nil
}

// validHost reports whether host is uri-host [":" port] (RFC 9110 §7.2):
// net/http checks only its characters, so "a.test:abc" or "a:b:c" would
// otherwise be routed by their first part. An IPv6 literal must be
// bracketed; the port is decimal, at most 65535, and may be empty (RFC 3986
// §3.2.3). "" (HTTP/1.0 without Host) is valid.
func validHost(host string) bool {
	rest := host
	if len(host) > 0 && host[0] == '[' {
		end := -1
		for i := 1; i < len(host); i++ {
			if host[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return false
		}
		rest = host[end+1:]
		if rest == "" {
			return true
		}
		if rest[0] != ':' {
			return false
		}
		return validPort(rest[1:])
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case ':':
			return validPort(rest[i+1:])
		case '[', ']':
			return false
		}
	}
	return true
}

func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}
