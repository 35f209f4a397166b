package lambda

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The invoker's own HTTP/1.1 client. The Invoke API needs one request shape
// (POST, Content-Length body, a dozen headers) and reads a handful of
// response headers, so the client is small: it writes the request with one
// write on the caller's goroutine and parses the answer there too. With
// net/http's client the same exchange costs about 50 allocations and two
// goroutine hand-offs (its read and write loops); BenchmarkInvoke compares
// the two in one run, and Options.Client keeps net/http available.

// userAgent is sent to Lambda; it is not signed (the SDK ignores it).
const userAgent = "lambdagate"

// connKey says where a target's requests go: the pool of kept-alive
// connections is per key.
type connKey struct {
	addr       string // host:port to dial
	tls        bool
	serverName string // for TLS: the certificate name to verify
}

func connKeyOf(u *url.URL) connKey {
	host, port := u.Hostname(), u.Port()
	tlsOn := strings.EqualFold(u.Scheme, "https")
	if port == "" {
		port = "80"
		if tlsOn {
			port = "443"
		}
	}
	return connKey{addr: net.JoinHostPort(host, port), tls: tlsOn, serverName: host}
}

// Limits of what the client reads.
const (
	maxResponseHeader = 64 << 10
	// maxResponseBody is Lambda's 6 MB response limit plus headroom for
	// its framing; a larger answer is refused unread.
	maxResponseBody = MaxSyncPayload + 32<<10
	// inlineBody is the largest body copied behind the headers for one
	// write; larger ones go out in a second buffer (writev on TCP) so that
	// a connection's buffer stays small.
	inlineBody = 16 << 10
	// maxKeptBuffer bounds the request buffer a pooled connection keeps.
	maxKeptBuffer = 64 << 10
)

// h1Client keeps connections per connKey, most recently used first.
type h1Client struct {
	maxIdle     int
	idleTimeout time.Duration
	tlsConfig   *tls.Config
	dialer      net.Dialer

	mu   sync.Mutex
	idle map[connKey][]*h1Conn
}

func newH1Client(o Options) *h1Client {
	tlsConfig := o.TLSConfig.Clone()
	if tlsConfig.ClientSessionCache == nil {
		// New connections to the same endpoint resume the TLS session
		// instead of a full handshake.
		tlsConfig.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	return &h1Client{
		maxIdle:     o.MaxIdleConnsPerHost,
		idleTimeout: o.IdleConnTimeout,
		tlsConfig:   tlsConfig,
		dialer:      net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		idle:        map[connKey][]*h1Conn{},
	}
}

// h1Conn is one connection to a Lambda endpoint.
type h1Conn struct {
	net.Conn
	key connKey
	br  *bufio.Reader
	// buf holds the request being written; reused across requests.
	buf []byte
	// peer is the TCP socket under Conn (also under TLS), for the
	// liveness check of a pooled connection; nil when unavailable.
	peer     syscall.RawConn
	lastUsed time.Time
	// cancel is the AfterFunc body that aborts the connection when the
	// caller's context ends; built once per connection.
	cancel func()
	// deadline is the I/O deadline set last (see setDeadline).
	deadline time.Time
	// peek, peekBuf and peekAlive serve alive (built once per connection).
	peek      func(fd uintptr) bool
	peekBuf   [1]byte
	peekAlive bool
	// records follows the TLS records read from the socket; nil on
	// plain TCP.
	records *recordTracker
}

// drained reports whether nothing beyond the answer just read has been
// received, so that the connection may carry another request. On plain
// TCP the only place such bytes can sit is the bufio buffer (bytes still
// in the socket are seen by alive before reuse). Under TLS they can also
// sit inside tls.Conn: plaintext decrypted from a record that also held
// the end of the answer, or the start of a record not read in full. A
// read with a deadline in the past returns the first, without touching
// the socket; a timeout there is not sticky in crypto/tls, and a partial
// record read so far stays buffered, which recordTracker tells.
func (pc *h1Conn) drained() bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	if pc.records == nil {
		return true
	}
	_ = pc.Conn.SetReadDeadline(aLongTimeAgo)
	_, err := pc.br.Peek(1)
	// No deadline while idle: alive's peek fails on a passed one.
	_ = pc.Conn.SetReadDeadline(time.Time{})
	pc.deadline = time.Time{} // the next setDeadline must set it again
	if pc.br.Buffered() > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return pc.records.atBoundary()
}

