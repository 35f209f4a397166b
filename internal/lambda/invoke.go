package lambda

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Result is a successful invocation.
type Result struct {
	// Status is Lambda's status: 200 for sync, 202 for async.
	Status int
	// ContentType is Lambda's content type (application/json).
	ContentType     string
	Body            []byte
	RequestID       string
	ExecutedVersion string
	Attempts        int
	// ErrorScanned says the body was already found not to be an
	// unflagged error (UnflaggedError): a route retrying function errors
	// scans each attempt, and the caller need not scan again.
	ErrorScanned bool
}

// Invoker sends Invoke requests. It is safe for concurrent use.
type Invoker struct {
	// h1 is the invoker's own HTTP/1.1 client (h1.go); client is
	// net/http's, used instead when Options.Client asks for it.
	h1     *h1Client
	client *http.Client
	// streamClient sends streaming invocations (see stream.go): client
	// when set, else a net/http client of its own.
	streamClient *http.Client
	// signer signs with SigV4 like the SDK's signer, byte for byte; its
	// key cache includes the secret, so a rotated secret that keeps its key
	// id takes effect at once.
	signer sigv4
	// now is replaceable in tests.
	now func() time.Time
	// throttleOnly is the retry policy of a target without one: throttles
	// only, bounded by Options' ThrottleRetries and ThrottleRetryBudget.
	throttleOnly RetryPolicy
}

// Client names the HTTP client an Invoker uses.
const (
	// ClientLambdagate is the invoker's own HTTP/1.1 client (h1.go).
	ClientLambdagate = "lambdagate"
	// ClientNetHTTP is net/http's client, kept to compare against
	// (bench/run.sh) and as a fallback.
	ClientNetHTTP = "net/http"
)

// Options configures an Invoker.
type Options struct {
	// Client is ClientLambdagate or ClientNetHTTP. Default
	// ClientLambdagate.
	Client string
	// MaxIdleConnsPerHost bounds kept-alive connections per Lambda
	// endpoint. Default 256.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes idle connections. Default 90s (Lambda's
	// front end closes them after about 2 minutes).
	IdleConnTimeout time.Duration
	// TLSConfig for https endpoints. Default: system roots, TLS 1.2+.
	TLSConfig *tls.Config
	// ThrottleRetries is how many times a throttled (429) Invoke is sent
	// again. Default 3; negative: never. A throttle that clears (a burst
	// over the account's concurrency) usually clears within them; one that
	// cannot (reserved concurrency 0) is then answered 429 at once instead
	// of at the route timeout.
	ThrottleRetries int
	// ThrottleRetryBudget bounds the time spent retrying after the first
	// throttle, whatever ThrottleRetries allows. Default 1s.
	ThrottleRetryBudget time.Duration
}

// Defaults of Options' throttle retry budget.
const (
	DefaultThrottleRetries     = 3
	DefaultThrottleRetryBudget = time.Second
)

// NewInvoker returns an Invoker with pooled connections. It panics on an
// unknown Options.Client (a programming error: callers validate flags).
func NewInvoker(o Options) *Invoker {
	if o.MaxIdleConnsPerHost == 0 {
		o.MaxIdleConnsPerHost = 256
	}
	if o.IdleConnTimeout == 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch {
	case o.ThrottleRetries == 0:
		o.ThrottleRetries = DefaultThrottleRetries
	case o.ThrottleRetries < 0:
		o.ThrottleRetries = 0
	}
	if o.ThrottleRetryBudget <= 0 {
		o.ThrottleRetryBudget = DefaultThrottleRetryBudget
	}
	iv := &Invoker{now: time.Now, throttleOnly: RetryPolicy{
		NumRetries:   o.ThrottleRetries,
		BaseInterval: DefaultRetryBase,
		MaxInterval:  time.Second,
		Budget:       o.ThrottleRetryBudget,
	}}
	switch o.Client {
	case "", ClientLambdagate:
		iv.h1 = newH1Client(o)
	case ClientNetHTTP:
		iv.client = netHTTPClient(o)
	default:
		panic("lambda: unknown client " + strconv.Quote(o.Client))
	}
	iv.streamClient = iv.client
	if iv.streamClient == nil {
		iv.streamClient = netHTTPClient(o)
	}
	return iv
}

