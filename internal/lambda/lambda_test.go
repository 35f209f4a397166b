package lambda

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func TestPrepareBuildsTheInvokeURL(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:9001")
	for _, tc := range []struct {
		name, fn, qualifier string
		want                string
	}{
		{"plain name", "echo", "", "http://127.0.0.1:9001/2015-03-31/functions/echo/invocations"},
		{"$LATEST is escaped in the query", "echo", "$LATEST", "http://127.0.0.1:9001/2015-03-31/functions/echo/invocations?Qualifier=%24LATEST"},
		{"alias", "echo", "prod", "http://127.0.0.1:9001/2015-03-31/functions/echo/invocations?Qualifier=prod"},
		{"ARN colons are escaped", "arn:aws:lambda:us-east-1:123456789012:function:hello", "",
			"http://127.0.0.1:9001/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello/invocations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := &Target{FunctionName: tc.fn, Qualifier: tc.qualifier, Endpoint: base}
			tg.Prepare()
			if got := tg.InvokeURL().String(); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestRegionalEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":  "https://lambda.us-east-1.amazonaws.com",
		"cn-north-1": "https://lambda.cn-north-1.amazonaws.com.cn",
	} {
		if got := RegionalEndpoint(region).String(); got != want {
			t.Errorf("%s: got %s, want %s", region, got, want)
		}
	}
}

// The SDK signer caches derived keys by access key id and day; a rotated
// secret under the same key id must still change the signature.
func TestRotatedSecretChangesTheSignature(t *testing.T) {
	var mu sync.Mutex
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	iv := NewInvoker(Options{})
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	iv.now = func() time.Time { return fixed }
	for _, secret := range []string{"first-secret", "second-secret", "first-secret"} {
		tg := &Target{FunctionName: "f", Region: "us-east-1", Endpoint: u, Timeout: time.Second,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDSAME", secret, "")}
		tg.Prepare()
		if _, err := iv.Invoke(context.Background(), tg, []byte(`{}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	if auths[0] == auths[1] {
		t.Fatalf("the second secret signed like the first:\n%s", auths[1])
	}
	if auths[0] != auths[2] {
		t.Fatalf("the same secret at the same time signed differently")
	}
}

// Throttling is retried inside the deadline, then reported with RetryAfter.
func TestThrottledUntilTheDeadline(t *testing.T) {
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.WriteHeader(429)
		_, _ = w.Write([]byte(`{"Type":"User","Message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	tg := &Target{FunctionName: "f", Region: "us-east-1", Endpoint: u,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	tg.Prepare()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := NewInvoker(Options{}).Invoke(ctx, tg, []byte(`{}`), nil)
	le, ok := err.(*Error)
	if !ok || le.Kind != KindThrottled || le.RetryAfter <= 0 {
		t.Fatalf("err = %#v, want KindThrottled with RetryAfter", err)
	}
	if le.Attempts < 2 || !strings.Contains(le.Message, "ReservedFunctionConcurrentInvocationLimitExceeded") {
		t.Fatalf("attempts %d, message %q: want retries and Lambda's reason", le.Attempts, le.Message)
	}
}

// A throttle that never clears (reserved concurrency 0) is reported after
// a small retry budget, not at the route timeout: at most ThrottleRetries
// retries within ThrottleRetryBudget.
func TestThrottleRetryBudget(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.WriteHeader(429)
		_, _ = w.Write([]byte(`{"Type":"User","Message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	tg := &Target{FunctionName: "f", Region: "us-east-1", Endpoint: u, Timeout: 5 * time.Second,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	tg.Prepare()
	for _, tc := range []struct {
		name       string
		o          Options
		attempts   int // exact, or 0: at least 2
		maxElapsed time.Duration
	}{
		{"default: 3 retries", Options{}, 4, time.Second},
		{"no retries", Options{ThrottleRetries: -1}, 1, 200 * time.Millisecond},
		{"time budget", Options{ThrottleRetries: 1000, ThrottleRetryBudget: 300 * time.Millisecond}, 0, 800 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			start := time.Now()
			_, err := NewInvoker(tc.o).Invoke(context.Background(), tg, []byte(`{}`), nil)
			elapsed := time.Since(start)
			le, ok := err.(*Error)
			if !ok || le.Kind != KindThrottled || le.RetryAfter <= 0 {
				t.Fatalf("err = %#v, want KindThrottled with RetryAfter", err)
			}
			if elapsed > tc.maxElapsed {
				t.Errorf("429 after %v, want within %v", elapsed, tc.maxElapsed)
			}
			if n := int(calls.Load()); le.Attempts != n || (tc.attempts > 0 && n != tc.attempts) || (tc.attempts == 0 && n < 2) {
				t.Errorf("%d Invoke requests, error says %d attempts; want %d", n, le.Attempts, tc.attempts)
			}
		})
	}
}

func TestPayloadLimits(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1")
	for _, tc := range []struct {
		async bool
		size  int
	}{{false, MaxSyncPayload + 1}, {true, MaxAsyncPayload + 1}} {
		tg := &Target{FunctionName: "f", Region: "us-east-1", Endpoint: u, Async: tc.async,
			Credentials: aws.AnonymousCredentials{}}
		tg.Prepare()
		_, err := NewInvoker(Options{}).Invoke(context.Background(), tg, make([]byte, tc.size), nil)
		if le, ok := err.(*Error); !ok || le.Kind != KindTooLarge {
			t.Fatalf("async=%v size %d: err = %v, want KindTooLarge", tc.async, tc.size, err)
		}
	}
}

// PrepareWith gives every target what Prepare would, sharing it between
// targets of the same function only.
func TestPrepareWith(t *testing.T) {
	ep, _ := url.Parse("http://127.0.0.1:9000/base")
	other, _ := url.Parse("https://lambda.us-east-1.amazonaws.com")
	targets := []*Target{
		{FunctionName: "orders", Endpoint: ep},
		{FunctionName: "orders", Endpoint: ep},
		{FunctionName: "orders", Qualifier: "live", Endpoint: ep},
		{FunctionName: "orders", Qualifier: "live", Endpoint: other},
		{FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:billing", Endpoint: ep},
	}
	c := PrepareCache{}
	for i, tg := range targets {
		want := *tg
		want.Prepare()
		tg.PrepareWith(c)
		if tg.InvokeURL().String() != want.InvokeURL().String() || tg.host != want.host || tg.canonURI != want.canonURI ||
			tg.canonQuery != want.canonQuery || tg.conn != want.conn || tg.reqHead != want.reqHead ||
			tg.streamURL.String() != want.streamURL.String() || tg.streamCanonURI != want.streamCanonURI {
			t.Errorf("target %d: PrepareWith gave %+v, Prepare %+v", i, tg, want)
		}
	}
	if len(c) != 4 {
		t.Errorf("%d cache entries, want 4 (one per function)", len(c))
	}
}
