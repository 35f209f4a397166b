// Package gateway is the data plane: the http.Handler that routes each
// request on the served snapshot and runs its route's compiled pipeline.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/metrics"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/transform"
	"go.opentelemetry.io/otel/trace"
)

func init() {
	// Request ids on every request: a pooled reader avoids one getrandom
	// syscall per id.
	uuid.EnableRandPool()
}

// Gateway is the data-plane http.Handler.
type Gateway struct {
	holder  *snapshot.Holder
	invoker *lambda.Invoker
	log     *slog.Logger
	// The fields below are set before the gateway serves, never after.

	// Metrics gets one observation per request (nil: none).
	Metrics *metrics.Metrics
	// AccessLog gets one record per request (see observe.go); nil: none,
	// and a failed request is logged on the application log instead.
	AccessLog *slog.Logger
	// OnWarningChange is called when a route's runtime warning appears or
	// clears (the server refreshes statuses).
	OnWarningChange func()
	warnings        sync.Map // routeKey -> *routeWarning
	nWarnings       atomic.Int64
	// Tracer records a span per routed request (nil: none).
	Tracer trace.Tracer
	// Discard bounds reading an unwanted request body (see discard.go);
	// the zero value discards nothing.
	Discard BodyDiscard
	// Stream bounds streamed answers (see stream.go); zero values take
	// their defaults.
	Stream StreamOptions
}

func routeKey(t *lambda.Target) string { return t.VirtualService + "\x00" + t.Route }

// routeWarning is a route's runtime warning and the function it is about.
type routeWarning struct {
	function, qualifier string
	msg                 string
}

// RouteWarning returns the runtime warning of a route ("" when none): Lambda
// answered 404 for its function, so it is probably misconfigured.
func (g *Gateway) RouteWarning(vsKey, route string) string {
	if g.nWarnings.Load() == 0 {
		return ""
	}
	if v, ok := g.warnings.Load(vsKey + "\x00" + route); ok {
		return v.(*routeWarning).msg
	}
	return ""
}

func (g *Gateway) noteResult(t *lambda.Target, err error) {
	if le := lambdaError(err); le != nil && le.Kind == lambda.KindNotFound {
		w := &routeWarning{t.FunctionName, t.Qualifier, fmt.Sprintf("Lambda answered 404 for function %q qualifier %q: %s", t.FunctionName, t.Qualifier, le.Message)}
		if prev, loaded := g.warnings.Swap(routeKey(t), w); !loaded || *prev.(*routeWarning) != *w {
			if !loaded {
				g.nWarnings.Add(1)
			}
			if g.OnWarningChange != nil {
				g.OnWarningChange()
			}
		}
		return
	}
	if err == nil && g.nWarnings.Load() > 0 {
		// A route with weighted destinations shares its key between
		// functions: only a success of the function the warning names
		// clears it, so that a healthy destination does not hide a
		// missing one on every other request.
		v, ok := g.warnings.Load(routeKey(t))
		if !ok || v.(*routeWarning).function != t.FunctionName || v.(*routeWarning).qualifier != t.Qualifier {
			return
		}
		if g.warnings.CompareAndDelete(routeKey(t), v) {
			g.nWarnings.Add(-1)
			if g.OnWarningChange != nil {
				g.OnWarningChange()
			}
		}
	}
}

// Outcome describes one handled request for logs and metrics.
type Outcome struct {
	Method, Path      string
	Host              string
	Target            *lambda.Target
	Status            int
	Code              string // error code, "" on success
	Err               error
	Start             time.Time
	Total, Lambda     time.Duration
	RequestID         string
	LambdaRequestID   string
	BytesIn, BytesOut int
	// Invoked says Lambda was called; Attempts counts the Invoke calls
	// (more than one after throttling) and ErrorKind names the Lambda
	// failure ("" on success). See noteInvoke.
	Invoked   bool
	Attempts  int
	ErrorKind string
	// Answered is the route when the gateway answered without Lambda: a
	// direct response or a redirect (Target is then nil), or a request
	// filter that wrote the answer itself (a CORS preflight).
	Answered *pipeline.Route
	// TraceID is the W3C trace id sent to Lambda (see traceHeaders).
	TraceID string
	// Remote is the client's address.
	Remote string

	tracer trace.Tracer // nil: no spans recorded
	span   trace.Span   // the request's span, when recorded
	// x is the state the route's filters share with its action.
	x pipeline.Exchange
	// FirstByte is the time from the request to the head of a streamed
	// answer; StreamCut says the stream ended early (cut, or abandoned by
	// the client).
	FirstByte time.Duration
	StreamCut bool
}

