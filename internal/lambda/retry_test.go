package lambda

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// failingServer answers the first fails requests by reading them and
// then closing the connection (the answer is lost after the request was
// written), with slow by waiting slow before answering, with slow < 0 by
// an answer in a content coding the invoker does not decode; the others
// with a success.
func failingServer(t *testing.T, fails int32, slow time.Duration) (string, *atomic.Int32) {
	var n atomic.Int32
	url := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		defer c.Close()
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			if n.Add(1) <= fails {
				switch {
				case slow == 0:
					return
				case slow < 0:
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\n{}")
					continue
				}
				time.Sleep(slow)
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
		}
	})
	return url, &n
}

// refusedURL is an endpoint nothing listens on: every dial fails before
// a request is written.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// The retry rule: what provably did not run is retried under any policy;
// an answer lost after the request was written only with Lost, and never
// for an asynchronous target; a per-try timeout counts as lost; without a
// policy only throttling is retried.
func TestRetryRule(t *testing.T) {
	notRun := &RetryPolicy{NumRetries: 2, BaseInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, NotRun: true}
	lost := &RetryPolicy{NumRetries: 2, BaseInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, NotRun: true, Lost: true}
	perTry := func(p RetryPolicy) *RetryPolicy { p.PerTryTimeout = 150 * time.Millisecond; return &p }
	for _, client := range clients {
		for _, tc := range []struct {
			name     string
			server   string // lost, slow, refused
			policy   *RetryPolicy
			async    bool
			attempts int
			kind     Kind // 0: success
		}{
			{"refused, no policy", "refused", nil, false, 1, KindUnreachable},
			{"refused, not run", "refused", notRun, false, 3, KindUnreachable},
			{"refused, async", "refused", notRun, true, 3, KindUnreachable},
			{"lost, not run only", "lost", notRun, false, 1, KindUnreachable},
			{"lost, lost", "lost", lost, false, 2, 0},
			{"lost, lost, async", "lost", lost, true, 1, KindUnreachable},
			{"per-try timeout, not run only", "slow", perTry(*notRun), false, 1, KindTimeout},
			{"per-try timeout, lost", "slow", perTry(*lost), false, 2, 0},
			{"undecodable answer, not run only", "garbled", notRun, false, 1, KindUnreachable},
		} {
			t.Run(client+"/"+tc.name, func(t *testing.T) {
				var url string
				var served *atomic.Int32
				switch tc.server {
				case "refused":
					url = refusedURL(t)
				case "lost":
					url, served = failingServer(t, 1, 0)
				case "slow":
					url, served = failingServer(t, 1, time.Second)
				case "garbled":
					url, served = failingServer(t, 1, -1)
				}
				tg := target(t, url, 3*time.Second)
				tg.Retry, tg.Async = tc.policy, tc.async
				iv := NewInvoker(Options{Client: client})
				defer iv.CloseIdle()
				res, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil)
				attempts := 0
				switch {
				case err == nil:
					attempts = res.Attempts
				default:
					le, ok := err.(*Error)
					if !ok {
						t.Fatalf("error %T %v", err, err)
					}
					attempts = le.Attempts
					if le.Kind != tc.kind {
						t.Errorf("kind %s (%v), want %s", le.Kind, err, tc.kind)
					}
					if tc.server == "slow" && !strings.Contains(le.Message, "per-try") {
						t.Errorf("message %q does not name the per-try timeout", le.Message)
					}
				}
				if err == nil && tc.kind != 0 {
					t.Errorf("succeeded, want %s", tc.kind)
				}
				if attempts != tc.attempts {
					t.Errorf("%d attempts, want %d", attempts, tc.attempts)
				}
				if served != nil && int(served.Load()) != tc.attempts {
					t.Errorf("the endpoint read %d requests, want %d", served.Load(), tc.attempts)
				}
			})
		}
	}
}

// Retries stay within the call's timeout, however many are allowed.
func TestRetriesWithinTheTimeout(t *testing.T) {
	tg := target(t, refusedURL(t), 300*time.Millisecond)
	tg.Retry = &RetryPolicy{NumRetries: 10, BaseInterval: 100 * time.Millisecond, MaxInterval: time.Second, NotRun: true}
	iv := NewInvoker(Options{})
	start := time.Now()
	_, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil)
	if took := time.Since(start); err == nil || took > time.Second {
		t.Fatalf("%v after %s, want a failure within the 300ms timeout", err, took)
	}
	if le := err.(*Error); le.Attempts >= 10 {
		t.Errorf("%d attempts within 300ms at a 100ms base back-off", le.Attempts)
	}
}

// retryOn "5xx" also retries the unflagged error answers of endpoints
// that never set X-Amz-Function-Error (the Runtime Interface Emulator's
// timeout text), as the gateway recognises them.
func TestRetryUnflaggedFunctionError(t *testing.T) {
	var n atomic.Int32
	url := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		defer c.Close()
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			body := "{}"
			if n.Add(1) == 1 {
				body = "Task timed out after 3.00 seconds"
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		}
	})
	for _, tc := range []struct {
		policy   *RetryPolicy
		attempts int
	}{
		{&RetryPolicy{NumRetries: 2, BaseInterval: time.Millisecond, MaxInterval: time.Millisecond, NotRun: true}, 1},
		{&RetryPolicy{NumRetries: 2, BaseInterval: time.Millisecond, MaxInterval: time.Millisecond, NotRun: true, Lost: true, FunctionErrors: true}, 2},
	} {
		n.Store(0)
		tg := target(t, url, 3*time.Second)
		tg.Retry = tc.policy
		iv := NewInvoker(Options{})
		res, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil)
		iv.CloseIdle()
		if err != nil || res.Attempts != tc.attempts || string(res.Body) != map[int]string{1: "Task timed out after 3.00 seconds", 2: "{}"}[tc.attempts] {
			t.Errorf("functionErrors=%v: %v, %+v; want %d attempts", tc.policy.FunctionErrors, err, res, tc.attempts)
		}
	}
}
