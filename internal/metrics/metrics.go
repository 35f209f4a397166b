// Package metrics holds lambdagate's Prometheus collectors and the small
// in-memory per-route series that the dashboard and "lambdagate status"
// draw. Every label takes its values from the configuration (virtual
// service, route and function names) or from small fixed sets (status
// class, error code, error kind), never from the request, so the number of
// series stays bounded whatever clients send.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "lambdagate"

// Label names shared by the per-request metrics.
var routeLabels = []string{"virtual_service", "route", "function"}

// latencyBuckets span a warm Lambda call (a few ms) to a route timeout of
// minutes.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900}

// Metrics is one gateway's set of collectors on its own registry (not the
// global one, so that tests and several gateways in one process do not
// collide).
type Metrics struct {
	reg *prometheus.Registry

	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	lambdaDuration *prometheus.HistogramVec
	lambdaErrors   *prometheus.CounterVec
	retries        *prometheus.CounterVec
	authDenied     *prometheus.CounterVec
	inFlight       prometheus.Gauge
	// Streamed answers (responseTransferMode STREAM).
	streamFirstByte *prometheus.HistogramVec
	streamBytes     *prometheus.CounterVec
	streamsCut      *prometheus.CounterVec

	snapVersion prometheus.Gauge
	snapBuilt   prometheus.Gauge
	resources   *prometheus.GaugeVec
	dropped     prometheus.Gauge

	discoveryRuns   *prometheus.CounterVec
	discoveryErrors prometheus.Counter
	credRefreshes   *prometheus.CounterVec

	// Series is the per-route history and the recent errors.
	Series *Series
	// served holds the routes of the last snapshot (KeepRoutes).
	servedMu sync.Mutex
	served   map[RouteID]bool
	now      func() time.Time
}

// New returns a Metrics with every collector registered, plus the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), Series: NewSeries(), now: time.Now}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "requests_total",
		Help: "HTTP requests handled, by virtual service, route, function (logical name), status class and error code (empty on success). Unrouted requests have empty route labels.",
	}, append(routeLabels[:3:3], "status_class", "code"))
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "request_duration_seconds",
		Help: "Total time from receiving a request to writing its response.", Buckets: latencyBuckets,
	}, routeLabels)
	m.lambdaDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "lambda_duration_seconds",
		Help: "Time spent in Lambda Invoke calls for a request, retries included.", Buckets: latencyBuckets,
	}, routeLabels)
	m.lambdaErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "lambda_errors_total",
		Help: "Failed invocations by kind: FunctionError, FunctionTimeout, Throttled, Timeout, FunctionNotFound, AccessDenied, LambdaUnreachable, ...",
	}, append(routeLabels[:3:3], "kind"))
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "lambda_retries_total",
		Help: "Invoke calls repeated after a retryable failure (throttling; what the route's retries policy allows), beyond the first call of each request.",
	}, routeLabels)
	m.streamFirstByte = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "stream_first_byte_seconds",
		Help: "Streamed answers: time from receiving the request to sending the response head, which waits for the function's first chunk.", Buckets: latencyBuckets,
	}, routeLabels)
	m.streamBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "stream_bytes_total", Help: "Body bytes of streamed answers sent to clients.",
	}, routeLabels)
	m.streamsCut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "streams_cut_total",
		Help: "Streamed answers that ended after their first byte without completing, by kind: FunctionError, FunctionTimeout, Timeout (idle or total limit), LambdaUnreachable, ClientCanceled, ...",
	}, append(routeLabels[:3:3], "kind"))
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "requests_in_flight", Help: "Requests being handled now.",
	})
	m.snapVersion = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "snapshot_version", Help: "Version of the configuration snapshot being served.",
	})
	m.snapBuilt = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "snapshot_built_timestamp_seconds", Help: "Unix time the served snapshot was built.",
	})
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "snapshot_age_seconds", Help: "Seconds since the served snapshot was built (0 before the first).",
	}, func() float64 {
		b := m.Series.built.Load()
		if b == 0 {
			return 0
		}
		return m.now().Sub(time.Unix(0, b)).Seconds()
	})
	m.resources = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "resources",
		Help: "Resources in the last build by kind and state (Accepted, Warning, Rejected).",
	}, []string{"kind", "state"})
	m.dropped = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "routes_dropped", Help: "Routes left out of the last build because of errors.",
	})
	m.discoveryRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "discovery_runs_total", Help: "Function discoveries of one upstream, by result (ok or error).",
	}, []string{"result"})
	m.discoveryErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "discovery_errors_total", Help: "Function discoveries that failed.",
	})
	m.credRefreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "credential_refreshes_total",
		Help: "Retrievals of AWS credentials from the default chain (environment, files, SSO, instance role), by result.",
	}, []string{"result"})
	m.authDenied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "auth_denied_total",
		Help: "Requests refused by authentication or authorization (401, 403, and 500 when a Lambda authorizer fails), by virtual service, route and reason (missing_token, invalid_token, expired_token, rbac_denied, missing_api_key, authorizer_denied, authorizer_failure, missing_client_certificate, invalid_client_certificate...).",
	}, []string{"virtual_service", "route", "reason"})
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.lambdaDuration, m.lambdaErrors, m.retries, m.authDenied,
		m.streamFirstByte, m.streamBytes, m.streamsCut,
		m.inFlight, m.snapVersion, m.snapBuilt, age, m.resources, m.dropped, m.discoveryRuns, m.discoveryErrors, m.credRefreshes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	// Result labels exist from the start so rate() works before the first
	// event.
	for _, r := range []string{"ok", "error"} {
		m.discoveryRuns.WithLabelValues(r)
		m.credRefreshes.WithLabelValues(r)
	}
	return m
}

