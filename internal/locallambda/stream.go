package locallambda

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

const (
	// streamAPIPrefix is the API version of InvokeWithResponseStream.
	streamAPIPrefix = "/2021-11-15/functions"
	// maxStreamBytes is AWS's limit on a streamed response: "response
	// streaming functions can return payloads up to 200 MB" (Lambda
	// developer guide, configuration-response-streaming). AWS also caps the
	// bandwidth after the first 6 MB; a local service does not.
	maxStreamBytes = 200 << 20
	// streamChunk is the most of the function's output one PayloadChunk
	// event carries: what one read of the runtime's body returns.
	streamChunk = 32 << 10
	// defaultStreamContentType is what the runtimes send when the function
	// sets none.
	defaultStreamContentType = "application/octet-stream"
)

// errStreamClosed is a write to a stream whose invocation has ended or
// whose client has gone.
var errStreamClosed = errors.New("response stream closed")

// streamSink is the answer of one InvokeWithResponseStream call: the
// function's output as PayloadChunk events, then one InvokeComplete. The
// runtime API's goroutine writes the chunks while the invocation's own
// goroutine waits for its result; mu orders the two, and closed stops the
// first once the second has written InvokeComplete (or the client left).
type streamSink struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *eventstream.Encoder
	version string
	started bool
	closed  bool
	// streamed says the function's output went out as chunks; a buffered
	// answer is then not sent again.
	streamed bool
}

func newStreamSink(w http.ResponseWriter, version string) *streamSink {
	return &streamSink{w: w, rc: http.NewResponseController(w), enc: eventstream.NewEncoder(), version: version}
}

// start writes the HTTP head. The operation's Content-Type header is the
// stream's content type (ResponseStreamContentType in the API model), the
// body is an event stream whatever it says.
func (s *streamSink) start(contentType string) error {
	if s.closed {
		return errStreamClosed
	}
	if s.started {
		return nil
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Amz-Executed-Version", s.version)
	s.w.WriteHeader(http.StatusOK)
	return s.flush()
}

func (s *streamSink) flush() error {
	if err := s.rc.Flush(); err != nil {
		s.closed = true
		return err
	}
	return nil
}

// event writes one event and flushes it, so the client has it at once.
func (s *streamSink) event(eventType, contentType string, payload []byte) error {
	var m eventstream.Message
	m.Headers.Set(":message-type", eventstream.StringValue("event"))
	m.Headers.Set(":event-type", eventstream.StringValue(eventType))
	m.Headers.Set(":content-type", eventstream.StringValue(contentType))
	m.Payload = payload
	if err := s.enc.Encode(s.w, m); err != nil {
		s.closed = true
		return err
	}
	return s.flush()
}

// open starts the stream with the function's content type.
func (s *streamSink) open(contentType string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start(contentType)
}

// chunk sends part of the function's output.
func (s *streamSink) chunk(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStreamClosed
	}
	s.streamed = true
	return s.event("PayloadChunk", defaultStreamContentType, p)
}

// abandon stops sending: the client went away.
func (s *streamSink) abandon() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// finish ends the stream with InvokeComplete: ErrorCode and ErrorDetails
// are the error's type and message when the invocation failed (before or
// after its first byte), LogResult the log tail when asked for. A function
// that answered without streaming has its whole answer sent as one chunk
// first, as Lambda does for a function that does not stream.
func (s *streamSink) finish(res invokeResult, logResult string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if err := s.start(defaultStreamContentType); err != nil {
		return
	}
	if res.functionError == "" && !s.streamed && len(res.payload) > 0 {
		if s.event("PayloadChunk", defaultStreamContentType, res.payload) != nil {
			return
		}
	}
	complete := map[string]string{}
	if res.functionError != "" {
		var e struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		_ = json.Unmarshal(res.payload, &e)
		complete["ErrorCode"] = e.ErrorType
		if e.ErrorType == "" {
			complete["ErrorCode"] = res.functionError
		}
		complete["ErrorDetails"] = e.ErrorMessage
	}
	if logResult != "" {
		complete["LogResult"] = logResult
	}
	b, _ := json.Marshal(complete)
	_ = s.event("InvokeComplete", "application/json", b)
	s.closed = true
}

// invokeStream serves InvokeWithResponseStream. Errors found before the
// function runs are API errors as for Invoke; once it runs, the answer is
// 200 and a failure is reported in InvokeComplete.
func (s *Server) invokeStream(w http.ResponseWriter, r *http.Request, raw string, body []byte) *apiError {
	fn, version, invType, inv, aerr := s.prepareInvoke(r, raw, body, "RequestResponse", "DryRun")
	if aerr != nil {
		return aerr
	}
	if invType == "DryRun" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("X-Amzn-RequestId", inv.id)
	switch s.pool.reserve(fn) {
	case refusedThrottled:
		return throttled(fn)
	case refusedClosed:
		return &apiError{status: http.StatusServiceUnavailable, code: "ServiceException", msg: "local lambda service is shutting down"}
	}
	sink := newStreamSink(w, version)
	inv.stream = sink
	// A client that goes away does not stop the function: "streamed
	// responses are not interrupted or stopped when the invoking client
	// connection is broken" (Lambda developer guide). Its output is then
	// read and dropped.
	gone := make(chan struct{})
	defer close(gone)
	go func() {
		select {
		case <-r.Context().Done():
			sink.abandon()
			s.log.Debug("response stream client went away; the function runs on, its output is dropped", "function", fn.Name, "requestId", inv.id)
		case <-gone:
		}
	}()
	res := s.run(fn, version, inv)
	logResult := ""
	if r.Header.Get("X-Amz-Log-Type") == "Tail" {
		logResult = inv.logs.tailBase64()
	}
	sink.finish(res, logResult)
	return nil
}

// relay passes a streaming answer (Lambda-Runtime-Function-Response-Mode:
// streaming, or any body of an invocation made with
// InvokeWithResponseStream, as aws-lambda-go sends a chunked body without
// that header) to the invoker as it is read. A failure after the first byte
// arrives in the trailers Lambda-Runtime-Function-Error-Type and -Body.
func (in *instance) relay(w http.ResponseWriter, r *http.Request, inv *invocation) {
	sink := inv.stream
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = defaultStreamContentType
	}
	live := sink.open(ct) == nil
	buf := make([]byte, streamChunk)
	total := 0
	var readErr error
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			total += n
			if total > maxStreamBytes {
				inv.complete(functionErrorResult("Function.ResponseSizeTooLarge", fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxStreamBytes)))
				runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", maxStreamBytes))
				return
			}
			// Once the client is gone the output is still read, so the
			// function is never blocked by it.
			if live && sink.chunk(buf[:n]) != nil {
				live = false
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
	}
	if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
		errBody, _ := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		inv.complete(invokeResult{payload: normalizeErrorBody(errBody, t), functionError: "Unhandled", errorType: t})
		runtimeAccepted(w)
		return
	}
	if readErr != nil {
		inv.complete(functionErrorResult("Runtime.StreamError", fmt.Sprintf("RequestId: %s Error: reading the response stream: %v", inv.id, readErr)))
		return
	}
	inv.complete(invokeResult{})
	runtimeAccepted(w)
}
