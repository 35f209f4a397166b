package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// StreamOptions bound the answers of routes with responseTransferMode
// STREAM once they have begun; until then the route's timeout applies.
type StreamOptions struct {
	// IdleTimeout ends a stream when the function sends nothing for this
	// long. Default 5m (lambda.DefaultStreamIdleTimeout, API Gateway's for
	// a regional endpoint).
	IdleTimeout time.Duration
	// MaxDuration ends a stream that lasts longer. Default 15m
	// (lambda.DefaultStreamMaxDuration, API Gateway's and Lambda's
	// longest).
	MaxDuration time.Duration
}

// maxPrelude bounds the HTTP integration prelude read before its 8 NUL
// bytes: API Gateway requires the metadata within the stream's first 16 KB
// (APIGW guide, response-transfer-mode-lambda.md).
const maxPrelude = 16 << 10

// serveStream invokes a streaming route and writes each chunk to the client
// as it arrives, flushed, so the client has the function's first byte when
// the function writes it. The gateway holds one chunk at a time. Before the
// first chunk, a failure is answered with its usual status; after it, the
// stream is cut: HTTP/1.1 without its last chunk, HTTP/2 with RST_STREAM
// (net/http does both for a handler that panics with http.ErrAbortHandler),
// so the client cannot take a partial answer for a whole one.
func (g *Gateway) serveStream(w http.ResponseWriter, r *http.Request, p *pipeline.Route, t *lambda.Target, payload []byte, o *Outcome) error {
	o.x.Streamed = true
	timeout := o.x.Timeout
	if timeout <= 0 {
		timeout = t.Timeout
	}
	var extra [5]lambda.Header
	lstart := time.Now()
	lim := lambda.StreamLimits{FirstByte: timeout, Idle: g.Stream.IdleTimeout, Max: g.Stream.MaxDuration}
	s, err := g.invoker.InvokeStream(r.Context(), t, payload, extraHeaders(extra[:0], t, r, o), lim)
	o.Invoked, o.Attempts = true, 1
	if err != nil {
		return g.streamFailed(t, o, lstart, err)
	}
	defer s.Close()
	o.LambdaRequestID = s.RequestID

	// The head waits for the first chunk, so that a failure before it
	// still has its status.
	body, err := s.Next()
	var resp *transform.Response
	if err == nil || err == io.EOF {
		if s.ContentType == transform.HTTPIntegrationContentType {
			resp, body, err = readPrelude(s.Next, body, err)
		}
	}
	if err != nil && err != io.EOF {
		err = g.streamFailed(t, o, lstart, err)
		if le := lambdaError(err); le != nil && (le.Kind == lambda.KindFunction || le.Kind == lambda.KindFunctionTimeout) && len(le.Body) > 0 {
			// As a buffered passthrough route: the function's error
			// object is the most useful body.
			g.writeFunctionError(w, o, err, le)
			return nil
		}
		return err
	}
	g.noteResult(t, nil)

	h := w.Header()
	status := http.StatusOK
	if resp != nil {
		for k, v := range resp.Header {
			h[k] = v
		}
		if _, ok := h["Content-Type"]; !ok {
			// As for an unwrapped answer: none rather than a guess.
			h["Content-Type"] = nil
		}
		status = resp.StatusCode
	} else {
		h["Content-Type"] = []string{s.ContentType}
		if s.ExecutedVersion != "" {
			h["X-Amz-Executed-Version"] = []string{s.ExecutedVersion}
		}
	}
	if s.RequestID != "" {
		h["X-Amzn-Requestid"] = []string{s.RequestID}
	}
	if err := writeHead(w, r, p, o, status); err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	flush := func() error {
		// A writer that cannot flush (a wrapper without Unwrap) still
		// gets every byte, only later.
		if err := rc.Flush(); !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}
	werr := flush()
	o.FirstByte = time.Since(o.Start)
	if r.Method == http.MethodHead {
		o.Lambda = time.Since(lstart)
		return nil
	}
	for werr == nil {
		if len(body) > 0 {
			var n int
			n, werr = w.Write(body)
			o.BytesOut += n
			if werr == nil {
				werr = flush()
			}
			if werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
		body, err = s.Next()
	}
	o.Lambda = time.Since(lstart)
	switch {
	case errors.Is(werr, http.ErrBodyNotAllowed):
		// A 204 or 304 has no body: what the function wrote after its
		// head is dropped.
		return nil
	case werr != nil:
		// The client went away: Close cancels the invocation.
		o.Err = &lambda.Error{Kind: lambda.KindCanceled, Message: fmt.Sprintf("client went away after %d streamed bytes", o.BytesOut), Err: werr}
	case err != io.EOF:
		o.Err = fmt.Errorf("stream cut after %d bytes: %w", o.BytesOut, err)
	default:
		return nil
	}
	le := lambdaError(o.Err)
	if le != nil {
		o.ErrorKind = le.Kind.String()
	}
	_, o.Code, _, _ = httperr.Map(o.Err)
	o.StreamCut = true
	if le != nil && le.Kind == lambda.KindCanceled {
		// Nobody is left to tell.
		return nil
	}
	s.Close()
	o.Total = time.Since(o.Start)
	g.observe(o)
	panic(http.ErrAbortHandler)
}

// streamFailed records a failure before the first byte; the caller's error
// answer follows.
func (g *Gateway) streamFailed(t *lambda.Target, o *Outcome, lstart time.Time, err error) error {
	o.Lambda = time.Since(lstart)
	if le := lambdaError(err); le != nil {
		o.ErrorKind = le.Kind.String()
	}
	g.noteResult(t, err)
	return err
}

// readPrelude reads the HTTP integration prelude that starts the stream (its
// first chunk is first, the error of reading it firstErr, and next reads
// the following ones) up to its 8 NUL bytes, and returns the response it
// describes and the body bytes that followed it in the same chunk. The
// delimiter must come within maxPrelude bytes. A stream that ends before
// it is all prelude, as the runtimes write it before any body byte.
func readPrelude(next func() ([]byte, error), first []byte, firstErr error) (*transform.Response, []byte, error) {
	var buf []byte
	chunk, err := first, firstErr
	for {
		prelude, body, found := chunk, []byte(nil), false
		if len(buf) > 0 {
			buf = append(buf, chunk...)
			prelude = buf
		}
		if i := bytes.Index(prelude, transform.PreludeDelimiter); i >= 0 {
			prelude, body, found = prelude[:i], prelude[i+len(transform.PreludeDelimiter):], true
		}
		if len(prelude) > maxPrelude {
			return nil, nil, &lambda.Error{Kind: lambda.KindMalformed, Message: fmt.Sprintf("the stream's HTTP integration prelude is longer than %d KiB", maxPrelude>>10)}
		}
		if found || err == io.EOF {
			resp, perr := transform.ParseStreamPrelude(prelude)
			return resp, body, orMalformed(perr, err)
		}
		if err != nil {
			return nil, nil, err
		}
		if len(buf) == 0 {
			buf = append(buf, chunk...)
		}
		chunk, err = next()
	}
}

// orMalformed is the prelude's parse error if any, else the stream's.
func orMalformed(perr, err error) error {
	if perr != nil {
		return perr
	}
	return err
}