// recordTracker sits between tls.Conn and the socket and follows the TLS
// record framing of what was read (a 5-byte header whose last two bytes
// give the length of the rest), so that a record tls.Conn holds only in
// part is known.
type recordTracker struct {
	net.Conn
	hdr  [5]byte
	nhdr int // header bytes of the current record seen so far
	left int // bytes of the current record's body still to come
}

func (r *recordTracker) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	for b := p[:n]; len(b) > 0; {
		if r.left > 0 {
			k := min(r.left, len(b))
			r.left -= k
			b = b[k:]
			continue
		}
		k := copy(r.hdr[r.nhdr:], b)
		r.nhdr += k
		b = b[k:]
		if r.nhdr == len(r.hdr) {
			r.left = int(r.hdr[3])<<8 | int(r.hdr[4])
			r.nhdr = 0
		}
	}
	return n, err
}

// atBoundary reports whether everything read ends a whole record.
func (r *recordTracker) atBoundary() bool { return r.nhdr == 0 && r.left == 0 }

var aLongTimeAgo = time.Unix(1, 0)

// get returns a kept-alive connection for key that is still open, or nil.
func (c *h1Client) get(key connKey, now time.Time) *h1Conn {
	c.mu.Lock()
	for {
		list := c.idle[key]
		if len(list) == 0 {
			c.mu.Unlock()
			return nil
		}
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		c.idle[key] = list[:len(list)-1]
		if now.Sub(pc.lastUsed) > c.idleTimeout {
			// Every one below is older still.
			rest := c.idle[key]
			delete(c.idle, key)
			c.mu.Unlock()
			pc.Close()
			for _, o := range rest {
				o.Close()
			}
			return nil
		}
		c.mu.Unlock()
		if pc.alive() {
			return pc
		}
		pc.Close()
		c.mu.Lock()
	}
}

// put keeps pc for the next request, or closes it when the pool is full.
func (c *h1Client) put(pc *h1Conn, now time.Time) {
	if !pc.drained() {
		// Bytes after the response: the server is out of step, and the
		// next request on this connection would read them as its answer.
		pc.Close()
		return
	}
	if cap(pc.buf) > maxKeptBuffer {
		pc.buf = nil
	}
	pc.lastUsed = now
	c.mu.Lock()
	list := c.idle[pc.key]
	if len(list) >= c.maxIdle {
		c.mu.Unlock()
		pc.Close()
		return
	}
	// The oldest (first) ones may have expired while newer ones were used.
	expired := 0
	for expired < len(list) && now.Sub(list[expired].lastUsed) > c.idleTimeout {
		expired++
	}
	var old []*h1Conn
	if expired > 0 {
		old = append(old, list[:expired]...)
		list = append(list[:0], list[expired:]...)
	}
	c.idle[pc.key] = append(list, pc)
	c.mu.Unlock()
	for _, o := range old {
		o.Close()
	}
}

// closeIdle closes every kept-alive connection.
func (c *h1Client) closeIdle() {
	c.mu.Lock()
	all := c.idle
	c.idle = map[connKey][]*h1Conn{}
	c.mu.Unlock()
	for _, list := range all {
		for _, pc := range list {
			pc.Close()
		}
	}
}

