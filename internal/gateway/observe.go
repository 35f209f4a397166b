package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/metrics"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// initObservability wires metrics and the access log into the gateway. A
// hook set by the caller before Run (Gateway().Observe) still runs.
func (s *Server) initObservability() {
	if s.cfg.Metrics == nil {
		s.cfg.Metrics = metrics.New()
	}
	s.resolver.OnRefresh = s.cfg.Metrics.CredentialRefresh
	s.gateway.Observe = s.observe
	s.gateway.tracer = s.cfg.Tracer
}

// dataHandler is the gateway with the in-flight gauge around it.
func (s *Server) dataHandler() http.Handler {
	m := s.cfg.Metrics
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.InFlight(1)
		defer m.InFlight(-1)
		s.gateway.ServeHTTP(w, r)
	})
}

func (s *Server) observe(o *Outcome) {
	req := metrics.Request{
		Status: o.Status, Code: o.Code, ErrorKind: o.ErrorKind, Invoked: o.Invoked, Attempts: o.Attempts,
		Start: o.Start, Total: o.Total, Lambda: o.Lambda,
		Method: o.Method, Path: o.Path, RequestID: o.RequestID,
	}
	if t := o.Target; t != nil {
		req.VirtualService, req.Route, req.Function = t.VirtualService, t.Route, t.LogicalName
	}
	if o.Err != nil {
		req.Message = o.Err.Error()
	}
	s.cfg.Metrics.ObserveRequest(req)
	if o.span != nil {
		endSpan(o)
	}
	// A failed request is logged once: its access log line carries the
	// error; without an access log, the application log has it.
	if s.cfg.AccessLog != nil {
		accessLog(s.cfg.AccessLog, o)
	} else if o.Err != nil {
		s.gateway.logError(o)
	}
}

// accessLog writes one record for a request. It names the request as the
// client sent it (method and path before any rewriting, gloo#5560) and
// never logs headers, the query string or bodies, where credentials and
// tokens travel. A failed request's line carries its error message, as the
// application log line it replaces did.
func accessLog(l *slog.Logger, o *Outcome) {
	attrs := make([]slog.Attr, 0, 20)
	attrs = append(attrs,
		slog.String("request_id", o.RequestID),
		slog.String("method", o.Method),
		slog.String("path", o.Path),
		slog.String("host", o.Host),
		slog.String("remote", o.Remote),
	)
	if t := o.Target; t != nil {
		attrs = append(attrs,
			slog.String("virtual_service", t.VirtualService),
			slog.String("route", t.Route),
			slog.String("upstream", t.Upstream),
			slog.String("function", t.LogicalName),
			slog.String("function_name", t.FunctionName),
			slog.String("qualifier", t.Qualifier),
		)
	}
	attrs = append(attrs,
		slog.Int("status", o.Status),
		slog.Float64("duration_ms", ms(o.Total.Seconds())),
	)
	if o.Invoked {
		attrs = append(attrs,
			slog.Float64("lambda_ms", ms(o.Lambda.Seconds())),
			slog.String("lambda_request_id", o.LambdaRequestID),
			slog.Int("attempts", o.Attempts),
		)
	}
	attrs = append(attrs, slog.Int("bytes_in", o.BytesIn), slog.Int("bytes_out", o.BytesOut))
	if o.TraceID != "" {
		attrs = append(attrs, slog.String("trace_id", o.TraceID))
	}
	if o.Code != "" {
		attrs = append(attrs, slog.String("code", o.Code))
	}
	if o.ErrorKind != "" {
		attrs = append(attrs, slog.String("error_kind", o.ErrorKind))
	}
	if o.Err != nil {
		attrs = append(attrs, slog.String("error", o.Err.Error()))
	}
	l.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

// ms rounds seconds to milliseconds with microsecond precision.
func ms(sec float64) float64 { return float64(int64(sec*1e6+0.5)) / 1e3 }

// observeSnapshot records a newly served snapshot in the metrics.
func (s *Server) observeSnapshot(snap *snapshot.Snapshot) {
	type ks struct{ kind, state string }
	n := map[ks]int{}
	for ref, st := range snap.Statuses {
		kind, _, _ := strings.Cut(ref, " ")
		state := string(st.State)
		if state == "" {
			state = string(core.StateAccepted)
		}
		n[ks{kind, state}]++
	}
	counts := make([]metrics.ResourceCount, 0, len(n))
	for k, v := range n {
		counts = append(counts, metrics.ResourceCount{Kind: k.kind, State: k.state, N: v})
	}
	dropped := 0
	for _, d := range snap.DroppedRoutes {
		dropped += d
	}
	s.cfg.Metrics.SetSnapshot(snap.Version, snap.Built, counts, dropped)
	routes := map[metrics.RouteID]bool{}
	for _, table := range []*router.Table{snap.HTTP, snap.HTTPS} {
		if table == nil {
			continue
		}
		for _, vh := range table.VirtualHosts() {
			for _, rt := range vh.Routes {
				if t, ok := rt.Target.(*lambda.Target); ok {
					routes[metrics.RouteID{VirtualService: t.VirtualService, Route: t.Route, Function: t.LogicalName}] = true
				}
			}
		}
	}
	s.cfg.Metrics.KeepRoutes(routes)
}
