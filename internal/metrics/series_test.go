package metrics

import (
	"fmt"
	"testing"
	"time"
)

func TestSeriesRoute(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	k := RouteKey{"gloo-system/vs", "r"}
	req := func(at time.Time, status int, d time.Duration) Request {
		return Request{VirtualService: k.VirtualService, Route: k.Route, Function: "f", Status: status, Start: at, Total: d, Lambda: d / 2, Invoked: true}
	}
	tests := []struct {
		name      string
		reqs      []Request
		now       time.Time
		n         int
		requests  []int64
		errors    []int64
		latency   []float64
		rate      float64
		total     int64
		meanLamMs float64
	}{
		{"idle", nil, t0, 3, []int64{0, 0, 0}, []int64{0, 0, 0}, []float64{0, 0, 0}, 0, 0, 0},
		{"two seconds", []Request{
			req(t0.Add(-2*time.Second), 200, 10*time.Millisecond),
			req(t0.Add(-2*time.Second), 502, 30*time.Millisecond),
			req(t0, 200, 4*time.Millisecond),
		}, t0, 3, []int64{2, 0, 1}, []int64{1, 0, 0}, []float64{20, 0, 4}, 3.0 / 9, 3, 44.0 / 3 / 2},
		// Right after traffic the rate is not 0: the current second counts
		// for the part of it that has passed.
		{"current second", []Request{
			req(t0.Add(100*time.Millisecond), 200, time.Millisecond),
			req(t0.Add(200*time.Millisecond), 200, time.Millisecond),
		}, t0.Add(500 * time.Millisecond), 1, []int64{2}, []int64{0}, []float64{1}, 2 / 9.5, 2, 0.5},
		{"older than the window", []Request{
			req(t0.Add(-10*time.Second), 200, time.Millisecond),
		}, t0, 1, []int64{0}, []int64{0}, []float64{0}, 0, 1, 0.5},
		{"old buckets are not reused", []Request{
			req(t0.Add(-SeriesSeconds*time.Second), 200, time.Millisecond),
		}, t0, 2, []int64{0, 0}, []int64{0, 0}, []float64{0, 0}, 0, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSeries()
			for _, r := range tc.reqs {
				s.observe(r)
			}
			got := s.Route(k, tc.now, tc.n)
			if fmt.Sprint(got.Requests) != fmt.Sprint(tc.requests) || fmt.Sprint(got.Errors) != fmt.Sprint(tc.errors) ||
				fmt.Sprint(got.LatencyMs) != fmt.Sprint(tc.latency) {
				t.Errorf("series requests %v errors %v latency %v, want %v %v %v", got.Requests, got.Errors, got.LatencyMs, tc.requests, tc.errors, tc.latency)
			}
			if d := got.RatePerSec - tc.rate; d > 1e-9 || d < -1e-9 || got.Total != tc.total {
				t.Errorf("rate %v total %d, want %v %d", got.RatePerSec, got.Total, tc.rate, tc.total)
			}
			if d := got.MeanLambdaMs - tc.meanLamMs; d > 1e-9 || d < -1e-9 {
				t.Errorf("mean lambda %v ms, want %v", got.MeanLambdaMs, tc.meanLamMs)
			}
		})
	}
}

func TestRecentErrors(t *testing.T) {
	s := NewSeries()
	t0 := time.Unix(1_700_000_000, 0)
	for i := range maxRecentErrors + 5 {
		s.observe(Request{Status: 404, Code: "NoRoute", Path: fmt.Sprintf("/%d", i), Start: t0})
		s.observe(Request{Status: 200, Path: "/ok", Start: t0}) // not an error
	}
	got := s.RecentErrors()
	if len(got) != maxRecentErrors {
		t.Fatalf("%d entries, want %d", len(got), maxRecentErrors)
	}
	if got[0].Path != fmt.Sprintf("/%d", maxRecentErrors+4) || got[len(got)-1].Path != "/5" {
		t.Errorf("newest %q oldest %q, want /%d and /5", got[0].Path, got[len(got)-1].Path, maxRecentErrors+4)
	}
}

func TestStatusClass(t *testing.T) {
	for _, tc := range []struct {
		in   int
		want string
	}{{200, "2xx"}, {499, "4xx"}, {504, "5xx"}, {0, "other"}, {600, "other"}} {
		t.Run(tc.want, func(t *testing.T) {
			if got := StatusClass(tc.in); got != tc.want {
				t.Errorf("StatusClass(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSeriesUnrouted(t *testing.T) {
	s := NewSeries()
	t0 := time.Unix(1_700_000_000, 0)
	s.observe(Request{Status: 404, Code: "NoRoute", Start: t0})
	s.observe(Request{VirtualService: "gloo-system/vs", Route: "r", Status: 200, Start: t0})
	if got := s.Unrouted(); got != 1 {
		t.Errorf("unrouted %d, want 1", got)
	}
}
