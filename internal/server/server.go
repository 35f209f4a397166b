// Package server runs lambdagate's gateway: it wires the data plane
// (internal/gateway) and the admin API (internal/admin) to the HTTP, HTTPS
// and admin listeners, and runs the loop that turns store changes into
// snapshots and statuses.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/lambdagate/lambdagate/internal/admin"
	"github.com/lambdagate/lambdagate/internal/auth/jwks"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/controller"
	"github.com/lambdagate/lambdagate/internal/discovery"
	"github.com/lambdagate/lambdagate/internal/gateway"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/metrics"
	"github.com/lambdagate/lambdagate/internal/ratelimit"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/store"
)

// Config is the gateway's process configuration.
type Config struct {
	// HTTPAddr is the plain listener. Default ":8080".
	HTTPAddr string
	// HTTPSAddr is the TLS listener for virtual services with sslConfig.
	// Default ":8443"; "" disables it.
	HTTPSAddr string
	// AdminAddr serves /healthz, /readyz and later metrics. Default
	// "127.0.0.1:9091": loopback only unless set explicitly.
	AdminAddr string
	// AdminExposeAll serves the whole admin API (configuration dump,
	// profiles, dashboard) to every client. Default false: clients other
	// than loopback get only /healthz, /readyz and /metrics.
	AdminExposeAll bool
	// ReadHeaderTimeout bounds reading request headers (slowloris).
	// Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request including its body.
	// Default 60s.
	ReadTimeout time.Duration
	// WriteTimeout bounds handling a request after its headers, so it must
	// exceed the longest route timeout. Default 15m30s.
	WriteTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections. Default 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes limits request headers; more gets 431. Default 64 KiB.
	MaxHeaderBytes int
	// ShutdownGrace is how long in-flight requests may run after SIGTERM.
	// Default 30s.
	ShutdownGrace time.Duration
	// ReusePort sets SO_REUSEPORT on the HTTP and HTTPS listeners so a new
	// gateway can bind the port of a running one (rolling restarts).
	// Default false.
	ReusePort bool
	// ShutdownDelay is how long the gateway keeps serving after SIGTERM
	// with readiness already false, before it closes its listeners, so
	// that load balancers stop sending first. Default 0.
	ShutdownDelay time.Duration
	// Debounce batches bursts of store changes into one rebuild. Default
	// 50ms.
	Debounce time.Duration
	// LocalLambda, when set, is the Lambda endpoint of upstreams that set
	// no endpointUrl.
	LocalLambda *url.URL
	// LambdaClient is the HTTP client that calls Lambda:
	// lambda.ClientLambdagate (the gateway's own HTTP/1.1 client) or
	// lambda.ClientNetHTTP. Default lambda.ClientLambdagate.
	LambdaClient string
	// ThrottleRetries and ThrottleRetryBudget bound the retries of a
	// throttled Invoke (lambda.Options). Defaults 3 and 1s; negative
	// ThrottleRetries: none.
	ThrottleRetries     int
	ThrottleRetryBudget time.Duration
	// DiscoveryInterval is how often each upstream's functions are listed.
	// Default 5s; negative disables discovery in this process.
	DiscoveryInterval time.Duration
	// DiscoveryGate, when set, runs discovery: it calls run only while this
	// process may discover (Kubernetes mode: while it holds the leader
	// Lease) and returns when ctx is done. Default nil: always run.
	DiscoveryGate func(ctx context.Context, run func(context.Context))
	Logger        *slog.Logger
	// AccessLog gets one record per request (see gateway/observe.go); nil
	// disables it. Default nil; "lambdagate serve" writes JSON lines to
	// stdout.
	AccessLog *slog.Logger
	// Metrics collects the gateway's metrics, served on the admin
	// listener. Default: a new set.
	Metrics *metrics.Metrics
	// Tracer records one span per routed request, the parent of the
	// function's (see gateway/trace.go). Default nil: no spans, trace context
	// only propagated.
	Tracer trace.Tracer
	// BodyDiscard bounds reading an unread request body after an error
	// answer, so that a client writing its whole request first reads the
	// answer. Defaults: 64 MiB, 10s.
	BodyDiscard gateway.BodyDiscard
	// Stream bounds the answers of streaming routes (responseTransferMode
	// STREAM) once begun. Defaults: 5m idle, 15m in all.
	Stream gateway.StreamOptions
	// AdminHosts are the host names, besides IP literals, "localhost" and
	// the host of AdminAddr, that the admin listener answers (its Host header, port aside; case
	// insensitive). Any other name gets 403, so a web page that rebinds
	// its own DNS name to the admin address cannot read it. Default: none.
	AdminHosts []string
	// DisableH2C turns off HTTP/2 with prior knowledge (h2c) on the plain
	// HTTP and admin listeners, leaving HTTP/1.1 only. Default false: both
	// speak h2c (HTTPS negotiates HTTP/2 through ALPN either way).
	DisableH2C bool
	// Inherited are listeners passed in by a supervisor (socket
	// activation, see activation.go); each one set is used instead of
	// binding its address. Default: none.
	Inherited Inherited
}

