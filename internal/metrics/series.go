package metrics

import (
	"sync"
	"sync/atomic"
	"time"
)

// SeriesSeconds is how much per-route history is kept: one bucket per
// second.
const SeriesSeconds = 120

// maxRoutes bounds the per-route histories (routes removed from the
// configuration are forgotten when a snapshot without them is served).
const maxRoutes = 10000

// rateSeconds is the window of RouteStats' rates, the current second
// included.
const rateSeconds = 10

// maxRecentErrors is the length of the recent errors list.
const maxRecentErrors = 50

// Series keeps, per route, the last SeriesSeconds seconds of request
// counts, errors and latency, and the most recent failed requests. It is
// what the dashboard draws; Prometheus has the long-term data.
type Series struct {
	mu     sync.Mutex
	routes map[RouteKey]*routeSeries
	recent [maxRecentErrors]ErrorEntry
	nextE  int
	nErrs  int
	built  atomic.Int64 // unix ns of the served snapshot
	// unrouted counts requests no route took (the per-route series do
	// not have them), since the gateway started.
	unrouted int64
}

// RouteKey names a route: its virtual service ("namespace/name") and its
// name.
type RouteKey struct{ VirtualService, Route string }

type bucket struct {
	sec       int64
	n, errs   int64
	totalSum  float64 // seconds
	lambdaSum float64
	lambdaN   int64
}

type routeSeries struct {
	b           [SeriesSeconds]bucket
	total, errs int64
	last        time.Time
	lastStatus  int
}

// ErrorEntry is one failed request in the recent errors list.
type ErrorEntry struct {
	Time           time.Time `json:"time"`
	RequestID      string    `json:"requestId"`
	Method         string    `json:"method"`
	Path           string    `json:"path"`
	VirtualService string    `json:"virtualService,omitempty"`
	Route          string    `json:"route,omitempty"`
	Function       string    `json:"function,omitempty"`
	Status         int       `json:"status"`
	Code           string    `json:"code"`
	Message        string    `json:"message,omitempty"`
}

// NewSeries returns an empty Series.
func NewSeries() *Series { return &Series{routes: map[RouteKey]*routeSeries{}} }

// keep forgets the histories of routes not in keep.
func (s *Series) keep(keep map[RouteKey]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.routes {
		if !keep[k] {
			delete(s.routes, k)
		}
	}
}

func (s *Series) observe(r Request) {
	failed := r.Status >= 500 || r.ErrorKind != ""
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Code != "" {
		msg := r.Message
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		path := r.Path
		if len(path) > 200 {
			path = path[:200] + "…"
		}
		s.recent[s.nextE] = ErrorEntry{Time: r.Start, RequestID: r.RequestID, Method: r.Method, Path: path,
			VirtualService: r.VirtualService, Route: r.Route, Function: r.Function, Status: r.Status, Code: r.Code, Message: msg}
		s.nextE = (s.nextE + 1) % maxRecentErrors
		s.nErrs = min(s.nErrs+1, maxRecentErrors)
	}
	if r.Route == "" {
		s.unrouted++
		return
	}
	k := RouteKey{r.VirtualService, r.Route}
	rs := s.routes[k]
	if rs == nil {
		if len(s.routes) >= maxRoutes {
			return
		}
		rs = &routeSeries{}
		s.routes[k] = rs
	}
	end := r.Start.Add(r.Total)
	sec := end.Unix()
	b := &rs.b[sec%SeriesSeconds]
	if b.sec != sec {
		*b = bucket{sec: sec}
	}
	b.n++
	b.totalSum += r.Total.Seconds()
	if r.Invoked {
		b.lambdaN++
		b.lambdaSum += r.Lambda.Seconds()
	}
	rs.total++
	if failed {
		b.errs++
		rs.errs++
	}
	rs.last, rs.lastStatus = end, r.Status
}

// RouteStats is a route's recent history, oldest second first; the last
// element is the current (partial) second.
type RouteStats struct {
	// Requests and Errors per second.
	Requests []int64 `json:"requests"`
	Errors   []int64 `json:"errors"`
	// LatencyMs is the mean total latency per second (0 when idle).
	LatencyMs []float64 `json:"latencyMs"`
	// Totals since the gateway started.
	Total       int64 `json:"total"`
	TotalErrors int64 `json:"totalErrors"`
	// RatePerSec and ErrorRatePerSec average the last 10 seconds: the 9
	// complete ones and the current one so far.
	RatePerSec      float64 `json:"ratePerSec"`
	ErrorRatePerSec float64 `json:"errorRatePerSec"`
	// MeanLatencyMs and MeanLambdaMs average the last 60 seconds.
	MeanLatencyMs float64   `json:"meanLatencyMs"`
	MeanLambdaMs  float64   `json:"meanLambdaMs"`
	LastRequest   time.Time `json:"lastRequest,omitzero"`
	LastStatus    int       `json:"lastStatus,omitempty"`
}

// Route returns the last n seconds (at most SeriesSeconds) of a route as of
// now. A route without traffic has zero series.
func (s *Series) Route(k RouteKey, now time.Time, n int) RouteStats {
	n = min(max(n, 1), SeriesSeconds)
	st := RouteStats{Requests: make([]int64, n), Errors: make([]int64, n), LatencyMs: make([]float64, n)}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.routes[k]
	if rs == nil {
		return st
	}
	st.Total, st.TotalErrors, st.LastRequest, st.LastStatus = rs.total, rs.errs, rs.last, rs.lastStatus
	nowSec := now.Unix()
	var n10, e10 int64
	var sum, lsum float64
	var cnt, lcnt int64
	for i := range n {
		sec := nowSec - int64(n-1-i)
		b := rs.b[((sec%SeriesSeconds)+SeriesSeconds)%SeriesSeconds]
		if b.sec != sec {
			continue
		}
		st.Requests[i], st.Errors[i] = b.n, b.errs
		if b.n > 0 {
			st.LatencyMs[i] = b.totalSum / float64(b.n) * 1000
		}
	}
	for back := int64(0); back < 60; back++ {
		sec := nowSec - back
		b := rs.b[((sec%SeriesSeconds)+SeriesSeconds)%SeriesSeconds]
		if b.sec != sec {
			continue
		}
		if back < rateSeconds {
			n10 += b.n
			e10 += b.errs
		}
		sum += b.totalSum
		cnt += b.n
		lsum += b.lambdaSum
		lcnt += b.lambdaN
	}
	// The window ends now: the current second counts for the part of it
	// that has passed, so a rate read right after traffic is not 0.
	window := float64(rateSeconds-1) + now.Sub(time.Unix(nowSec, 0)).Seconds()
	st.RatePerSec = float64(n10) / window
	st.ErrorRatePerSec = float64(e10) / window
	if cnt > 0 {
		st.MeanLatencyMs = sum / float64(cnt) * 1000
	}
	if lcnt > 0 {
		st.MeanLambdaMs = lsum / float64(lcnt) * 1000
	}
	return st
}

// Unrouted returns how many requests no route took since the gateway
// started.
func (s *Series) Unrouted() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unrouted
}

// RecentErrors returns the most recent failed requests, newest first.
func (s *Series) RecentErrors() []ErrorEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ErrorEntry, 0, s.nErrs)
	for i := 1; i <= s.nErrs; i++ {
		out = append(out, s.recent[((s.nextE-i)%maxRecentErrors+maxRecentErrors)%maxRecentErrors])
	}
	return out
}