// New returns the data-plane handler.
func New(h *snapshot.Holder, iv *lambda.Invoker, log *slog.Logger) *Gateway {
	return &Gateway{holder: h, invoker: iv, log: log}
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := &Outcome{Method: r.Method, Path: r.URL.Path, Host: r.Host, Start: time.Now(), RequestID: uuid.NewString(), Remote: r.RemoteAddr, tracer: g.Tracer}
	err := g.serve(w, r, o)
	var rc *http.ResponseController
	if err != nil {
		o.Err = err
		rc = g.prepareDiscard(w, r, o)
		o.Status, o.Code = httperr.Write(w, err, o.RequestID)
	}
	o.Total = time.Since(o.Start)
	g.observe(o) // logs the failure once, in the access log or with logError
	// After the answer is logged: draining a large unread body can take
	// seconds that are not the request's.
	if rc != nil {
		g.discardBody(rc, r)
	}
}

func (g *Gateway) logError(o *Outcome) {
	attrs := []any{"request_id", o.RequestID, "method", o.Method, "path", o.Path, "status", o.Status, "code", o.Code, "error", o.Err.Error()}
	if t := o.Target; t != nil {
		attrs = append(attrs, "virtual_service", t.VirtualService, "route", t.Route, "function", t.FunctionName, "qualifier", t.Qualifier)
	}
	lvl := slog.LevelWarn
	switch {
	case errors.Is(o.Err, httperr.ErrNoRoute):
		lvl = slog.LevelDebug // scanners and typos: the client's business
	case o.Status < 500 || o.Status == httperr.StatusClientClosed:
		lvl = slog.LevelInfo
	}
	g.log.Log(context.Background(), lvl, "request failed", attrs...)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, o *Outcome) error {
	if err := frontDoor(w, r); err != nil {
		return err
	}
	snap := g.holder.Load()
	if snap == nil {
		return httperr.ErrNoConfig
	}
	table := snap.HTTP
	scheme := "http"
	if r.TLS != nil {
		table, scheme = snap.HTTPS, "https"
	}
	vh := table.Host(r.Host)
	if vh == nil {
		return httperr.ErrNoRoute
	}
	rawPath := r.URL.EscapedPath()
	path := router.NormalizePath(rawPath)
	rt, m := vh.Match(r, path)
	if rt == nil {
		return httperr.ErrNoRoute
	}
	p := rt.Target.(*pipeline.Route)
	t := p.Invoke
	if t == nil && p.Weighted != nil {
		// The destination taken: logs and metrics name it.
		t = p.Weighted.Pick()
	}
	o.Target = t
	o.x.Arrived = o.Start
	if t == nil {
		// Named in logs and metrics even when a filter refuses it.
		o.Answered = p
	}
	o.x.Invoker = g.invoker
	o.x.Matched, o.x.Path = m, path
	for _, f := range p.Request {
		if err := f.FilterRequest(w, r, &o.x); err != nil {
			if err == pipeline.ErrAnswered {
				o.Answered, o.Status = p, o.x.Status
				return nil
			}
			return err
		}
	}
	if t == nil {
		return answerLocally(w, r, p, o, scheme, path, m)
	}

	limit, tooBig := int64(lambda.MaxSyncPayload), tooLarge
	if t.Async {
		limit = lambda.MaxAsyncPayload
	}
	if t.ALBLimits && limit > lambda.MaxALBPayload {
		limit, tooBig = lambda.MaxALBPayload, albRequestTooLarge
	}
	body, err := readBody(r, limit, tooBig)
	o.BytesIn = len(body)
	if err != nil {
		return err
	}
	payload, err := buildPayload(t, p.Rewrite, r, body, scheme, rawPath, path, m, o)
	if err != nil {
		return err
	}
	if t.Stream {
		return g.serveStream(w, r, p, t, payload, o)
	}
	var extra [5]lambda.Header
	lstart := time.Now()
	// The invoker bounds the call by the route's timeout (set by its
	// filter) itself: no context.WithTimeout (and its timer) per request.
	res, err := g.invoker.InvokeWithin(r.Context(), t, o.x.Timeout, payload, extraHeaders(extra[:0], t, r, o))
	if err == nil && !t.Async && !res.ErrorScanned {
		// An error object is recognised only where it cannot be a
		// response the unwrapper accepts (see lambda.UnflaggedError).
		errorObject := t.Unwrap == lambda.UnwrapAPIGatewayV1 || t.Unwrap == lambda.UnwrapALB
		if ue := lambda.UnflaggedError(res.Body, errorObject); ue != nil {
			ue.Attempts = res.Attempts
			o.LambdaRequestID = res.RequestID
			res, err = nil, ue
		}
	}
	o.Lambda = time.Since(lstart)
	noteInvoke(o, res, err)
	g.noteResult(t, err)
	if err != nil {
		if le := lambdaError(err); t.Unwrap == lambda.UnwrapNone && le != nil && (le.Kind == lambda.KindFunction || le.Kind == lambda.KindFunctionTimeout) && len(le.Body) > 0 {
			g.writeFunctionError(w, o, err, le)
			return nil
		}
		return err
	}
	o.LambdaRequestID = res.RequestID
	if t.ALBLimits && len(res.Body) > lambda.MaxALBPayload {
		return albResponseTooLarge()
	}
	switch {
	case t.Async:
		w.Header()["Content-Length"] = []string{"0"}
		return writeHead(w, r, p, o, http.StatusAccepted)
	case t.Unwrap == lambda.UnwrapNone:
		return writePassthrough(w, r, p, res, o)
	}
	resp, err := unwrap(t, res.Body)
	if err != nil {
		return err
	}
	return writeUnwrapped(w, r, p, resp, o)
}