// netHTTPClient is net/http's client configured for Lambda.
func netHTTPClient(o Options) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil, // Lambda traffic never goes through HTTP_PROXY implicitly
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       o.TLSConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * o.MaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       o.IdleConnTimeout,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: 0,
		// Lambda's answer is JSON; transparent gzip would only cost CPU.
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxResponseHeader,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// CloseIdle closes idle pooled connections.
func (iv *Invoker) CloseIdle() {
	if iv.h1 != nil {
		iv.h1.closeIdle()
	} else {
		iv.client.CloseIdleConnections()
	}
	if iv.streamClient != iv.client {
		iv.streamClient.CloseIdleConnections()
	}
}

// Header is one extra request header.
type Header struct{ Name, Value string }

// Invoke calls the function with payload. The invocation, retries
// included, ends at the target's Timeout (or ctx's deadline when sooner);
// ctx's cancellation aborts it. Throttling (429) is retried with jittered
// exponential backoff, within the invoker's throttle retry budget. Extra
// headers (trace context, original routing) are added; nothing else from
// the client is sent, so a client cannot choose the invocation or log type.
func (iv *Invoker) Invoke(ctx context.Context, t *Target, payload []byte, extra []Header) (*Result, error) {
	return iv.InvokeWithin(ctx, t, t.Timeout, payload, extra)
}

// InvokeWithin is Invoke bounded by timeout instead of the target's
// Timeout (zero or less: DefaultTimeout).
func (iv *Invoker) InvokeWithin(ctx context.Context, t *Target, timeout time.Duration, payload []byte, extra []Header) (*Result, error) {
	limit := MaxSyncPayload
	if t.Async {
		limit = MaxAsyncPayload
	}
	if len(payload) > limit {
		return nil, &Error{Kind: KindTooLarge, Message: "request payload is " + strconv.Itoa(len(payload)) + " bytes; the limit for this invocation type is " + strconv.Itoa(limit)}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	creds, err := t.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, &Error{Kind: KindNoCredentials, Message: "no credentials present for AWS upstream", Err: err}
	}
	sum := sha256.Sum256(payload)
	var hashBuf [2 * sha256.Size]byte
	hex.Encode(hashBuf[:], sum[:])
	payloadHash := hashBuf[:] // a string of it would be allocated (64 bytes)

	rp := t.Retry
	if rp == nil {
		rp = &iv.throttleOnly
	}
	backoff := rp.BaseInterval
	var retryEnd time.Time // when retrying stops
	for attempt := 1; ; attempt++ {
		tryDeadline := deadline
		if rp.PerTryTimeout > 0 {
			if d := time.Now().Add(rp.PerTryTimeout); d.Before(tryDeadline) {
				tryDeadline = d
			}
		}
		var res *Result
		if iv.h1 != nil {
			res, err = iv.onceH1(ctx, t, payload, payloadHash, creds, extra, tryDeadline)
		} else {
			res, err = iv.onceNetHTTP(ctx, t, payload, payloadHash, creds, extra, tryDeadline)
		}
		if err == nil && rp.FunctionErrors && !t.Async {
			// Endpoints that never flag errors (the Runtime Interface
			// Emulator): the same test the gateway makes on the answer.
			if ue := UnflaggedError(res.Body, t.Unwrap == UnwrapAPIGatewayV1 || t.Unwrap == UnwrapALB); ue != nil {
				res, err = nil, ue
			} else {
				res.ErrorScanned = true
			}
		}
		// once* return *Error or nil; errors.As would cost an allocation.
		le, _ := err.(*Error)
		if le != nil && le.Kind == KindTimeout && tryDeadline.Before(deadline) && time.Now().Before(deadline) {
			le.Message = "per-try timeout passed before Lambda answered"
			le.perTry = true
		}
		if le == nil || !rp.retries(le, t.Async) {
			if res != nil {
				res.Attempts = attempt
			}
			if le != nil {
				le.Attempts = attempt
			}
			return res, err
		}
		le.Attempts = attempt
		if attempt == 1 {
			retryEnd = deadline
			if rp.Budget > 0 && time.Now().Add(rp.Budget).Before(retryEnd) {
				retryEnd = time.Now().Add(rp.Budget)
			}
		}
		// Full jitter (AWS Architecture Blog, and Envoy's retry back-off):
		// sleep uniformly in [0, backoff), doubling up to the maximum.
		sleep := time.Duration(rand.Int64N(int64(backoff)))
		if attempt > rp.NumRetries || time.Until(retryEnd) < sleep+10*time.Millisecond {
			if le.Kind == KindThrottled && le.RetryAfter == 0 {
				le.RetryAfter = time.Second
			}
			return nil, le
		}
		timer := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, le
		case <-timer.C:
		}
		if backoff = 2 * backoff; backoff > rp.MaxInterval {
			backoff = rp.MaxInterval
		}
		// Refresh credentials: a long throttle may outlive them.
		if c, err := t.Credentials.Retrieve(ctx); err == nil {
			creds = c
		}
	}
}

