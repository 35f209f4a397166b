// Package httperr is the one place that maps data-plane errors to HTTP
// statuses and writes the gateway's JSON error body.
package httperr

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// StatusClientClosed is nginx's and Caddy's status for a client that went
// away before the answer; it is logged, never sent.
const StatusClientClosed = 499

// Error is a gateway error with its status.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Common errors.
var (
	ErrNoRoute  = New(http.StatusNotFound, "NoRoute", "no route matches this request")
	ErrNoConfig = New(http.StatusServiceUnavailable, "NotReady", "the gateway has not loaded its configuration yet")
)

// Body is the JSON error body the gateway sends.
type Body struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	RequestID string `json:"requestId,omitempty"`
}

// Map returns the status, code and client-facing message for err, and
// headers to add (Retry-After).
func Map(err error) (status int, code, message string, hdr http.Header) {
	if d, ok := err.(*Denied); ok {
		return mapDenied(d)
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Status, ge.Code, ge.Message, nil
	}
	var me *transform.MalformedError
	if errors.As(err, &me) {
		return http.StatusBadGateway, "MalformedLambdaResponse", "malformed Lambda response: " + me.Problem, nil
	}
	var le *lambda.Error
	if !errors.As(err, &le) {
		return http.StatusBadGateway, "BadGateway", "bad gateway", nil
	}
	code = le.Kind.String()
	switch le.Kind {
	case lambda.KindFunction:
		return http.StatusBadGateway, code, "the function returned an error", nil
	case lambda.KindFunctionTimeout:
		return http.StatusGatewayTimeout, code, "the function timed out", nil
	case lambda.KindTimeout:
		return http.StatusGatewayTimeout, code, "the route timeout passed before the function answered", nil
	case lambda.KindThrottled:
		ra := le.RetryAfter
		if ra <= 0 {
			ra = time.Second
		}
		secs := int((ra + time.Second - 1) / time.Second)
		return http.StatusTooManyRequests, code, "the function is throttled; retry later", http.Header{"Retry-After": {strconv.Itoa(secs)}}
	case lambda.KindTooLarge:
		msg := "payload too large for Lambda"
		if le.Message != "" {
			msg = le.Message
		}
		return http.StatusRequestEntityTooLarge, code, msg, nil
	case lambda.KindBadRequest:
		if le.Type == "InvalidRequestContentException" {
			return http.StatusBadRequest, code, "the function accepts only a JSON request body on this route", nil
		}
		return http.StatusBadGateway, code, "Lambda refused the request", nil
	case lambda.KindNoCredentials:
		// Gloo's status and text.
		return http.StatusInternalServerError, code, "no credentials present for AWS upstream", nil
	case lambda.KindCanceled:
		return StatusClientClosed, code, "client closed the request", nil
	case lambda.KindNotFound:
		return http.StatusBadGateway, code, "the function or its qualifier does not exist", nil
	case lambda.KindAuth:
		return http.StatusBadGateway, code, "Lambda refused the gateway's credentials", nil
	case lambda.KindUnreachable:
		return http.StatusBadGateway, code, "Lambda endpoint unreachable", nil
	case lambda.KindResponseTooLarge:
		// The answer, not the request, was too large: a gateway error, as
		// API Gateway and ALB answer.
		return http.StatusBadGateway, code, "the function's response is larger than Lambda's 6 MB limit", nil
	case lambda.KindMalformed:
		return http.StatusBadGateway, code, "malformed Lambda response", nil
	}
	return http.StatusBadGateway, code, "Lambda error", nil
}

// Write sends err as a JSON error. It returns the status and code it
// mapped err to.
func Write(w http.ResponseWriter, err error, requestID string) (status int, code string) {
	status, code, msg, hdr := Map(err)
	if status == StatusClientClosed {
		return status, code
	}
	h := w.Header()
	for k, v := range hdr {
		h[k] = v
	}
	b, _ := json.Marshal(Body{Message: msg, Code: code, RequestID: requestID})
	b = append(b, '\n')
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status, code
}
