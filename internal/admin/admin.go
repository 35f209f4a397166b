// Package admin serves the admin listener: health, metrics, profiles, the
// dashboard, and the overview and config dump, both built from the served
// snapshot and the metrics.
package admin

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"

	"github.com/lambdagate/lambdagate/internal/dashboard"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/metrics"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// Config is what the admin listener reads. Every field is required.
type Config struct {
	// AdminAddr is the address the admin listener binds; its host is one
	// of the names it answers.
	AdminAddr string
	// AdminHosts are the other host names it answers (see adminHostCheck).
	AdminHosts []string
	// AdminExposeAll serves the whole admin API to clients beyond
	// loopback; otherwise they get only /healthz, /readyz and /metrics.
	AdminExposeAll bool
	// Metrics are served on /metrics and feed the overview.
	Metrics *metrics.Metrics
	// Ready is the gateway's readiness and why.
	Ready func() (bool, string)
	// StoreProblem names the stored records that cannot be read ("" when
	// all can).
	StoreProblem func() string
	// RouteWarning is a route's runtime warning ("" when none).
	RouteWarning func(vsKey, route string) string
	// Stored lists the readable stored resources for the config dump.
	Stored func(context.Context) ([]resource.Object, error)
}

// Server answers the admin listener's requests.
type Server struct {
	cfg    Config
	holder *snapshot.Holder
}

// New returns the admin API over the snapshots h holds.
func New(cfg Config, h *snapshot.Holder) *Server {
	return &Server{cfg: cfg, holder: h}
}

// Handler serves the admin listener (loopback by default). To other
// clients it serves only /healthz, /readyz and /metrics unless
// Config.AdminExposeAll:
//
//	/healthz, /readyz   liveness and readiness
//	/metrics            Prometheus metrics
//	/config_dump        the served snapshot and the stored resources as
//	                    JSON, secret values redacted
//	/api/overview       what the dashboard and "lambdagate status" show
//	/debug/pprof/       Go profiles
//	/                   the dashboard
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ok, why := s.cfg.Ready()
		w.Header().Set("Content-Type", "text/plain")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(why + "\n"))
	})
	mux.Handle("GET /metrics", s.cfg.Metrics.Handler())
	mux.HandleFunc("GET /config_dump", func(w http.ResponseWriter, r *http.Request) {
		d, err := s.ConfigDump(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, d)
	})
	mux.HandleFunc("GET /api/overview", func(w http.ResponseWriter, r *http.Request) {
		ov, err := s.Overview(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, ov)
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", dashboard.Handler())
	if s.cfg.AdminExposeAll {
		return s.adminHostCheck(mux)
	}
	return s.adminHostCheck(loopbackOnly(mux))
}

// adminHostCheck answers 403 to a Host that is neither an IP literal,
// "localhost", the host of Config.AdminAddr nor one of Config.AdminHosts.
// A browser sends the page's own name as Host, so a page whose DNS name was
// rebound to the admin address (DNS rebinding) cannot read /config_dump or
// /debug/pprof through it.
func (s *Server) adminHostCheck(next http.Handler) http.Handler {
	allowed := map[string]bool{"localhost": true}
	// The name --admin-addr binds is configured too.
	if h, _, err := net.SplitHostPort(s.cfg.AdminAddr); err == nil && h != "" {
		allowed[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	for _, h := range s.cfg.AdminHosts {
		allowed[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if router.ValidHost(host) {
			if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
				host = host[:i]
			}
			host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
			if net.ParseIP(host) != nil || allowed[strings.ToLower(strings.TrimSuffix(host, "."))] {
				next.ServeHTTP(w, r)
				return
			}
		}
		httperr.Write(w, httperr.New(http.StatusForbidden, "AdminHostNotAllowed",
			"the admin listener answers IP addresses, localhost and the names of --admin-hosts, not Host "+strconv.Quote(r.Host)), "")
	})
}

// remotePaths are the admin paths served to clients outside the host (the
// pod): the kubelet's probes and Prometheus' scrapes.
var remotePaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// loopbackOnly serves the rest of the admin API (the configuration dump,
// profiles, the dashboard) only to loopback clients, so that an admin
// listener bound beyond loopback for the kubelet's probes does not expose
// them to the network; kubectl port-forward still reaches them.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !remotePaths[r.URL.Path] && !loopbackClient(r.RemoteAddr) {
			httperr.Write(w, httperr.New(http.StatusForbidden, "AdminPathLoopbackOnly",
				"this admin path is served to loopback clients only (serve --admin-expose-all serves it to every client)"), "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackClient(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