// onceH1 sends one Invoke with the invoker's own client. A kept-alive
// connection that fails before the request is written is replaced (twice
// at most); once it is written the outcome is reported, never retried,
// since the function may have run.
func (iv *Invoker) onceH1(ctx context.Context, t *Target, payload []byte, payloadHash []byte, creds aws.Credentials, extra []Header, deadline time.Time) (*Result, error) {
	if err := checkCredentials(creds); err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		pc := iv.h1.get(t.conn, time.Now())
		reused := pc != nil
		if pc == nil {
			var err error
			if pc, err = iv.h1.dial(ctx, t.conn, deadline); err != nil {
				return nil, transportError(ctx, deadline, err)
			}
		}
		pc.setDeadline(deadline)
		var stop func() bool
		if ctx.Done() != nil {
			stop = context.AfterFunc(ctx, pc.cancel)
		}
		buf := iv.appendRequest(pc.buf[:0], t, payload, payloadHash, creds, extra)
		var err error
		if len(payload) <= inlineBody {
			buf = append(buf, payload...)
			_, err = pc.Write(buf)
		} else {
			bufs := net.Buffers{buf, payload}
			_, err = bufs.WriteTo(pc.Conn)
		}
		pc.buf = buf[:0]
		if err != nil {
			if stop != nil {
				stop()
			}
			pc.Close()
			if reused && try < 2 && ctx.Err() == nil {
				continue
			}
			return nil, transportError(ctx, deadline, err)
		}
		m, body, err := pc.readResponse()
		aborted := stop != nil && !stop()
		if err != nil || m.close || aborted {
			pc.Close()
		} else {
			iv.h1.put(pc, time.Now())
		}
		if err != nil {
			return nil, sent(readError(ctx, deadline, m.status, err))
		}
		res, err := classify(&m, body)
		return res, sent(err)
	}
}

// sent marks a failure that came after the whole request was written
// (an answer included): the function may have run. Nil stays nil.
func sent(err error) error {
	if le, ok := err.(*Error); ok && le != nil {
		le.sent = true
	}
	return err
}

