package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Streaming invocations (InvokeWithResponseStream) go through net/http's
// client whatever Options.Client says: the invoker's own client (h1.go)
// reads a whole answer into one buffer on the caller's goroutine, while a
// stream is read event by event for as long as the function writes, and
// its cancellation (client gone, idle or total limit) must interrupt a
// read in progress, which net/http does through the request's context.

// Defaults of StreamLimits: API Gateway's for a streamed answer, "the
// maximum duration for response streaming is 15 minutes" and an idle
// timeout of "5 minutes" for regional endpoints (APIGW guide,
// response-transfer-mode.md).
const (
	DefaultStreamIdleTimeout = 5 * time.Minute
	DefaultStreamMaxDuration = 15 * time.Minute
)

// maxStreamEvent bounds one event of the stream: Lambda sends the
// function's output in small chunks; a larger event is refused rather than
// buffered (the decoder holds one event in memory).
const maxStreamEvent = 16 << 20

// eventStreamType is the body's own content type; when an endpoint sends it
// as Content-Type, the function's content type is unknown.
const eventStreamType = "application/vnd.amazon.eventstream"

// StreamLimits bound a streaming invocation once it has started.
type StreamLimits struct {
	// FirstByte bounds the wait for Lambda's answer to begin (the route's
	// timeout). Zero or less: DefaultTimeout.
	FirstByte time.Duration
	// Idle bounds the wait between two events. Zero or less:
	// DefaultStreamIdleTimeout.
	Idle time.Duration
	// Max bounds the whole invocation. Zero or less:
	// DefaultStreamMaxDuration (Lambda's longest function timeout).
	Max time.Duration
}

// Stream is the answer of a streaming invocation, read chunk by chunk.
type Stream struct {
	// ContentType is the function's content type for the stream
	// (application/octet-stream when it set none).
	ContentType     string
	RequestID       string
	ExecutedVersion string

	resp   *http.Response
	body   limitedReader
	dec    *eventstream.Decoder
	buf    []byte
	cancel context.CancelCauseFunc
	// first bounds the wait for the first event (the route's timeout),
	// idle the wait for each later one.
	first, idle *time.Timer
	setIdle     func()
	limits      StreamLimits
	ctx         context.Context
	done        bool
}

// Stream failures that are the gateway's limits, not Lambda's.
var (
	errStreamIdle  = errors.New("no chunk from the function within the stream idle timeout")
	errStreamMax   = errors.New("stream longer than its maximum duration")
	errFirstByte   = errors.New("route timeout passed before Lambda began its answer")
	errStreamEvent = errors.New("event stream message larger than " + strconv.Itoa(maxStreamEvent>>20) + " MiB")
)

