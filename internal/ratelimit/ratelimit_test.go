package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/ratelimit/redistest"
	"github.com/lambdagate/lambdagate/internal/transform"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type take struct {
		at     time.Duration
		ok     bool
		left   uint32
		resetS time.Duration
	}
	for _, tc := range []struct {
		name         string
		max, perFill uint32
		interval     time.Duration
		takes        []take
	}{
		{"drains then refuses", 3, 1, time.Second, []take{
			{0, true, 2, time.Second}, {0, true, 1, time.Second}, {0, true, 0, time.Second}, {0, false, 0, time.Second},
			{999 * time.Millisecond, false, 0, time.Millisecond},
		}},
		{"fills each interval", 3, 1, time.Second, []take{
			{0, true, 2, time.Second}, {0, true, 1, time.Second}, {0, true, 0, time.Second},
			{time.Second, true, 0, time.Second}, {time.Second, false, 0, time.Second},
			{2500 * time.Millisecond, true, 0, 500 * time.Millisecond},
		}},
		{"never above max", 2, 5, 100 * time.Millisecond, []take{
			{0, true, 1, 100 * time.Millisecond}, {10 * time.Second, true, 1, 100 * time.Millisecond},
		}},
		{"tokensPerFill", 10, 4, time.Second, []take{
			{0, true, 9, time.Second}, {0, true, 8, time.Second}, {1 * time.Second, true, 9, time.Second},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBucket(tc.max, tc.perFill, tc.interval, t0)
			for i, tk := range tc.takes {
				ok, left, reset := b.Take(t0.Add(tk.at))
				if ok != tk.ok || left != tk.left || reset != tk.resetS {
					t.Errorf("take %d at %v = %v, %d left, reset %v; want %v, %d, %v", i, tk.at, ok, left, reset, tk.ok, tk.left, tk.resetS)
				}
			}
		})
	}
}