// appendRequest appends the request head of one Invoke to dst: request
// line, Host, Content-Length, the invocation type, the extra headers, and
// the SigV4 headers.
func (iv *Invoker) appendRequest(dst []byte, t *Target, payload []byte, payloadHash []byte, creds aws.Credentials, extra []Header) []byte {
	dst = append(dst, t.reqHead...)
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, "\r\n"...)
	amzDate := iv.signer.date(iv.now())
	var signed [16]hdr
	hs := signed[:0]
	hs = append(hs, hdr{name: "X-Amz-Invocation-Type", one: t.invocationType()}, hdr{name: "X-Amz-Date", one: amzDate})
	if creds.SessionToken != "" {
		hs = append(hs, hdr{name: "X-Amz-Security-Token", one: creds.SessionToken})
	}
	for _, h := range extra {
		// Only the handler sets these; a value that cannot be sent
		// (a control character) is dropped rather than fail the call.
		if !validHeaderValue(h.Value) {
			continue
		}
		if ignoredHeader(h.Name) {
			dst = appendHeader(dst, h.Name, h.Value)
			continue
		}
		hs = append(hs, hdr{name: h.Name, one: h.Value})
	}
	for _, h := range hs {
		dst = appendHeader(dst, h.name, h.one)
	}
	dst = append(dst, "Authorization: "...)
	dst = iv.signer.appendAuthorization(dst, http.MethodPost, t, t.host, int64(len(payload)), hs, creds.AccessKeyID, creds.SecretAccessKey, amzDate, payloadHash)
	return append(dst, "\r\n\r\n"...)
}

