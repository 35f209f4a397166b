package gateway

import (
	"net/http"

	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/router"
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
	if !router.ValidHost(r.Host) {
		return httperr.New(http.StatusBadRequest, "BadHost", "the Host header is not a host name or IP address with an optional numeric port")
	}
	return nil
}