// Concurrent takers get exactly the bucket's tokens: no token is handed
// out twice or lost.
func TestBucketConcurrent(t *testing.T) {
	now := time.Now()
	b := NewBucket(10_000, 1, time.Hour, now)
	var got atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				if ok, _, _ := b.Take(now); ok {
					got.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got.Load() != 10_000 {
		t.Fatalf("%d tokens taken, want 10000", got.Load())
	}
}

// A flood of distinct keys never grows a local counter beyond its bound,
// and a new window forgets the old one's keys.
func TestLocalCounterBounded(t *testing.T) {
	c := NewLocalCounter(1000)
	for i := 0; i < 200_000; i++ {
		if _, err := c.Hit(context.Background(), fmt.Sprintf("k%d", i), 1, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Len(); n > 1000 {
		t.Fatalf("%d keys remembered, want at most 1000", n)
	}
	if n, _ := c.Hit(context.Background(), "k", 2, time.Second); n != 1 {
		t.Fatalf("count in a new window = %d, want 1", n)
	}
	if n, _ := c.Hit(context.Background(), "k5", 2, time.Second); n != 1 {
		t.Fatalf("count of a key seen in the old window = %d, want 1", n)
	}
}

func TestLocalFilter(t *testing.T) {
	for _, headers := range []bool{false, true} {
		t.Run(fmt.Sprint("headers=", headers), func(t *testing.T) {
			f := NewLocal(NewBucket(2, 1, time.Hour, time.Now()), headers)
			var errs []error
			var last http.Header
			for i := 0; i < 3; i++ {
				w := httptest.NewRecorder()
				errs = append(errs, f.FilterRequest(w, httptest.NewRequest("GET", "/", nil), &pipeline.Exchange{}))
				last = w.Header()
			}
			if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrLimited) {
				t.Fatalf("errors = %v, want nil, nil, ErrLimited", errs)
			}
			if !headers {
				if len(last) != 0 {
					t.Fatalf("headers set while off: %v", last)
				}
				return
			}
			if last.Get("x-ratelimit-limit") != "2" || last.Get("x-ratelimit-remaining") != "0" || last.Get("x-ratelimit-reset") != "3600" {
				t.Fatalf("headers = %v", last)
			}
		})
	}
}

func TestBasicKeys(t *testing.T) {
	req := func(remote, header string, auth *transform.Authorizer) (*http.Request, *pipeline.Exchange) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if header != "" {
			r.Header.Set("X-Client", header)
		}
		return r, &pipeline.Exchange{Auth: auth}
	}
	hour := Window{Limit: 1, Unit: time.Hour}
	for _, tc := range []struct {
		name      string
		authz     bool
		keyHeader string
		// two requests; is the second refused?
		a, b    func() (*http.Request, *pipeline.Exchange)
		refused bool
	}{
		{"same address", false, "", func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.1:1", "", nil) },
			func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.1:2", "", nil) }, true},
		{"other address", false, "", func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.1:1", "", nil) },
			func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.2:1", "", nil) }, false},
		{"header key", false, "X-Client", func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.1:1", "a", nil) },
			func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.1:1", "b", nil) }, false},
		{"same header", false, "X-Client", func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.1:1", "a", nil) },
			func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.2:1", "a", nil) }, true},
		{"generic key", false, "", func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.1:1", "a", nil) },
			func() (*http.Request, *pipeline.Exchange) { return req("10.0.0.2:1", "b", nil) }, true},
		{"api key identity", true, "", func() (*http.Request, *pipeline.Exchange) {
			return req("10.0.0.1:1", "", &transform.Authorizer{APIKey: "team-a"})
		}, func() (*http.Request, *pipeline.Exchange) {
			return req("10.0.0.2:1", "", &transform.Authorizer{APIKey: "team-a"})
		}, true},
		{"jwt subjects differ", true, "", func() (*http.Request, *pipeline.Exchange) {
			return req("10.0.0.1:1", "", &transform.Authorizer{Claims: map[string]any{"iss": "i", "sub": "u1"}})
		}, func() (*http.Request, *pipeline.Exchange) {
			return req("10.0.0.1:1", "", &transform.Authorizer{Claims: map[string]any{"iss": "i", "sub": "u2"}})
		}, false},
		{"authorized without authorizedLimits is not limited", false, "", func() (*http.Request, *pipeline.Exchange) {
			return req("10.0.0.1:1", "", &transform.Authorizer{APIKey: "k"})
		}, func() (*http.Request, *pipeline.Exchange) {
			return req("10.0.0.1:1", "", &transform.Authorizer{APIKey: "k"})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Basic{Anonymous: NewRule(hour, NewLocalCounter(0), "t:anon"), KeyHeader: tc.keyHeader}
			if tc.name == "generic key" {
				b.GenericKey, b.KeyHeader = "all", "X-Client"
			}
			if tc.authz {
				b.Authorized = NewRule(hour, NewLocalCounter(0), "t:auth")
			}
			r, x := tc.a()
			if err := b.FilterRequest(httptest.NewRecorder(), r, x); err != nil {
				t.Fatalf("first request: %v", err)
			}
			r, x = tc.b()
			err := b.FilterRequest(httptest.NewRecorder(), r, x)
			if got := errors.Is(err, ErrLimited); got != tc.refused {
				t.Fatalf("second request refused = %v (%v), want %v", got, err, tc.refused)
			}
		})
	}
}

func TestBasicHeaders(t *testing.T) {
	b := &Basic{Anonymous: NewRule(Window{Limit: 2, Unit: time.Minute}, NewLocalCounter(0), "t"), Headers: true}
	var w *httptest.ResponseRecorder
	for i := 0; i < 3; i++ {
		w = httptest.NewRecorder()
		_ = b.FilterRequest(w, httptest.NewRequest("GET", "/", nil), &pipeline.Exchange{})
	}
	h := w.Header()
	if h.Get("X-RateLimit-Limit") != "2, 2;w=60" || h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("headers = %v", h)
	}
}

// Two clients of one Redis (two gateway processes) share one count.
func TestRedisShared(t *testing.T) {
	srv := redistest.Start(t)
	reg := NewRegistry()
	b := reg.Build()
	c1, err := b.Redis(srv.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := newRedis("redis://"+srv.Addr+"/0", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := Window{Limit: 50, Unit: time.Hour}
	f1 := &Basic{Anonymous: NewRule(w, c1, "shared")}
	f2 := &Basic{Anonymous: NewRule(w, c2, "shared")}
	allowed := 0
	for i := 0; i < 100; i++ {
		f := f1
		if i%2 == 1 {
			f = f2
		}
		if err := f.FilterRequest(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), &pipeline.Exchange{}); err == nil {
			allowed++
		} else if !errors.Is(err, ErrLimited) {
			t.Fatal(err)
		}
	}
	// A window boundary between the requests would let more through.
	if allowed != 50 {
		t.Fatalf("%d of 100 allowed through two clients, want 50", allowed)
	}
}

// Redis unreachable: the limit fails open or closed as configured, the
// route's warning says so, and both clear when Redis is back.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	reg := NewRegistry()
	var changes atomic.Int32
	reg.OnChange = func() { changes.Add(1) }
	b := reg.Build()
	c, err := b.Redis(srv.Addr, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	b.UseRedis("ns/vs", "open", c, false)
	b.UseRedis("ns/vs", "closed", c, true)
	b.Commit()
	w := Window{Limit: 1000, Unit: time.Hour}
	open := &Basic{Anonymous: NewRule(w, c, "o")}
	closed := &Basic{Anonymous: NewRule(w, c, "c"), DenyOnFail: true}
	do := func(f *Basic) error {
		return f.FilterRequest(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), &pipeline.Exchange{})
	}
	if err := do(closed); err != nil {
		t.Fatal(err)
	}
	if reg.RouteWarning("ns/vs", "closed") != "" {
		t.Fatal("warning while Redis answers")
	}
	srv.Stop()
	if err := do(open); err != nil {
		t.Fatalf("fail open: %v", err)
	}
	if err := do(closed); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("fail closed: %v, want ErrUnavailable", err)
	}
	if w := reg.RouteWarning("ns/vs", "open"); w == "" || !strings.Contains(w, "unreachable") || !strings.Contains(w, "pass without the limit") {
		t.Fatalf("open route warning = %q", w)
	}
	if w := reg.RouteWarning("ns/vs", "closed"); !strings.Contains(w, "refused with 500") {
		t.Fatalf("closed route warning = %q", w)
	}
	if changes.Load() != 1 {
		t.Fatalf("%d change notifications, want 1", changes.Load())
	}
	// While down, requests do not wait for Redis.
	start := time.Now()
	for i := 0; i < 20; i++ {
		_ = do(open)
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Fatalf("20 requests took %v while Redis is down: each waited for it", d)
	}
	srv.Restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for reg.RouteWarning("ns/vs", "open") != "" {
		if time.Now().After(deadline) {
			t.Fatal("warning did not clear after Redis came back")
		}
		_ = do(open)
		time.Sleep(50 * time.Millisecond)
	}
	if err := do(closed); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// A Redis that cannot be reached shows on its routes' statuses before
// any request.
func TestRedisProbedAtStart(t *testing.T) {
	srv := redistest.Start(t)
	addr := srv.Addr
	srv.Stop()
	reg := NewRegistry()
	changed := make(chan struct{}, 1)
	reg.OnChange = func() { changed <- struct{}{} }
	b := reg.Build()
	c, err := b.Redis(addr, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	b.UseRedis("ns/vs", "r", c, false)
	b.Commit()
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no change notified")
	}
	if w := reg.RouteWarning("ns/vs", "r"); !strings.Contains(w, "unreachable") {
		t.Fatalf("warning = %q", w)
	}
}

// The registry keeps a limit's bucket across translations while its
// configuration is unchanged.
func TestRegistryKeepsBuckets(t *testing.T) {
	reg := NewRegistry()
	b := reg.Build()
	bk := b.Bucket("vs/r", 5, 1, time.Second)
	b.Commit()
	b = reg.Build()
	if b.Bucket("vs/r", 5, 1, time.Second) != bk {
		t.Fatal("same limit: a new bucket")
	}
	if b.Bucket("vs/r", 6, 1, time.Second) == bk {
		t.Fatal("changed limit: the old bucket")
	}
	b.Commit()
	var nilReg *Registry
	if nilReg.Build().Bucket("vs/r", 5, 1, time.Second) == bk {
		t.Fatal("nil registry shared state")
	}
}

func BenchmarkLocal(b *testing.B) {
	for _, headers := range []bool{false, true} {
		b.Run(fmt.Sprint("headers=", headers), func(b *testing.B) {
			f := NewLocal(NewBucket(1<<31, 1<<31, time.Second, time.Now()), headers)
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/", nil)
			// The gateway sets Arrived from the clock reading it takes for
			// every request anyway.
			x := &pipeline.Exchange{Arrived: time.Now()}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := f.FilterRequest(w, r, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBucketParallel(b *testing.B) {
	bk := NewBucket(1<<31, 1<<31, time.Second, time.Now())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bk.Take(time.Now())
		}
	})
}