// InvokeStream calls the function with InvokeWithResponseStream and returns
// once Lambda has begun its answer. Errors until then are classified as
// Invoke's; the caller then reads the chunks with Next and must Close the
// stream. ctx's cancellation ends the invocation at any point.
func (iv *Invoker) InvokeStream(ctx context.Context, t *Target, payload []byte, extra []Header, lim StreamLimits) (*Stream, error) {
	if len(payload) > MaxSyncPayload {
		return nil, &Error{Kind: KindTooLarge, Message: "request payload is " + strconv.Itoa(len(payload)) + " bytes; the limit for this invocation type is " + strconv.Itoa(MaxSyncPayload)}
	}
	if lim.FirstByte <= 0 {
		lim.FirstByte = DefaultTimeout
	}
	if lim.Idle <= 0 {
		lim.Idle = DefaultStreamIdleTimeout
	}
	if lim.Max <= 0 {
		lim.Max = DefaultStreamMaxDuration
	}
	creds, err := t.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, &Error{Kind: KindNoCredentials, Message: "no credentials present for AWS upstream", Err: err}
	}
	if err := checkCredentials(creds); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(payload)
	start := time.Now()
	sctx, cancel := context.WithCancelCause(ctx)
	sctx, cancelMax := context.WithDeadlineCause(sctx, start.Add(lim.Max), errStreamMax)
	cancelAll := func(cause error) { cancel(cause); cancelMax() }
	req := newInvokeRequest(sctx, t.streamURL, t.host, payload)
	req.Header["X-Amz-Invocation-Type"] = []string{"RequestResponse"}
	req.Header["User-Agent"] = []string{userAgent}
	for _, h := range extra {
		if validHeaderValue(h.Value) {
			req.Header[h.Name] = []string{h.Value}
		}
	}
	st := *t
	st.canonURI = t.streamCanonURI
	iv.signer.sign(req, &st, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, hex.EncodeToString(sum[:]), iv.now())
	// The route's timeout runs until the first event, not only until the
	// answer's head: an endpoint may send its head before the function
	// writes anything.
	first := time.AfterFunc(lim.FirstByte, func() { cancel(errFirstByte) })
	resp, err := iv.streamClient.Do(req)
	if err != nil {
		first.Stop()
		err = streamError(sctx, err)
		cancelAll(nil)
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		first.Stop()
		defer cancelAll(nil)
		defer resp.Body.Close()
		body, rerr := readBody(resp.Body, resp.ContentLength)
		if rerr != nil && !errors.Is(rerr, errTooLarge) {
			return nil, streamError(sctx, rerr)
		}
		m := respMeta{
			status:        resp.StatusCode,
			contentType:   resp.Header.Get("Content-Type"),
			requestID:     resp.Header.Get("X-Amzn-Requestid"),
			errorType:     resp.Header.Get("X-Amzn-Errortype"),
			retryAfter:    resp.Header.Get("Retry-After"),
			functionError: resp.Header.Get("X-Amz-Function-Error"),
		}
		if _, err := classify(&m, body); err != nil {
			return nil, err
		}
		return nil, &Error{Kind: KindUpstream, Status: resp.StatusCode, Message: "unexpected answer to InvokeWithResponseStream: " + resp.Status}
	}
	s := &Stream{
		ContentType:     resp.Header.Get("Content-Type"),
		RequestID:       resp.Header.Get("X-Amzn-Requestid"),
		ExecutedVersion: resp.Header.Get("X-Amz-Executed-Version"),
		resp:            resp,
		body:            limitedReader{r: resp.Body},
		dec:             eventstream.NewDecoder(),
		cancel:          cancelAll,
		limits:          lim,
		ctx:             sctx,
		first:           first,
		setIdle:         func() { cancel(errStreamIdle) },
	}
	if s.ContentType == "" || s.ContentType == eventStreamType {
		s.ContentType = "application/octet-stream"
	}
	return s, nil
}

