package lambda

import (
	"fmt"
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