// writeHead runs the route's response filters on the answer about to be
// sent, then writes its head. After a filter's error nothing is written and
// the headers set for the answer are dropped (the front door's Connection
// is kept), so the error's answer carries none of them.
func writeHead(w http.ResponseWriter, r *http.Request, p *pipeline.Route, o *Outcome, status int) error {
	for _, f := range p.Response {
		var err error
		if status, err = f.FilterResponse(r, &o.x, status, w.Header()); err != nil {
			h := w.Header()
			conn := h["Connection"]
			clear(h)
			if conn != nil {
				h["Connection"] = conn
			}
			return err
		}
	}
	w.WriteHeader(status)
	o.Status = status
	return nil
}

// lambdaError returns err's *lambda.Error, or nil. The nil check first
// keeps the success path free of errors.As, whose target escapes to the
// heap (one allocation per request).
func lambdaError(err error) *lambda.Error {
	if err == nil {
		return nil
	}
	var le *lambda.Error
	if errors.As(err, &le) {
		return le
	}
	return nil
}

// contentTypeJSON is shared by every response that sends it: net/http
// copies header values when it writes them and nothing modifies them.
var contentTypeJSON = []string{"application/json"}

// setContentLength declares the length of a body written in full. One
// that fits net/http's 2 KiB response buffer gets its Content-Length from
// net/http without the two allocations that formatting it here costs; a
// larger one must be declared, or net/http would send it chunked.
func setContentLength(h http.Header, n int) {
	if n >= 2048 {
		h["Content-Length"] = []string{strconv.Itoa(n)}
	}
}

// writeFunctionError answers a passthrough route whose function failed: the
// function's own error payload is the most useful body; the status says it
// failed.
func (g *Gateway) writeFunctionError(w http.ResponseWriter, o *Outcome, err error, le *lambda.Error) {
	status, code, _, _ := httperr.Map(err)
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	if le.Body[0] != '{' {
		// An emulator's "Task timed out after N seconds" text.
		h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	}
	h["X-Amz-Function-Error"] = []string{le.FunctionError}
	h["Content-Length"] = []string{strconv.Itoa(len(le.Body))}
	w.WriteHeader(status)
	n, _ := w.Write(le.Body)
	o.Status, o.Code, o.Err, o.BytesOut = status, code, err, n
	g.logError(o)
}

// writePassthrough sends Lambda's answer as it came.
func writePassthrough(w http.ResponseWriter, r *http.Request, p *pipeline.Route, res *lambda.Result, o *Outcome) error {
	h := w.Header()
	if ct := res.ContentType; ct == "" || ct == "application/json" {
		h["Content-Type"] = contentTypeJSON
	} else {
		h["Content-Type"] = []string{ct}
	}
	if res.RequestID != "" {
		h["X-Amzn-Requestid"] = []string{res.RequestID}
	}
	if res.ExecutedVersion != "" {
		h["X-Amz-Executed-Version"] = []string{res.ExecutedVersion}
	}
	setContentLength(h, len(res.Body))
	o.x.BodySize = len(res.Body)
	if err := writeHead(w, r, p, o, res.Status); err != nil {
		return err
	}
	o.BytesOut = o.x.WriteBody(w, res.Body)
	return nil
}