func (c *Config) defaults() {
	if c.HTTPAddr == "" {
		c.HTTPAddr = ":8080"
	}
	if c.AdminAddr == "" {
		c.AdminAddr = "127.0.0.1:9091"
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 15*time.Minute + 30*time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.Debounce == 0 {
		c.Debounce = 50 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.BodyDiscard = c.BodyDiscard.WithDefaults()
}

// Server is a running gateway.
type Server struct {
	cfg      Config
	store    store.Store
	holder   snapshot.Holder
	invoker  *lambda.Invoker
	resolver *awscreds.Resolver
	gateway  *gateway.Gateway
	admin    *admin.Server
	ctrl     *controller.Controller
	log      *slog.Logger

	rateLimits *ratelimit.Registry

	draining  atomic.Bool
	discovery *discovery.Discoverer

	// Addresses actually bound (port 0 resolved).
	HTTPListenAddr, HTTPSListenAddr, AdminListenAddr net.Addr
}

// New returns a server reading configuration from st.
func New(cfg Config, st store.Store) *Server {
	cfg.defaults()
	s := &Server{
		cfg:     cfg,
		store:   st,
		invoker: lambda.NewInvoker(lambda.Options{Client: cfg.LambdaClient, ThrottleRetries: cfg.ThrottleRetries, ThrottleRetryBudget: cfg.ThrottleRetryBudget}),
		log:     cfg.Logger,
	}
	// Credential problems (STS failing) show on upstream statuses.
	s.resolver = awscreds.New(awscreds.Options{Logger: s.log.With("component", "credentials"), OnChange: s.Trigger})
	s.gateway = gateway.New(&s.holder, s.invoker, s.log)
	s.gateway.OnWarningChange = s.Trigger
	// Redis becoming unreachable or reachable shows on route statuses.
	s.rateLimits = ratelimit.NewRegistry()
	s.rateLimits.OnChange = s.Trigger
	s.gateway.Discard = cfg.BodyDiscard
	s.gateway.Stream = cfg.Stream
	s.initObservability()
	s.admin = admin.New(admin.Config{
		AdminAddr:      cfg.AdminAddr,
		AdminHosts:     cfg.AdminHosts,
		AdminExposeAll: cfg.AdminExposeAll,
		Metrics:        s.cfg.Metrics,
		Ready:          s.Ready,
		StoreProblem:   func() string { return s.ctrl.StoreProblem() },
		RouteWarning:   s.routeWarning,
		Stored:         s.storedResources,
	}, &s.holder)
	if cfg.DiscoveryInterval >= 0 {
		s.discovery = discovery.New(st, discovery.Options{
			Interval:  cfg.DiscoveryInterval,
			Endpoints: lambda.Endpoints{LocalLambda: cfg.LocalLambda},
			Resolver:  s.resolver,
			Logger:    s.log.With("component", "discovery"),
			OnChange:  s.Trigger,
			OnRun:     s.cfg.Metrics.DiscoveryRun,
		})
	}
	ctrl := controller.Config{Debounce: cfg.Debounce, LocalLambda: cfg.LocalLambda, Logger: s.log,
		RouteWarning: s.routeWarning, RateLimits: s.rateLimits, OnSnapshot: s.observeSnapshot}
	if s.discovery != nil {
		ctrl.UpstreamWarning = s.discovery.Error
	}
	s.ctrl = controller.New(ctrl, st, &s.holder, s.resolver)
	return s
}

// routeWarning is a route's runtime conditions: its function's (the
// gateway's) and its rate limits' Redis.
func (s *Server) routeWarning(vsKey, route string) string {
	g, rl := s.gateway.RouteWarning(vsKey, route), s.rateLimits.RouteWarning(vsKey, route)
	switch {
	case g == "":
		return rl
	case rl == "":
		return g
	}
	return g + "; " + rl
}

// Trigger says a runtime condition changed: statuses are merged and written
// again soon, without a rebuild.
func (s *Server) Trigger() { s.ctrl.Trigger() }

// Rebuild forces a rebuild now (tests, SIGHUP); the statuses it computed
// are written when it returns.
func (s *Server) Rebuild(ctx context.Context) { s.ctrl.Rebuild(ctx) }

// Snapshot returns the snapshot being served.
func (s *Server) Snapshot() *snapshot.Snapshot { return s.holder.Load() }

// Ready reports whether the gateway serves a configuration, can read its
// store, and is not shutting down.
func (s *Server) Ready() (bool, string) {
	switch {
	case s.draining.Load():
		return false, "shutting down"
	case s.holder.Load() == nil:
		return false, "configuration not loaded yet"
	case s.ctrl.StoreProblem() != "":
		return false, s.ctrl.StoreProblem()
	case !s.ctrl.ConfigOK():
		return false, "configuration store unavailable; serving the last snapshot"
	}
	return true, "ok"
}

// Listen binds every listener. Call Run afterwards. Binding first lets the
// caller learn the ports before serving.
func (s *Server) Listen() (*Listeners, error) {
	in := s.cfg.Inherited
	l := &Listeners{http: in.HTTP, https: in.HTTPS, admin: in.Admin}
	var err error
	if l.http == nil {
		if l.http, err = s.listen(s.cfg.HTTPAddr); err != nil {
			l.Close()
			return nil, fmt.Errorf("listening on --http-addr %s: %w", s.cfg.HTTPAddr, err)
		}
	}
	s.HTTPListenAddr = l.http.Addr()
	if l.https == nil && s.cfg.HTTPSAddr != "" {
		if l.https, err = s.listen(s.cfg.HTTPSAddr); err != nil {
			l.Close()
			return nil, fmt.Errorf("listening on --https-addr %s: %w", s.cfg.HTTPSAddr, err)
		}
	}
	if l.https != nil {
		s.HTTPSListenAddr = l.https.Addr()
	}
	if l.admin == nil && s.cfg.AdminAddr != "" {
		if l.admin, err = net.Listen("tcp", s.cfg.AdminAddr); err != nil {
			l.Close()
			return nil, fmt.Errorf("listening on --admin-addr %s: %w", s.cfg.AdminAddr, err)
		}
	}
	if l.admin != nil {
		s.AdminListenAddr = l.admin.Addr()
	}
	return l, nil
}

// Listeners are the bound sockets.
type Listeners struct {
	http, https, admin net.Listener
}

// Close closes every listener.
func (l *Listeners) Close() {
	for _, x := range []net.Listener{l.http, l.https, l.admin} {
		if x != nil {
			x.Close()
		}
	}
}

// Run serves until ctx is done, then drains: readiness turns false, new
// connections are refused, and in-flight requests get ShutdownGrace.
func (s *Server) Run(ctx context.Context, l *Listeners) error {
	rctx, stopReconcile := context.WithCancel(context.Background())
	defer stopReconcile()
	// A JWT key set that stops (or starts again) being fetched changes
	// the statuses of the routes that use it.
	defer jwks.Subscribe(s.Trigger)()
	reconciled := make(chan struct{})
	go func() { defer close(reconciled); s.ctrl.Run(rctx) }()
	discovered := make(chan struct{})
	go func() {
		defer close(discovered)
		if s.discovery != nil {
			if s.cfg.DiscoveryGate != nil {
				s.cfg.DiscoveryGate(rctx, s.discovery.Run)
			} else {
				s.discovery.Run(rctx)
			}
		}
	}()

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(!s.cfg.DisableH2C)
	nc := &newConns{} // see drain.go
	mk := func(h http.Handler) *http.Server {
		return &http.Server{
			ConnState:         nc.connState,
			Handler:           h,
			ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
			ReadTimeout:       s.cfg.ReadTimeout,
			WriteTimeout:      s.cfg.WriteTimeout,
			IdleTimeout:       s.cfg.IdleTimeout,
			MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
			Protocols:         protocols,
		}
	}
	var servers []*http.Server
	errc := make(chan error, 3)
	start := func(srv *http.Server, ln net.Listener, tlsOn bool) {
		servers = append(servers, srv)
		go func() {
			var err error
			if tlsOn {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	s.awaitFirstSnapshot(ctx)
	start(mk(s.dataHandler()), l.http, false)
	if l.https != nil {
		srv := mk(s.dataHandler())
		srv.Protocols = nil // HTTP/1.1 and HTTP/2 over TLS via ALPN
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetConfigForClient: s.tlsConfigFor}
		start(srv, l.https, true)
	}
	if l.admin != nil {
		start(mk(s.admin.Handler()), l.admin, false)
	}
	s.log.Info("gateway listening", "http", addrString(l.http), "https", addrString(l.https), "admin", addrString(l.admin))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.draining.Store(true)
	if ctx.Err() != nil && s.cfg.ShutdownDelay > 0 {
		// Readiness is false now; keep serving while load balancers notice.
		// Answers carry "Connection: close" from now on, so keep-alive
		// clients move to another instance before the listeners close.
		s.log.Info("not ready; still serving before shutting down", "delay", s.cfg.ShutdownDelay.String())
		for _, srv := range servers {
			srv.SetKeepAlivesEnabled(false)
		}
		time.Sleep(s.cfg.ShutdownDelay)
	}
	s.log.Info("shutting down", "grace", s.cfg.ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	s.stopAccepting(sctx, l, nc)
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Add(1)
		go func() { defer wg.Done(); _ = srv.Shutdown(sctx) }()
	}
	wg.Wait()
	stopReconcile()
	<-reconciled
	<-discovered
	s.invoker.CloseIdle()
	return runErr
}

func addrString(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// tlsConfigFor picks the certificate for the client's SNI name from the
// current snapshot, so a certificate change needs no restart.
func (s *Server) tlsConfigFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	snap := s.holder.Load()
	if snap == nil || len(snap.Certificates) == 0 {
		return nil, errors.New("no TLS certificate configured")
	}
	c := pickCertificate(snap.Certificates, hello.ServerName)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{*c.Cert},
		MinVersion:   c.MinVersion,
		MaxVersion:   c.MaxVersion,
		NextProtos:   []string{"h2", "http/1.1"},
		CipherSuites: tls12CipherSuites,
	}
	if ca := c.ClientCA; ca != nil {
		// Mutual TLS: the routes verify the certificate (Host may name
		// another virtual service than SNI) and answer 403 without one.
		ca.TLSConfig(cfg)
	}
	return cfg, nil
}

func pickCertificate(certs []snapshot.Certificate, name string) *snapshot.Certificate {
	name = strings.ToLower(name)
	var wildcard *snapshot.Certificate
	for i := range certs {
		for _, d := range certs[i].Domains {
			d = strings.ToLower(d)
			switch {
			case d == name:
				return &certs[i]
			case strings.HasPrefix(d, "*") && d != "*" && strings.HasSuffix(name, d[1:]) && wildcard == nil:
				wildcard = &certs[i]
			}
		}
	}
	if wildcard != nil {
		return wildcard
	}
	return &certs[0]
}