// dial opens a connection for key, with TLS when the endpoint is https.
func (c *h1Client) dial(ctx context.Context, key connKey, deadline time.Time) (*h1Conn, error) {
	d := c.dialer
	d.Deadline = deadline
	nc, err := d.DialContext(ctx, "tcp", key.addr)
	if err != nil {
		return nil, err
	}
	pc := &h1Conn{Conn: nc, key: key}
	if sc, ok := nc.(syscall.Conn); ok {
		pc.peer, _ = sc.SyscallConn()
	}
	if key.tls {
		cfg := c.tlsConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = key.serverName
		}
		// HTTP/1.1 only: this client speaks nothing else.
		cfg.NextProtos = []string{"http/1.1"}
		pc.records = &recordTracker{Conn: nc}
		tc := tls.Client(pc.records, cfg)
		hctx, cancel := context.WithDeadline(ctx, deadline)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, err
		}
		pc.Conn = tc
	}
	pc.br = bufio.NewReaderSize(pc.Conn, 8<<10)
	pc.cancel = func() { _ = pc.Conn.SetDeadline(aLongTimeAgo) } // the connection is then closed, never reused
	return pc, nil
}

// deadlineStep is how far an I/O deadline may be rounded up. Setting a
// deadline re-arms two runtime timers; rounded, a connection that serves
// many requests a second keeps its deadline instead, and a route timeout
// ends at most this much late.
const deadlineStep = 10 * time.Millisecond

// setDeadline bounds the connection's I/O by deadline, rounded up to the
// next deadlineStep.
func (pc *h1Conn) setDeadline(deadline time.Time) {
	rounded := deadline.Add(deadlineStep - 1).Truncate(deadlineStep)
	if rounded.Equal(pc.deadline) {
		return
	}
	pc.deadline = rounded
	_ = pc.Conn.SetDeadline(rounded)
}

// respMeta is what the invoker reads of Lambda's answer.
type respMeta struct {
	status        int
	contentLength int64 // -1: not given
	chunked       bool
	close         bool
	contentType   string
	// contentEncoding is a content coding of the body (decoded by
	// decodeContent).
	contentEncoding string
	requestID       string
	execVersion     string
	functionError   string
	errorType       string
	retryAfter      string
}

// protocolError is an answer that is not valid HTTP/1.1.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "malformed HTTP response from Lambda: " + e.msg }

// errTooLarge: the answer is larger than Lambda can send.
var errTooLarge = errors.New("response larger than Lambda's limit")

// errTruncated: the connection ended inside the announced body.
var errTruncated = errors.New("truncated response from Lambda")

// readResponse reads one response: status line, headers, body. 1xx
// answers are skipped; their heads count against the final head's size
// limit, as net/http counts them. It leaves the connection at the next
// response.
func (pc *h1Conn) readResponse() (respMeta, []byte, error) {
	budget := maxResponseHeader
	for {
		m, err := pc.readHead(&budget)
		if err != nil {
			return m, nil, err
		}
		if m.status >= 100 && m.status < 200 {
			if m.status == 101 {
				return m, nil, &protocolError{"unexpected 101 Switching Protocols"}
			}
			continue
		}
		if m.status == 204 || m.status == 304 {
			return m, nil, nil
		}
		body, err := pc.readBody(&m)
		return m, body, err
	}
}

// readLine returns one header line without its line end; the slice is
// valid until the next read.
func (pc *h1Conn) readLine(budget *int) ([]byte, error) {
	line, err := pc.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, &protocolError{"header line longer than 8 KiB"}
	}
	if err != nil {
		return nil, err
	}
	if *budget -= len(line); *budget < 0 {
		return nil, &protocolError{"headers larger than 64 KiB"}
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func (pc *h1Conn) readHead(budget *int) (respMeta, error) {
	m := respMeta{contentLength: -1}
	line, err := pc.readLine(budget)
	if err != nil {
		return m, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return m, &protocolError{"bad status line " + strconv.Quote(string(line[:min(len(line), 64)]))}
	}
	line0 := line[7]
	if line0 == '0' {
		m.close = true // HTTP/1.0: this client sends no keep-alive request
	} else if line[7] != '1' {
		return m, &protocolError{"unsupported version " + strconv.Quote(string(line[:8]))}
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return m, &protocolError{"bad status code " + strconv.Quote(string(line[9:12]))}
		}
		m.status = m.status*10 + int(c-'0')
	}
	if m.status < 100 {
		return m, &protocolError{"bad status code " + strconv.Quote(string(line[9:12]))}
	}
	for {
		line, err := pc.readLine(budget)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return m, err
		}
		if len(line) == 0 {
			return m, nil
		}
		colon := -1
		for i, c := range line {
			if c == ':' {
				colon = i
				break
			}
			if !isTokenChar(c) {
				// Includes obsolete line folding (a leading space) and
				// a space before the colon, both refused by RFC 9112.
				return m, &protocolError{"bad header line " + strconv.Quote(string(line[:min(len(line), 64)]))}
			}
		}
		if colon <= 0 {
			return m, &protocolError{"bad header line " + strconv.Quote(string(line[:min(len(line), 64)]))}
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !validHeaderValue(value) {
			// RFC 9110 5.5 lets a recipient reject such a field or
			// replace the bytes with SP; net/http rejects the answer,
			// and so does this client, so that no control byte reaches
			// a client whichever client reads Lambda.
			return m, &protocolError{"control character in the value of header " + strconv.Quote(string(name[:min(len(name), 64)]))}
		}
		if err := m.set(name, value); err != nil {
			return m, err
		}
		if m.chunked && line0 == '0' {
			// RFC 9112 6.1: the framing of such a message is faulty.
			return m, &protocolError{"Transfer-Encoding in an HTTP/1.0 answer"}
		}
	}
}

