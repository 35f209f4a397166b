package lambda

import (
	"net/http"
	"time"
)

// Defaults of a route's retry policy (Envoy's: a 25ms base interval, the
// maximum ten times the base) and its number of retries (Gloo's).
const (
	DefaultRetryBase  = 25 * time.Millisecond
	DefaultNumRetries = 1
)

// RetryPolicy says which failed Invokes are sent again, how often and how
// far apart. One rule decides for every failure (retries):
//
//   - always: Lambda's throttling (429), which never runs the function;
//   - with NotRun: the other failures that prove the function did not
//     run: a Lambda service error (a 5xx without X-Amz-Function-Error;
//     a function that ran answers 200) and a connection that failed
//     before the request was written;
//   - with Lost, never on an asynchronous (Event) target: an answer lost
//     after the request was written (a broken connection, a per-try
//     timeout), after which the function may have run;
//   - with FunctionErrors, never on an asynchronous target: the
//     function's own error (X-Amz-Function-Error), which it did run.
//
// A target without a policy retries throttling only, within the invoker's
// throttle budget (Options.ThrottleRetries, ThrottleRetryBudget).
type RetryPolicy struct {
	// NumRetries is the most Invokes sent after the first.
	NumRetries int
	// PerTryTimeout bounds one attempt; zero: only the call's timeout.
	PerTryTimeout time.Duration
	// BaseInterval and MaxInterval bound the fully jittered exponential
	// wait before a retry: uniform in [0, base*2^n), n the retries so far,
	// the bound capped at MaxInterval.
	BaseInterval, MaxInterval time.Duration
	// Budget bounds the time spent retrying after the first failure;
	// zero: the call's timeout alone.
	Budget time.Duration
	// NotRun, Lost and FunctionErrors widen what is retried (see the type).
	NotRun, Lost, FunctionErrors bool
}

// retries reports whether the failed attempt le may be sent again.
func (rp *RetryPolicy) retries(le *Error, async bool) bool {
	switch le.Kind {
	case KindThrottled:
		return true
	case KindUpstream:
		return rp.NotRun && le.Status >= http.StatusInternalServerError
	case KindUnreachable, KindTimeout:
		if !le.sent {
			// A connection failure, or a per-try timeout before the
			// request was written.
			return rp.NotRun && (le.Kind == KindUnreachable || le.perTry)
		}
		return rp.Lost && !async && (le.Kind == KindUnreachable || le.perTry)
	case KindFunction, KindFunctionTimeout:
		return rp.FunctionErrors && !async
	}
	return false
}
