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
}

// Invoker sends Invoke requests. It is safe for concurrent use.
type Invoker struct {
	client *http.Client
	// signer signs with SigV4 like the SDK's signer, byte for byte; its
	// key cache includes the secret, so a rotated secret that keeps its key
	// id takes effect at once.
	signer sigv4
	// now is replaceable in tests.
	now func() time.Time
}

// Options configures an Invoker.
type Options struct {
	// MaxIdleConnsPerHost bounds kept-alive connections per Lambda
	// endpoint. Default 256.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes idle connections. Default 90s (Lambda's
	// front end closes them after about 2 minutes).
	IdleConnTimeout time.Duration
	// TLSConfig for https endpoints. Default: system roots, TLS 1.2+.
	TLSConfig *tls.Config
}

// NewInvoker returns an Invoker with a pooled HTTP transport.
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
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &Invoker{
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		now:    time.Now,
	}
}

// CloseIdle closes idle pooled connections.
func (iv *Invoker) CloseIdle() { iv.client.CloseIdleConnections() }

// Invoke calls the function with payload. Throttling (429) is retried with
// jittered exponential backoff until ctx's deadline. Extra headers (trace
// context, original routing) are added; nothing else from the client is
// sent, so a client cannot choose the invocation or log type.
func (iv *Invoker) Invoke(ctx context.Context, t *Target, payload []byte, extra http.Header) (*Result, error) {
	limit := MaxSyncPayload
	if t.Async {
		limit = MaxAsyncPayload
	}
	if len(payload) > limit {
		return nil, &Error{Kind: KindTooLarge, Message: "request payload is " + strconv.Itoa(len(payload)) + " bytes; the limit for this invocation type is " + strconv.Itoa(limit)}
	}
	creds, err := t.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, &Error{Kind: KindNoCredentials, Message: "no credentials present for AWS upstream", Err: err}
	}
	sum := sha256.Sum256(payload)
	payloadHash := hex.EncodeToString(sum[:])

	backoff := 25 * time.Millisecond
	for attempt := 1; ; attempt++ {
		res, err := iv.once(ctx, t, payload, payloadHash, creds, extra)
		var le *Error
		if err == nil || !errors.As(err, &le) || le.Kind != KindThrottled {
			if res != nil {
				res.Attempts = attempt
			}
			if le != nil {
				le.Attempts = attempt
			}
			return res, err
		}
		le.Attempts = attempt
		// Full jitter (AWS Architecture Blog): sleep uniformly in
		// [0, backoff), doubling up to 1s.
		sleep := time.Duration(rand.Int64N(int64(backoff)))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < sleep+10*time.Millisecond {
			if le.RetryAfter == 0 {
				le.RetryAfter = time.Second
			}
			return nil, le
		}
		select {
		case <-ctx.Done():
			return nil, le
		case <-time.After(sleep):
		}
		if backoff < time.Second {
			backoff *= 2
		}
		// Refresh credentials: a long throttle may outlive them.
		if c, err := t.Credentials.Retrieve(ctx); err == nil {
			creds = c
		}
	}
}

func (iv *Invoker) once(ctx context.Context, t *Target, payload []byte, payloadHash string, creds aws.Credentials, extra http.Header) (*Result, error) {
	u := *t.invokeURL
	req := &http.Request{
		Method:        http.MethodPost,
		URL:           &u,
		Host:          t.host,
		Header:        make(http.Header, 8),
		Body:          bodyOf(payload),
		ContentLength: int64(len(payload)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil },
		Proto:         "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
	req = req.WithContext(ctx)
	if t.Async {
		req.Header["X-Amz-Invocation-Type"] = invocationEvent
	} else {
		req.Header["X-Amz-Invocation-Type"] = invocationSync
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	iv.signer.sign(req, t, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, payloadHash, iv.now())
	resp, err := iv.client.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	body, err := readResponse(resp)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if len(body) > MaxSyncPayload+32<<10 {
		return nil, &Error{Kind: KindResponseTooLarge, Status: resp.StatusCode, Message: "function response larger than 6 MB"}
	}
	if resp.ContentLength > 0 && int64(len(body)) < resp.ContentLength {
		return nil, &Error{Kind: KindUnreachable, Status: resp.StatusCode, Message: "truncated response from Lambda"}
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" && resp.StatusCode < 300 {
		return nil, functionError(fe, body, resp)
	}
	if resp.StatusCode >= 300 {
		return nil, apiError(resp, body)
	}
	return &Result{
		Status:          resp.StatusCode,
		ContentType:     resp.Header.Get("Content-Type"),
		Body:            body,
		RequestID:       resp.Header.Get("X-Amzn-Requestid"),
		ExecutedVersion: resp.Header.Get("X-Amz-Executed-Version"),
	}, nil
}

// Header values shared by every request; nothing modifies them, and not
// allocating them per request is measurable (BenchmarkGatewayPassthrough).
var (
	invocationEvent = []string{"Event"}
	invocationSync  = []string{"RequestResponse"}
)

// readResponse reads Lambda's answer: in one allocation of the announced
// size when Content-Length is given (Lambda always sends it), else up to
// the payload limit plus headroom.
func readResponse(resp *http.Response) ([]byte, error) {
	const limit = MaxSyncPayload + 64<<10
	if n := resp.ContentLength; n >= 0 && n <= limit {
		body := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

func transportError(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{Kind: KindTimeout, Message: "route timeout passed before Lambda answered", Err: err}
	case errors.Is(ctx.Err(), context.Canceled):
		return &Error{Kind: KindCanceled, Err: err}
	}
	return &Error{Kind: KindUnreachable, Err: err}
}

func functionError(fe string, body []byte, resp *http.Response) error {
	var payload struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &payload)
	kind := KindFunction
	if payload.ErrorType == "Sandbox.Timedout" || strings.Contains(payload.ErrorMessage, "Task timed out after") {
		kind = KindFunctionTimeout
	}
	typ := payload.ErrorType
	if typ == "" {
		typ = fe
	}
	return &Error{Kind: kind, Status: resp.StatusCode, Type: typ, FunctionError: fe, Message: truncate(payload.ErrorMessage, 256), Body: body}
}

func apiError(resp *http.Response, body []byte) error {
	var payload struct {
		Type       string `json:"Type"`
		Message    string `json:"Message"`
		MessageLC  string `json:"message"`
		Reason     string `json:"Reason"`
		RetryAfter string `json:"retryAfterSeconds"`
	}
	_ = json.Unmarshal(body, &payload)
	typ := resp.Header.Get("X-Amzn-Errortype")
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
	e := &Error{Status: resp.StatusCode, Type: typ, Message: truncate(msg, 256)}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		e.Kind = KindThrottled
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
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