// set records one header the invoker reads; others are skipped.
func (m *respMeta) set(name, value []byte) error {
	switch len(name) {
	case 10: // Connection
		if equalFoldASCII(name, "connection") && containsToken(value, "close") {
			m.close = true
		}
	case 11: // Retry-After
		if equalFoldASCII(name, "retry-after") {
			m.retryAfter = string(value)
		}
	case 12: // Content-Type
		if equalFoldASCII(name, "content-type") {
			m.contentType = internContentType(value)
		}
	case 14: // Content-Length
		if equalFoldASCII(name, "content-length") {
			n, ok := parseContentLength(value)
			if !ok || (m.contentLength >= 0 && m.contentLength != n) {
				return &protocolError{"bad Content-Length " + strconv.Quote(string(value[:min(len(value), 32)]))}
			}
			m.contentLength = n
		}
	case 16: // X-Amzn-Requestid, X-Amzn-Errortype, Content-Encoding
		switch {
		case equalFoldASCII(name, "x-amzn-requestid"):
			m.requestID = string(value)
		case equalFoldASCII(name, "x-amzn-errortype"):
			m.errorType = string(value)
		case equalFoldASCII(name, "content-encoding"):
			m.contentEncoding = string(value)
		}
	case 17: // Transfer-Encoding
		if equalFoldASCII(name, "transfer-encoding") {
			if !equalFoldASCII(value, "chunked") {
				return &protocolError{"unsupported Transfer-Encoding " + strconv.Quote(string(value[:min(len(value), 32)]))}
			}
			m.chunked = true
		}
	case 20: // X-Amz-Function-Error
		if equalFoldASCII(name, "x-amz-function-error") {
			m.functionError = string(value)
		}
	case 22: // X-Amz-Executed-Version
		if equalFoldASCII(name, "x-amz-executed-version") {
			m.execVersion = string(value)
		}
	}
	return nil
}

// readBody reads the body m announces: chunked, Content-Length, or up to
// the connection's end.
func (pc *h1Conn) readBody(m *respMeta) ([]byte, error) {
	if m.chunked {
		// RFC 9112 6.3: chunked wins over Content-Length, and such a
		// message must not be reused.
		if m.contentLength >= 0 {
			m.close = true
		}
		return pc.readChunked()
	}
	if m.contentLength < 0 {
		m.close = true
	}
	return readBody(pc.br, m.contentLength)
}