func unwrap(t *lambda.Target, body []byte) (*transform.Response, error) {
	switch t.Unwrap {
	case lambda.UnwrapALB:
		return transform.UnwrapALB(body, t.ALBMultiValue)
	case lambda.UnwrapAPIGatewayV2:
		return transform.UnwrapAPIGatewayV2(body)
	default:
		return transform.UnwrapAPIGatewayV1(body)
	}
}

// writeUnwrapped sends the response the function described.
func writeUnwrapped(w http.ResponseWriter, r *http.Request, p *pipeline.Route, resp *transform.Response, o *Outcome) error {
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	if _, ok := h["Content-Type"]; !ok {
		// The function chose no type: send none rather than let net/http
		// guess one from the body.
		h["Content-Type"] = nil
	}
	if r.Method == http.MethodHead {
		headContentLength(h, resp)
		return writeHead(w, r, p, o, resp.StatusCode)
	}
	setContentLength(h, len(resp.Body))
	o.x.BodySize = len(resp.Body)
	if err := writeHead(w, r, p, o, resp.StatusCode); err != nil {
		return err
	}
	o.BytesOut = o.x.WriteBody(w, resp.Body)
	return nil
}

// headContentLength declares the length of a HEAD answer, which must be
// the length a GET would send or absent (RFC 9110 §8.6). A function that
// returned a body answered HEAD as GET: that body's length. One that
// returned none may have declared the GET length itself (Express does);
// it is kept when valid. Otherwise the length is unknown and not sent.
func headContentLength(h http.Header, resp *transform.Response) {
	switch {
	case len(resp.Body) > 0:
		h["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	case len(resp.ContentLength) > 0:
		if n, ok := declaredLength(resp.ContentLength); ok {
			h["Content-Length"] = []string{n}
		}
	}
}

// declaredLength returns the one length that Content-Length values
// declare: a decimal number, repeated values identical (RFC 9110 §8.6).
func declaredLength(values []string) (string, bool) {
	v := values[0]
	if len(v) == 0 || len(v) > 18 {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return "", false
		}
	}
	for _, o := range values[1:] {
		if o != v {
			return "", false
		}
	}
	return v, true
}

// readBody reads the request body, refusing with tooBig(limit) one longer
// than limit.
func readBody(r *http.Request, limit int64, tooBig func(int64) error) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooBig(limit)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	// A hand-grown slice rather than bytes.Buffer.ReadFrom: the Buffer
	// escapes to the heap, one more allocation per request on the hot path.
	n := r.ContentLength
	if n < 0 || n > 64<<10 {
		n = 512
	}
	buf := make([]byte, 0, n+1)
	lr := &io.LimitedReader{R: r.Body, N: limit + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, httperr.New(http.StatusBadRequest, "BadRequestBody", "reading the request body failed")
		}
	}
	if int64(len(buf)) > limit {
		return nil, tooBig(limit)
	}
	return buf, nil
}

func tooLarge(limit int64) error {
	return httperr.New(http.StatusRequestEntityTooLarge, "PayloadTooLarge",
		"request body larger than "+strconv.FormatInt(limit>>10, 10)+" KiB, Lambda's limit for this invocation type")
}

// albRequestTooLarge is an Application Load Balancer's answer to a request
// body over its Lambda limit: 413 (ELB guide, load-balancer-troubleshooting).
func albRequestTooLarge(limit int64) error {
	return httperr.New(http.StatusRequestEntityTooLarge, "PayloadTooLarge",
		"request body larger than "+strconv.FormatInt(limit>>10, 10)+" KiB, an Application Load Balancer's limit for Lambda targets (disableAlbPayloadLimits lifts it)")
}

// albResponseTooLarge is an Application Load Balancer's answer to a
// function response over its limit: 502 (ELB guide,
// load-balancer-troubleshooting).
func albResponseTooLarge() error {
	return httperr.New(http.StatusBadGateway, "LambdaResponseTooLarge",
		"function response larger than "+strconv.Itoa(lambda.MaxALBPayload>>10)+" KiB, an Application Load Balancer's limit for Lambda targets (disableAlbPayloadLimits lifts it)")
}

