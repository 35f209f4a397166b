package gateway

import (
	"context"
	"errors"
	"log/slog"

	"github.com/lambdagate/lambdagate/internal/metrics"
)

// authDenial is an error by which authentication refused a request; its
// reason labels lambdagate_auth_denied_total.
type authDenial interface{ AuthDeniedReason() string }

// observe records a handled request: metrics, the span, and the access
// log line, which carries a failure's error; without an access log the
// application log has it, so a failure is logged once.
func (g *Gateway) observe(o *Outcome) {
	if g.Metrics != nil {
		req := metrics.Request{
			Status: o.Status, Code: o.Code, ErrorKind: o.ErrorKind, Invoked: o.Invoked, Attempts: o.Attempts,
			Start: o.Start, Total: o.Total, Lambda: o.Lambda,
			Method: o.Method, Path: o.Path, RequestID: o.RequestID,
		}
		if t := o.Target; t != nil {
			req.VirtualService, req.Route, req.Function = t.VirtualService, t.Route, t.LogicalName
		} else if a := o.Answered; a != nil {
			req.VirtualService, req.Route = a.VirtualService, a.Name
		}
		if o.Err != nil {
			req.Message = o.Err.Error()
			var d authDenial
			if errors.As(o.Err, &d) {
				req.AuthDenied = d.AuthDeniedReason()
			}
		}
		g.Metrics.ObserveRequest(req)
	}
	if o.span != nil {
		endSpan(o)
	}
	if g.AccessLog != nil {
		accessLog(g.AccessLog, o)
	} else if o.Err != nil {
		g.logError(o)
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
	} else if a := o.Answered; a != nil {
		attrs = append(attrs, slog.String("virtual_service", a.VirtualService), slog.String("route", a.Name))
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