func appendHeader(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// newInvokeRequest is the POST of payload to u (a copy) that net/http's
// client sends, for Invoke and InvokeWithResponseStream alike.
func newInvokeRequest(ctx context.Context, u *url.URL, host string, payload []byte) *http.Request {
	cu := *u
	req := &http.Request{
		Method:        http.MethodPost,
		URL:           &cu,
		Host:          host,
		Header:        make(http.Header, 8),
		Body:          bodyOf(payload),
		ContentLength: int64(len(payload)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil },
		Proto:         "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
	return req.WithContext(ctx)
}

// onceNetHTTP sends one Invoke with net/http's client.
func (iv *Invoker) onceNetHTTP(ctx context.Context, t *Target, payload []byte, payloadHash []byte, creds aws.Credentials, extra []Header, deadline time.Time) (*Result, error) {
	if err := checkCredentials(creds); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	req := newInvokeRequest(ctx, t.invokeURL, t.host, payload)
	req.Header["X-Amz-Invocation-Type"] = []string{t.invocationType()}
	req.Header["User-Agent"] = []string{userAgent}
	for _, h := range extra {
		if validHeaderValue(h.Value) {
			req.Header[h.Name] = []string{h.Value}
		}
	}
	iv.signer.sign(req, t, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, string(payloadHash), iv.now())
	resp, err := iv.client.Do(req)
	if err != nil {
		// net/http does not say whether the request was written: only a
		// failed dial proves it was not.
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, transportError(ctx, deadline, err)
		}
		return nil, sent(transportError(ctx, deadline, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 {
		// net/http returns a 101 (other 1xx are skipped); this client
		// never asks to switch protocols.
		return nil, sent(&Error{Kind: KindUnreachable, Status: resp.StatusCode, Message: "malformed HTTP response from Lambda: unexpected " + resp.Status})
	}
	body, err := readBody(resp.Body, resp.ContentLength)
	if (err == nil || err == errTruncated) && ctx.Err() != nil {
		// Over TLS, net/http can end a body with EOF when the deadline
		// closes the connection: what arrived by then is not the whole
		// answer, and the deadline, not the endpoint, cut it.
		err = ctx.Err()
	}
	if err != nil {
		return nil, sent(readError(ctx, deadline, resp.StatusCode, err))
	}
	m := respMeta{
		status:          resp.StatusCode,
		contentLength:   resp.ContentLength,
		contentType:     resp.Header.Get("Content-Type"),
		contentEncoding: resp.Header.Get("Content-Encoding"),
		requestID:       resp.Header.Get("X-Amzn-Requestid"),
		execVersion:     resp.Header.Get("X-Amz-Executed-Version"),
		functionError:   resp.Header.Get("X-Amz-Function-Error"),
		errorType:       resp.Header.Get("X-Amzn-Errortype"),
		retryAfter:      resp.Header.Get("Retry-After"),
	}
	res, err := classify(&m, body)
	return res, sent(err)
}

// classify turns Lambda's answer into a Result or an Error.
func classify(m *respMeta, body []byte) (*Result, error) {
	body, err := decodeContent(m.contentEncoding, body)
	if err != nil {
		return nil, err
	}
	if m.functionError != "" && m.status < 300 {
		return nil, functionError(m, body)
	}
	if m.status >= 300 {
		return nil, apiError(m, body)
	}
	return &Result{
		Status:          m.status,
		ContentType:     m.contentType,
		Body:            body,
		RequestID:       m.requestID,
		ExecutedVersion: m.execVersion,
	}, nil
}

// readError classifies a failure to read Lambda's answer (status is 0
// when not even the status line arrived).
func readError(ctx context.Context, deadline time.Time, status int, err error) error {
	switch {
	case errors.Is(err, errTooLarge):
		return &Error{Kind: KindResponseTooLarge, Status: status, Message: "function response larger than 6 MB"}
	case errors.Is(err, errTruncated):
		return &Error{Kind: KindUnreachable, Status: status, Message: "truncated response from Lambda"}
	}
	return transportError(ctx, deadline, err)
}

func transportError(ctx context.Context, deadline time.Time, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return &Error{Kind: KindCanceled, Err: err}
	case errors.Is(ctx.Err(), context.DeadlineExceeded), !time.Now().Before(deadline):
		return &Error{Kind: KindTimeout, Message: "route timeout passed before Lambda answered", Err: err}
	}
	return &Error{Kind: KindUnreachable, Err: err}
}

func functionError(m *respMeta, body []byte) error {
	fe := m.functionError
	var payload struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &payload)
	kind := KindFunction
	if isTimeout(payload.ErrorType, payload.ErrorMessage) {
		kind = KindFunctionTimeout
	}
	typ := payload.ErrorType
	if typ == "" {
		typ = fe
	}
	return &Error{Kind: kind, Status: m.status, Type: typ, FunctionError: fe, Message: truncate(payload.ErrorMessage, 256), Body: body}
}

func apiError(m *respMeta, body []byte) error {
	var payload struct {
		Type       string `json:"Type"`
		Message    string `json:"Message"`
		MessageLC  string `json:"message"`
		Reason     string `json:"Reason"`
		RetryAfter string `json:"retryAfterSeconds"`
	}
	_ = json.Unmarshal(body, &payload)
	typ := m.errorType
	if i := strings.IndexByte(typ, ':'); i >= 0 {
		typ = typ[:i]
	}
	msg := payload.Message
	if msg == "" {
		msg = payload.MessageLC
	}
	if payload.Reason != "" {
		msg = strings.TrimSpace(msg + " (" + payload.Reason + ")")
	}
	e := &Error{Status: m.status, Type: typ, Message: truncate(msg, 256)}
	switch m.status {
	case http.StatusTooManyRequests:
		e.Kind = KindThrottled
		if s, err := strconv.Atoi(m.retryAfter); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		} else if s, err := strconv.Atoi(payload.RetryAfter); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
	case http.StatusNotFound:
		e.Kind = KindNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Kind = KindAuth
	case http.StatusRequestEntityTooLarge:
		e.Kind = KindTooLarge
	case http.StatusBadRequest:
		e.Kind = KindBadRequest
	default:
		e.Kind = KindUpstream
	}
	return e
}

// bodyOf returns http.NoBody for an empty payload so that the request
// carries "Content-Length: 0", as the AWS SDKs send, not a chunked body.
func bodyOf(p []byte) io.ReadCloser {
	if len(p) == 0 {
		return http.NoBody
	}
	return io.NopCloser(bytes.NewReader(p))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