func buildPayload(t *lambda.Target, rw *pipeline.Rewrite, r *http.Request, body []byte, scheme, rawPath, path string, m *router.Matcher, o *Outcome) ([]byte, error) {
	if t.Wrap == lambda.WrapNone {
		return body, nil
	}
	hdr := r.Header
	if r.ContentLength >= 0 && (len(body) > 0 || r.ContentLength > 0) && !hasContentLength(hdr, r.ContentLength) {
		// The event shows the length (HTTP/2 clients may not send it);
		// the client's header map is copied only then.
		hdr = hdr.Clone()
		if hdr == nil {
			hdr = http.Header{}
		}
		hdr["Content-Length"] = []string{strconv.FormatInt(r.ContentLength, 10)}
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	if t.Wrap == lambda.WrapALB {
		hdr = withoutMTLSHeaders(hdr)
	}
	tr := &transform.Request{
		Method:     r.Method,
		Path:       rawPath,
		RawQuery:   r.URL.RawQuery,
		Host:       r.Host,
		Proto:      r.Proto,
		Scheme:     scheme,
		Header:     hdr,
		Body:       body,
		RemoteAddr: r.RemoteAddr,
		Time:       o.Start,
		RequestID:  o.RequestID,
		Authorizer: o.x.Auth,
	}
	if rw != nil {
		rewriteEvent(tr, t.Wrap, rw, m, path)
	} else {
		tr.Resource, tr.PathParameters = pipeline.ResourceOf(m, path)
	}
	if tr.Resource != "" && t.Wrap == lambda.WrapAPIGatewayV2 {
		tr.RouteKey = "ANY " + tr.Resource
	}
	var payload []byte
	var err error
	switch t.Wrap {
	case lambda.WrapGloo:
		payload, err = transform.GlooRequestTransform(tr)
	case lambda.WrapAPIGatewayV1:
		payload, err = transform.APIGatewayV1Event(tr)
	case lambda.WrapAPIGatewayV2:
		payload, err = transform.APIGatewayV2Event(tr)
	case lambda.WrapALB:
		payload, err = transform.ALBEvent(tr, t.ALBMultiValue, "")
	}
	if err != nil {
		return nil, httperr.New(http.StatusBadRequest, "BadRequest", "cannot build the Lambda event: "+err.Error())
	}
	return payload, nil
}

// hasContentLength reports whether h holds exactly one Content-Length, n.
func hasContentLength(h http.Header, n int64) bool {
	v := h["Content-Length"]
	if len(v) != 1 {
		return false
	}
	got, err := strconv.ParseInt(v[0], 10, 64)
	return err == nil && got == n
}

// withoutMTLSHeaders drops the X-Amzn-Mtls-* headers a client sent. An
// Application Load Balancer in mutual TLS verify mode sets them from the
// certificate it verified, so functions written for one trust them;
// lambdagate does not set them, so a client's own would pass as verified.
// h is copied only when it holds one.
func withoutMTLSHeaders(h http.Header) http.Header {
	const prefix = "x-amzn-mtls-"
	var c http.Header
	for k := range h {
		if len(k) >= len(prefix) && strings.EqualFold(k[:len(prefix)], prefix) {
			if c == nil {
				c = h.Clone()
			}
			delete(c, k)
		}
	}
	if c == nil {
		return h
	}
	return c
}

// extraHeaders are the only client-derived headers sent to Lambda: trace
// context, and the original routing when Settings asks for it.
func extraHeaders(h []lambda.Header, t *lambda.Target, r *http.Request, o *Outcome) []lambda.Header {
	if v := r.Header.Get("X-Amzn-Trace-Id"); v != "" && len(v) < 256 {
		h = append(h, lambda.Header{Name: "X-Amzn-Trace-Id", Value: v})
	}
	tp, ts := traceHeaders(r, o)
	h = append(h, lambda.Header{Name: "Traceparent", Value: tp})
	if ts != "" {
		h = append(h, lambda.Header{Name: "Tracestate", Value: ts})
	}
	if t.PropagateOriginalRouting {
		h = append(h,
			lambda.Header{Name: "X-Envoy-Original-Path", Value: r.URL.RequestURI()},
			lambda.Header{Name: "X-Envoy-Original-Method", Value: r.Method})
	}
	return h
}
