package gateway

import (
	"io"
	"net/http"
	"time"
)

// BodyDiscard bounds how much of a request body the gateway reads and
// throws away after answering an error (413 for a body over Lambda's limit,
// 404 for no route) without having read it. A plain HTTP/1.1 client writes
// its whole request before it reads: closing with its body unread makes the
// kernel reset the connection, and the client sees a broken pipe instead of
// the answer. Reading it, as nginx's lingering close does, lets the answer
// through; the bounds keep a client from holding the connection forever.
type BodyDiscard struct {
	// Bytes is the most read. Default 64 MiB; negative disables discarding.
	Bytes int64
	// Timeout is the longest time spent reading. Default 10s.
	Timeout time.Duration
}

// WithDefaults returns d with its zero fields set to their defaults.
func (d BodyDiscard) WithDefaults() BodyDiscard {
	if d.Bytes == 0 {
		d.Bytes = 64 << 20
	}
	if d.Timeout == 0 {
		d.Timeout = 10 * time.Second
	}
	return d
}

// goDiscards is what net/http reads of an unread body by itself, after the
// handler, to keep the connection (its maxPostHandlerReadBytes).
const goDiscards = 256 << 10

// prepareDiscard runs before an error answer is written. When more of the
// request body may be unread than net/http discards by itself, it lets the
// handler read the body after answering (full duplex) and marks the answer
// Connection: close; it returns the controller to discard with, or nil.
// A client that sent Expect: 100-continue has not sent its body: nothing to
// discard.
func (g *Gateway) prepareDiscard(w http.ResponseWriter, r *http.Request, o *Outcome) *http.ResponseController {
	if g.Discard.Bytes <= 0 || r.ProtoMajor != 1 || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if _, ok := r.Header["Expect"]; ok {
		return nil
	}
	unread := r.ContentLength - int64(o.BytesIn)
	if r.ContentLength < 0 && o.BytesIn == 0 {
		unread = goDiscards + 1 // chunked, unread or over the limit
	}
	if unread <= goDiscards {
		return nil
	}
	rc := http.NewResponseController(w)
	if rc.EnableFullDuplex() != nil {
		return nil
	}
	w.Header()["Connection"] = connectionClose
	return rc
}

// discardBody sends the answer, then reads the rest of the body within the
// bounds. The connection closes afterwards (Connection: close).
func (g *Gateway) discardBody(rc *http.ResponseController, r *http.Request) {
	if rc.Flush() != nil {
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(g.Discard.Timeout))
	_, _ = io.CopyN(io.Discard, r.Body, g.Discard.Bytes)
}