// Next returns the next chunk of the function's output, valid until the
// next call. At the end of a successful stream it returns io.EOF; a
// function error (InvokeComplete with an ErrorCode) is a *Error of
// KindFunction or KindFunctionTimeout; a stream that breaks, stalls past
// the idle timeout or passes its maximum duration is a *Error too.
func (s *Stream) Next() ([]byte, error) {
	for {
		if s.done {
			return nil, io.EOF
		}
		s.body.n = maxStreamEvent
		m, err := s.dec.Decode(&s.body, s.buf)
		if err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				if cerr := context.Cause(s.ctx); cerr != nil {
					return nil, streamError(s.ctx, cerr)
				}
				return nil, &Error{Kind: KindUnreachable, Message: "the response stream ended without InvokeComplete"}
			}
			if errors.Is(err, errStreamEvent) {
				return nil, &Error{Kind: KindUpstream, Message: err.Error()}
			}
			return nil, streamError(s.ctx, err)
		}
		s.eventArrived()
		switch headerString(m.Headers, ":message-type") {
		case "event":
		case "exception", "error":
			typ := headerString(m.Headers, ":exception-type")
			if typ == "" {
				typ = headerString(m.Headers, ":error-code")
			}
			msg := headerString(m.Headers, ":error-message")
			if msg == "" {
				msg = string(m.Payload)
			}
			s.done = true
			return nil, &Error{Kind: KindUpstream, Status: http.StatusOK, Type: typ, Message: truncate(msg, 256)}
		default:
			continue
		}
		switch headerString(m.Headers, ":event-type") {
		case "PayloadChunk":
			if len(m.Payload) == 0 {
				continue
			}
			s.buf = m.Payload[:0]
			return m.Payload, nil
		case "InvokeComplete":
			s.done = true
			s.readEnd()
			var c struct {
				ErrorCode    string `json:"ErrorCode"`
				ErrorDetails string `json:"ErrorDetails"`
			}
			if len(m.Payload) > 0 {
				_ = json.Unmarshal(m.Payload, &c)
			}
			if c.ErrorCode == "" {
				return nil, io.EOF
			}
			kind := KindFunction
			if isTimeout(c.ErrorCode, c.ErrorDetails) {
				kind = KindFunctionTimeout
			}
			// Body is the error object a buffered Invoke would have
			// returned, for routes that pass it on.
			body, _ := json.Marshal(map[string]string{"errorType": c.ErrorCode, "errorMessage": c.ErrorDetails})
			return nil, &Error{Kind: kind, Status: http.StatusOK, Type: c.ErrorCode, FunctionError: "Unhandled", Message: truncate(c.ErrorDetails, 256), Body: body}
		}
	}
}

// maxTrailing and trailingWait bound what is read after InvokeComplete.
const (
	maxTrailing  = 4 << 10
	trailingWait = time.Second
)

// readEnd reads the answer to its end after InvokeComplete, so that its
// connection goes back to the pool: net/http drops a connection whose body
// is closed unread. An endpoint that sends more, or does not end the body
// within trailingWait, loses its connection instead.
func (s *Stream) readEnd() {
	if s.resp == nil {
		return
	}
	t := time.AfterFunc(trailingWait, func() { s.cancel(errStreamIdle) })
	_, _ = io.CopyN(io.Discard, s.resp.Body, maxTrailing)
	t.Stop()
}

// eventArrived ends the first-byte wait and restarts the idle one.
func (s *Stream) eventArrived() {
	if s.first != nil {
		s.first.Stop()
		s.first = nil
	}
	if s.idle == nil {
		s.idle = time.AfterFunc(s.limits.Idle, s.setIdle)
	} else {
		s.idle.Reset(s.limits.Idle)
	}
}

// Close ends the invocation's request; reading a stream to its end and
// closing it lets the connection be reused.
func (s *Stream) Close() {
	if s.first != nil {
		s.first.Stop()
	}
	if s.idle != nil {
		s.idle.Stop()
	}
	if !s.done {
		s.cancel(context.Canceled)
	}
	s.resp.Body.Close()
	s.cancel(nil)
}

func headerString(h eventstream.Headers, name string) string {
	if v, ok := h.Get(name).(eventstream.StringValue); ok {
		return string(v)
	}
	return ""
}

// streamError classifies a failure of a streaming invocation by its cause:
// the gateway's own limits are timeouts, the caller's cancellation is
// KindCanceled, anything else is a broken stream.
func streamError(ctx context.Context, err error) error {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errFirstByte):
		return &Error{Kind: KindTimeout, Message: errFirstByte.Error(), Err: err}
	case errors.Is(cause, errStreamIdle), errors.Is(cause, errStreamMax):
		return &Error{Kind: KindTimeout, Message: cause.Error(), Err: err}
	case errors.Is(cause, context.DeadlineExceeded):
		return &Error{Kind: KindTimeout, Message: "deadline passed during the response stream", Err: err}
	case errors.Is(cause, context.Canceled):
		return &Error{Kind: KindCanceled, Err: err}
	}
	return &Error{Kind: KindUnreachable, Err: err}
}

// limitedReader fails once more than n bytes are read: one event's bound.
type limitedReader struct {
	r io.Reader
	n int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errStreamEvent
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= k
	return k, err
}