// readBody reads a body of n bytes from r (to r's end when n < 0), never
// more than maxResponseBody. It fails with errTooLarge, errTruncated or
// the read's error.
func readBody(r io.Reader, n int64) ([]byte, error) {
	if n > maxResponseBody {
		return nil, errTooLarge
	}
	if n >= 0 {
		return appendN(nil, r, int(n), int(n))
	}
	body, err := io.ReadAll(io.LimitReader(r, maxResponseBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxResponseBody {
		return nil, errTooLarge
	}
	return body, nil
}

// initialBody is the most a body buffer is given before its bytes
// arrive: an answer that announces a large length and sends nothing costs
// no more than this.
const initialBody = 64 << 10

// appendN appends n bytes read from r to body, which never grows past
// limit. Its buffer grows with the bytes received, not with the length
// announced; a body of up to initialBody bytes still takes one
// allocation, and many small appends grow it geometrically.
func appendN(body []byte, r io.Reader, n, limit int) ([]byte, error) {
	want := len(body) + n
	for len(body) < want {
		if len(body) == cap(body) {
			grown := make([]byte, len(body), min(limit, max(2*cap(body), len(body)+min(want-len(body), initialBody))))
			copy(grown, body)
			body = grown
		}
		k, err := r.Read(body[len(body):min(cap(body), want)])
		body = body[:len(body)+k]
		if err != nil && len(body) < want {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, errTruncated
			}
			return nil, err
		}
	}
	return body, nil
}

// maxChunkOverhead bounds the bytes of chunk framing (size lines,
// extensions, line ends) beyond an allowance per chunk, as net/http's
// chunked reader does: a legal answer in many small chunks is read,
// while framing that carries almost no data is refused. Time is bounded
// by the route timeout.
const maxChunkOverhead = 64 << 10

// readErr maps the connection's end to errTruncated and keeps other
// errors (a deadline) as they are.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errTruncated
	}
	return err
}

func (pc *h1Conn) readChunked() ([]byte, error) {
	var body []byte
	overhead := 0
	for {
		// Each line is bounded by the buffer (8 KiB), the lines together
		// by overhead below.
		budget := maxResponseHeader
		line, err := pc.readLine(&budget)
		if err != nil {
			return nil, readErr(err)
		}
		overhead += len(line) + 2
		if i := indexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions are ignored
		}
		line = trimOWS(line)
		size, ok := parseHex(line)
		if !ok {
			return nil, &protocolError{"bad chunk size " + strconv.Quote(string(line[:min(len(line), 32)]))}
		}
		if size == 0 {
			break
		}
		if int64(len(body))+size > maxResponseBody {
			return nil, errTooLarge
		}
		if overhead -= 16 + 2*int(size); overhead > maxChunkOverhead {
			return nil, &protocolError{"chunked framing with too little data"}
		}
		overhead = max(overhead, 0)
		if body, err = appendN(body, pc.br, int(size), maxResponseBody); err != nil {
			return nil, err
		}
		crlf, err := pc.readLine(&budget)
		if err != nil {
			return nil, readErr(err)
		}
		if len(crlf) != 0 {
			return nil, &protocolError{"chunk not followed by CRLF"}
		}
	}
	// Trailers are read and ignored.
	budget := maxResponseHeader
	for {
		line, err := pc.readLine(&budget)
		if err != nil {
			return nil, readErr(err)
		}
		if len(line) == 0 {
			return body, nil
		}
	}
}

// contentTypeJSON is Lambda's usual content type, shared rather than
// allocated per response.
const contentTypeJSON = "application/json"

func internContentType(v []byte) string {
	if string(v) == contentTypeJSON {
		return contentTypeJSON
	}
	return string(v)
}

func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func parseHex(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

func trimOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

func indexByte(v []byte, c byte) int {
	for i := range v {
		if v[i] == c {
			return i
		}
	}
	return -1
}

// equalFoldASCII compares v with lower, which is lower case.
func equalFoldASCII(v []byte, lower string) bool {
	if len(v) != len(lower) {
		return false
	}
	for i := range v {
		c := v[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// containsToken reports whether the comma-separated list v holds tok.
func containsToken(v []byte, tok string) bool {
	for len(v) > 0 {
		i := indexByte(v, ',')
		part := v
		if i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if equalFoldASCII(trimOWS(part), tok) {
			return true
		}
	}
	return false
}

// isTokenChar reports an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validHeaderValue reports whether v can be sent as a header value: no
// control characters but tab.
func validHeaderValue[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