// Registry returns the registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text or OpenMetrics format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Request is one handled request, as the gateway saw it.
type Request struct {
	// VirtualService ("namespace/name"), Route and Function (the logical
	// name) are empty when no route matched.
	VirtualService, Route, Function string
	Status                          int
	// Code is the error code ("" on success), from a fixed set.
	Code string
	// ErrorKind is the Lambda failure kind ("" when Lambda was not called
	// or succeeded).
	ErrorKind string
	// Invoked says Lambda was called, so Lambda is meaningful.
	Invoked bool
	// Attempts is the number of Invoke calls (more than 1 after retries).
	Attempts      int
	Start         time.Time
	Total, Lambda time.Duration
	// DenyReason is why authentication or authorization refused the
	// request ("" when it did not), from a fixed set.
	DenyReason string
	// Method, Path, RequestID and Message go only to the recent errors
	// list, never into labels.
	Method, Path, RequestID, Message string
	// Streamed says the answer was streamed; FirstByte is then the time
	// to its head, BytesOut its body bytes, and StreamCut says it ended
	// early.
	Streamed  bool
	FirstByte time.Duration
	BytesOut  int
	StreamCut bool
}

// StatusClass returns "1xx".."5xx" ("other" outside 100-599).
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// InFlight adds d (+1 or -1) to the in-flight gauge.
func (m *Metrics) InFlight(d float64) { m.inFlight.Add(d) }

// ObserveRequest records one finished request.
func (m *Metrics) ObserveRequest(r Request) {
	m.requests.WithLabelValues(r.VirtualService, r.Route, r.Function, StatusClass(r.Status), r.Code).Inc()
	m.duration.WithLabelValues(r.VirtualService, r.Route, r.Function).Observe(r.Total.Seconds())
	if r.Invoked {
		m.lambdaDuration.WithLabelValues(r.VirtualService, r.Route, r.Function).Observe(r.Lambda.Seconds())
	}
	if r.ErrorKind != "" {
		m.lambdaErrors.WithLabelValues(r.VirtualService, r.Route, r.Function, r.ErrorKind).Inc()
	}
	if r.Attempts > 1 {
		m.retries.WithLabelValues(r.VirtualService, r.Route, r.Function).Add(float64(r.Attempts - 1))
	}
	if r.DenyReason != "" {
		m.authDenied.WithLabelValues(r.VirtualService, r.Route, r.DenyReason).Inc()
	}
	if r.Streamed {
		m.streamBytes.WithLabelValues(r.VirtualService, r.Route, r.Function).Add(float64(r.BytesOut))
		if r.FirstByte > 0 {
			m.streamFirstByte.WithLabelValues(r.VirtualService, r.Route, r.Function).Observe(r.FirstByte.Seconds())
		}
		if r.StreamCut {
			m.streamsCut.WithLabelValues(r.VirtualService, r.Route, r.Function, r.ErrorKind).Inc()
		}
	}
	m.Series.observe(r)
}

// RouteID names a route's series: its labels.
type RouteID struct{ VirtualService, Route, Function string }

// KeepRoutes is called with the routes of each newly served snapshot: the
// series of routes that were served before and are not any more (a
// deleted virtual service, a route whose function changed) are deleted,
// so that they stop being exported and the dashboard forgets them.
func (m *Metrics) KeepRoutes(routes map[RouteID]bool) {
	m.servedMu.Lock()
	prev := m.served
	m.served = routes
	m.servedMu.Unlock()
	for id := range prev {
		if routes[id] {
			continue
		}
		labels := prometheus.Labels{"virtual_service": id.VirtualService, "route": id.Route, "function": id.Function}
		for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{m.requests, m.duration, m.lambdaDuration, m.lambdaErrors, m.retries,
			m.streamFirstByte, m.streamBytes, m.streamsCut} {
			v.DeletePartialMatch(labels)
		}
		m.authDenied.DeletePartialMatch(prometheus.Labels{"virtual_service": id.VirtualService, "route": id.Route})
	}
	keep := make(map[RouteKey]bool, len(routes))
	for id := range routes {
		keep[RouteKey{id.VirtualService, id.Route}] = true
	}
	m.Series.keep(keep)
}

// ResourceCount is the number of resources of a kind in a state.
type ResourceCount struct {
	Kind, State string
	N           int
}

// SetSnapshot records a newly served snapshot: its version, build time,
// resource states and dropped routes.
func (m *Metrics) SetSnapshot(version uint64, built time.Time, counts []ResourceCount, droppedRoutes int) {
	m.snapVersion.Set(float64(version))
	m.snapBuilt.Set(float64(built.UnixNano()) / 1e9)
	m.Series.built.Store(built.UnixNano())
	// Reset so that a kind whose last resource went away reads 0 rather
	// than its old count.
	m.resources.Reset()
	for _, k := range []string{"Upstream", "VirtualService", "Secret", "Settings"} {
		for _, s := range []string{"Accepted", "Warning", "Rejected"} {
			m.resources.WithLabelValues(k, s)
		}
	}
	for _, c := range counts {
		m.resources.WithLabelValues(c.Kind, c.State).Add(float64(c.N))
	}
	m.dropped.Set(float64(droppedRoutes))
}

// DiscoveryRun records one discovery of one upstream.
func (m *Metrics) DiscoveryRun(err error) {
	if err != nil {
		m.discoveryRuns.WithLabelValues("error").Inc()
		m.discoveryErrors.Inc()
		return
	}
	m.discoveryRuns.WithLabelValues("ok").Inc()
}

// CredentialRefresh records one retrieval of default-chain credentials.
func (m *Metrics) CredentialRefresh(err error) {
	if err != nil {
		m.credRefreshes.WithLabelValues("error").Inc()
		return
	}
	m.credRefreshes.WithLabelValues("ok").Inc()
}
