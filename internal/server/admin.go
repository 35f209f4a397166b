package server

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/lambdagate/lambdagate/internal/dashboard"
)

// adminHandler serves the admin listener (loopback by default). To other
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
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ok, why := s.Ready()
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
		return mux
	}
	return loopbackOnly(mux)
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
			http.Error(w, "this admin path is served to loopback clients only (serve --admin-expose-all serves it to every client)", http.StatusForbidden)
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
