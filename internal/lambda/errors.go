package lambda

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Kind classifies an invocation failure; httperr maps it to a status.
type Kind int

// Failure kinds.
const (
	// KindFunction: the function ran and failed (X-Amz-Function-Error).
	KindFunction Kind = iota + 1
	// KindFunctionTimeout: the function ran out of time (Sandbox.Timedout).
	KindFunctionTimeout
	// KindThrottled: Lambda answered 429 until the route timeout.
	KindThrottled
	// KindNotFound: Lambda answered 404 (function or qualifier missing).
	KindNotFound
	// KindAuth: Lambda refused the signature or the permission (401/403).
	KindAuth
	// KindTooLarge: a payload over Lambda's limit (413).
	KindTooLarge
	// KindBadRequest: Lambda refused the payload (400), e.g. not JSON.
	KindBadRequest
	// KindUpstream: any other Lambda error status (5xx, unexpected 4xx).
	KindUpstream
	// KindUnreachable: no answer from the endpoint (connect, reset, EOF).
	KindUnreachable
	// KindTimeout: the route timeout passed before Lambda answered.
	KindTimeout
	// KindNoCredentials: no usable credentials for the upstream.
	KindNoCredentials
	// KindMalformed: the function's output cannot become a response.
	KindMalformed
	// KindCanceled: the client went away.
	KindCanceled
	// KindResponseTooLarge: the function's answer is over Lambda's 6 MB.
	KindResponseTooLarge
)

var kindNames = map[Kind]string{
	KindFunction: "FunctionError", KindFunctionTimeout: "FunctionTimeout", KindThrottled: "Throttled",
	KindNotFound: "FunctionNotFound", KindAuth: "AccessDenied", KindTooLarge: "PayloadTooLarge",
	KindBadRequest: "InvalidRequestContent", KindUpstream: "LambdaError", KindUnreachable: "LambdaUnreachable",
	KindTimeout: "Timeout", KindNoCredentials: "NoCredentials", KindMalformed: "MalformedResponse",
	KindCanceled: "ClientCanceled", KindResponseTooLarge: "ResponseTooLarge",
}

func (k Kind) String() string { return kindNames[k] }

// Error is a failed invocation.
type Error struct {
	Kind Kind
	// Status is Lambda's HTTP status, 0 when there was no answer.
	Status int
	// Type is Lambda's error type (X-Amzn-ErrorType or the function's
	// errorType), Message its message. Message never holds credentials.
	Type, Message string
	// FunctionError is Lambda's X-Amz-Function-Error value (Unhandled or
	// Handled) for KindFunction and KindFunctionTimeout.
	FunctionError string
	// RetryAfter is how long a throttled client should wait.
	RetryAfter time.Duration
	// Body is the function's error payload for KindFunction, passed to the
	// client in passthrough mode.
	Body []byte
	// Attempts counts the Invoke calls made.
	Attempts int
	Err      error
	// sent: the failure came after the whole request was written, so the
	// function may have run. perTry: a per-try timeout passed, not the
	// call's.
	sent, perTry bool
}

func (e *Error) Error() string {
	s := e.Kind.String()
	if e.Status != 0 {
		s += fmt.Sprintf(" (lambda status %d)", e.Status)
	}
	if e.Type != "" {
		s += ": " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// errorObjectKeys are the members of the error object a runtime reports
// (errorMessage, errorType and the stack: stackTrace in Python, Java and
// the Runtime Interface Emulator, trace in Node.js; requestId and cause in
// some runtimes).
var errorObjectKeys = map[string]bool{
	"errorMessage": true, "errorType": true, "stackTrace": true, "trace": true, "requestId": true, "cause": true,
}

// taskTimedOut matches the timeout text of Lambda and of the Runtime
// Interface Emulator, with Lambda's optional timestamp and request id
// before it.
var taskTimedOut = regexp.MustCompile(`^(?:\S+ ){0,2}Task timed out after \d+(?:\.\d+)? seconds$`)

// UnflaggedError recognises the error answers of endpoints that never set
// X-Amz-Function-Error (AWS's Runtime Interface Emulator, the usual local
// runner for container images): a successful status with
//
//   - the text "Task timed out after N seconds", which no JSON-speaking
//     function returns, recognised always: a KindFunctionTimeout;
//   - an error object, {"errorMessage": "...", ...} with no member other
//     than those of errorObjectKeys, recognised only when errorObject is
//     set. The caller sets it when the route unwraps a proxy response that
//     such an object cannot be (payload 1.0, ALB); elsewhere a function
//     may legitimately return that object as its result.
//
// It returns nil for any other body. Lambda itself always flags errors, so
// nothing changes for it.
func UnflaggedError(body []byte, errorObject bool) *Error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil
	}
	if trimmed[0] != '{' {
		if bytes.Contains(trimmed, []byte("Task timed out after")) && taskTimedOut.Match(trimmed) {
			return &Error{Kind: KindFunctionTimeout, Status: http.StatusOK, Type: "Sandbox.Timedout", FunctionError: "Unhandled", Message: truncate(string(trimmed), 256), Body: body}
		}
		return nil
	}
	if !errorObject || !bytes.Contains(trimmed, []byte(`"errorMessage"`)) {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(trimmed, &obj) != nil {
		return nil
	}
	var msg, typ string
	for k, v := range obj {
		if !errorObjectKeys[k] {
			return nil
		}
		switch k {
		case "errorMessage":
			if json.Unmarshal(v, &msg) != nil {
				return nil
			}
		case "errorType":
			if json.Unmarshal(v, &typ) != nil {
				return nil
			}
		}
	}
	if _, ok := obj["errorMessage"]; !ok {
		return nil
	}
	kind := KindFunction
	if isTimeout(typ, msg) {
		kind = KindFunctionTimeout
	}
	return &Error{Kind: kind, Status: http.StatusOK, Type: typ, FunctionError: "Unhandled", Message: truncate(msg, 256), Body: body}
}

// isTimeout reports whether a function error is Lambda's timeout.
func isTimeout(errorType, errorMessage string) bool {
	return errorType == "Sandbox.Timedout" || strings.Contains(errorMessage, "Task timed out after")
}
