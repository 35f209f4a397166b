package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/metrics"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// Overview is what the dashboard and "lambdagate status" show: virtual
// services, their routes and functions, each route's recent traffic, every
// resource's status, and the recent failed requests. It is the JSON of
// GET /api/overview on the admin listener.
type Overview struct {
	Now         time.Time `json:"now"`
	Version     uint64    `json:"version"`
	Built       time.Time `json:"built,omitzero"`
	AgeSeconds  float64   `json:"ageSeconds"`
	Ready       bool      `json:"ready"`
	ReadyReason string    `json:"readyReason"`
	// StoreProblem says which stored records cannot be read ("" when all
	// can); the overview still shows what is served, which for those
	// records is their last good version.
	StoreProblem string `json:"storeProblem,omitempty"`
	// SeriesSeconds is the length of each route's series (one point a
	// second, oldest first).
	SeriesSeconds   int                  `json:"seriesSeconds"`
	Totals          Totals               `json:"totals"`
	VirtualServices []VirtualServiceView `json:"virtualServices"`
	Upstreams       []UpstreamView       `json:"upstreams"`
	Resources       []ResourceView       `json:"resources"`
	RecentErrors    []metrics.ErrorEntry `json:"recentErrors"`
}

// Totals sums the routes' counters.
type Totals struct {
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	RatePerSec float64 `json:"ratePerSec"`
	// Unrouted counts the requests no route took (404 NoRoute), which
	// the route counters above leave out, since the gateway started.
	Unrouted int64 `json:"unrouted"`
}

// VirtualServiceView is one virtual service and the routes it serves.
type VirtualServiceView struct {
	Name          string      `json:"name"`
	State         string      `json:"state"`
	Reason        string      `json:"reason,omitempty"`
	Domains       []string    `json:"domains"`
	HTTPS         bool        `json:"https"`
	DroppedRoutes int         `json:"droppedRoutes,omitempty"`
	Routes        []RouteView `json:"routes"`
}

// RouteView is one served route, its function and its traffic.
type RouteView struct {
	Name         string `json:"name"`
	Match        string `json:"match"`
	Upstream     string `json:"upstream"`
	Function     string `json:"function"`
	FunctionName string `json:"functionName"`
	Qualifier    string `json:"qualifier,omitempty"`
	Async        bool   `json:"async,omitempty"`
	Warning      string `json:"warning,omitempty"`
	// Answer describes a route the gateway answers itself, without a
	// function ("directResponse 503", "redirect 301 https"); Upstream and
	// the function fields are then empty.
	Answer string             `json:"answer,omitempty"`
	Stats  metrics.RouteStats `json:"stats"`
}

// UpstreamView is one AWS upstream and its functions.
type UpstreamView struct {
	Name      string         `json:"name"`
	State     string         `json:"state"`
	Reason    string         `json:"reason,omitempty"`
	Region    string         `json:"region"`
	Functions []FunctionView `json:"functions"`
}

// FunctionView is one function of an upstream.
type FunctionView struct {
	LogicalName  string `json:"logicalName"`
	FunctionName string `json:"functionName"`
	Qualifier    string `json:"qualifier,omitempty"`
}

// ResourceView is one resource's status.
type ResourceView struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// servedVS is a stored virtual service and the compiled host serving it
// (nil when the snapshot does not serve it).
type servedVS struct {
	obj   *resource.VirtualService
	https bool
	vh    *router.VirtualHost
}

// served lists the virtual services of the snapshot with their compiled
// hosts. The router's tables are found by the virtual service's own
// domains, so this needs nothing from the router but its lookup.
func served(snap *snapshot.Snapshot) []servedVS {
	if snap == nil {
		return nil
	}
	var out []servedVS
	httpVH, httpsVH := snap.HTTP.VirtualHosts(), snap.HTTPS.VirtualHosts()
	for _, o := range snap.Resources {
		vs, ok := o.(*resource.VirtualService)
		if !ok {
			continue
		}
		sv := servedVS{obj: vs, https: vs.Spec.SSLConfig != nil}
		if sv.https {
			sv.vh = httpsVH[vs.Metadata.Key()]
		} else {
			sv.vh = httpVH[vs.Metadata.Key()]
		}
		out = append(out, sv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].obj.Metadata.Key() < out[j].obj.Metadata.Key() })
	return out
}

// Overview builds the overview from the served snapshot and the in-memory
// series; it reads nothing from the store, so an unreadable record is one
// field of it (StoreProblem) rather than a failure of the whole view.
func (s *Server) Overview(context.Context) (*Overview, error) {
	now := time.Now()
	snap := s.holder.Load()
	ov := &Overview{Now: now, SeriesSeconds: 60, VirtualServices: []VirtualServiceView{}, Upstreams: []UpstreamView{},
		Resources: []ResourceView{}}
	ov.Ready, ov.ReadyReason = s.cfg.Ready()
	ov.StoreProblem = s.cfg.StoreProblem()
	ser := s.cfg.Metrics.Series
	ov.RecentErrors = ser.RecentErrors()
	ov.Totals.Unrouted = ser.Unrouted()
	statusOf := func(ref string) (string, string) {
		if snap == nil {
			return "Pending", ""
		}
		st, ok := snap.Statuses[ref]
		if !ok {
			return "Pending", ""
		}
		return string(st.State), st.Reason
	}
	if snap != nil {
		ov.Version, ov.Built, ov.AgeSeconds = snap.Version, snap.Built, now.Sub(snap.Built).Seconds()
		for ref, st := range snap.Statuses {
			kind, name, _ := strings.Cut(ref, " ")
			ov.Resources = append(ov.Resources, ResourceView{Kind: kind, Name: name, State: string(st.State), Reason: st.Reason})
		}
		sort.Slice(ov.Resources, func(i, j int) bool {
			a, b := ov.Resources[i], ov.Resources[j]
			if a.Kind != b.Kind {
				return a.Kind < b.Kind
			}
			return a.Name < b.Name
		})
	}
	for _, sv := range served(snap) {
		key := sv.obj.Metadata.Key()
		v := VirtualServiceView{Name: key, Domains: sv.obj.Spec.VirtualHost.Domains, HTTPS: sv.https, Routes: []RouteView{}}
		if v.Domains == nil {
			v.Domains = []string{"*"}
		}
		ref := resource.Ref(sv.obj)
		v.State, v.Reason = statusOf(ref)
		if snap != nil {
			v.DroppedRoutes = snap.DroppedRoutes[ref]
		}
		if sv.vh != nil {
			for _, rt := range sv.vh.Routes {
				p := pipeline.Of(rt)
				if p == nil {
					continue
				}
				t := pipeline.Target(rt)
				key := metrics.RouteKey{VirtualService: p.VirtualService, Route: p.Name}
				if t != nil {
					key = metrics.RouteKey{VirtualService: t.VirtualService, Route: t.Route}
				}
				st := ser.Route(key, now, ov.SeriesSeconds)
				ov.Totals.Requests += st.Total
				ov.Totals.Errors += st.TotalErrors
				ov.Totals.RatePerSec += st.RatePerSec
				rv := RouteView{Name: rt.Name, Match: describeMatch(rt.Matchers), Answer: describeAnswer(p), Stats: st}
				if t != nil {
					rv.Upstream, rv.Function, rv.FunctionName, rv.Qualifier, rv.Async = t.Upstream, t.LogicalName, t.FunctionName, t.Qualifier, t.Async
					rv.Warning = s.cfg.RouteWarning(t.VirtualService, t.Route)
				}
				v.Routes = append(v.Routes, rv)
			}
		}
		ov.VirtualServices = append(ov.VirtualServices, v)
	}
	var ups []resource.Object
	if snap != nil {
		ups = snap.Resources
	}
	for _, o := range ups {
		u, ok := o.(*resource.Upstream)
		if !ok {
			continue
		}
		uv := UpstreamView{Name: u.Metadata.Key(), Functions: []FunctionView{}}
		uv.State, uv.Reason = statusOf(resource.Ref(u))
		if a := u.Spec.AWS; a != nil {
			uv.Region = a.Region
			for _, f := range a.LambdaFunctions {
				uv.Functions = append(uv.Functions, FunctionView{LogicalName: f.LogicalName, FunctionName: f.LambdaFunctionName, Qualifier: f.Qualifier})
			}
		}
		ov.Upstreams = append(ov.Upstreams, uv)
	}
	sort.Slice(ov.Upstreams, func(i, j int) bool { return ov.Upstreams[i].Name < ov.Upstreams[j].Name })
	return ov, nil
}

// describeMatch renders matchers the way they are written in a manifest,
// e.g. "exact /" or "prefix /api GET,POST".
func describeMatch(ms []*router.Matcher) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		var b strings.Builder
		switch m.Kind {
		case router.PathExact:
			b.WriteString("exact " + m.Path)
		case router.PathPrefix:
			b.WriteString("prefix " + m.Path)
		case router.PathRegex:
			b.WriteString("regex " + m.Regex.String())
		}
		if len(m.Methods) > 0 {
			b.WriteString(" " + strings.Join(m.Methods, ","))
		}
		for _, h := range m.Headers {
			b.WriteString(" header:" + h.Name)
		}
		for _, q := range m.Query {
			b.WriteString(" query:" + q.Name)
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, " | ")
}

// ConfigDump is GET /config_dump: the served snapshot and the stored
// resources. Credentials never appear: targets say only which kind of
// credential source they use, secret values and annotations are replaced
// by "<redacted>", and user info is dropped from endpoint URLs.
type ConfigDump struct {
	Version         uint64               `json:"version"`
	Built           time.Time            `json:"built,omitzero"`
	Statuses        map[string]any       `json:"statuses"`
	DroppedRoutes   map[string]int       `json:"droppedRoutes"`
	StoreProblem    string               `json:"storeProblem,omitempty"`
	VirtualServices []DumpVirtualService `json:"virtualServices"`
	Certificates    []DumpCertificate    `json:"certificates"`
	Resources       []map[string]any     `json:"resources"`
}

// DumpVirtualService is a served virtual service's compiled routes.
type DumpVirtualService struct {
	Name    string      `json:"name"`
	HTTPS   bool        `json:"https"`
	Served  bool        `json:"served"`
	Domains []string    `json:"domains"`
	Routes  []DumpRoute `json:"routes"`
}

// DumpRoute is one compiled route and its Lambda target, or the answer
// the gateway gives itself.
type DumpRoute struct {
	Name   string     `json:"name"`
	Match  string     `json:"match"`
	Target DumpTarget `json:"target,omitzero"`
	// Answer describes a direct response or a redirect (see RouteView).
	Answer string `json:"answer,omitempty"`
	// Weighted lists every destination of a route with weighted
	// destinations (Target is the first).
	Weighted []DumpWeighted `json:"weighted,omitempty"`
}

// describeAnswer names what a route the gateway answers itself sends
// ("" for a route that invokes a function).
func describeAnswer(p *pipeline.Route) string {
	switch {
	case p.Direct != nil:
		return fmt.Sprintf("directResponse %d", p.Direct.Status)
	case p.Redirect != nil:
		d := fmt.Sprintf("redirect %d", p.Redirect.Status)
		if p.Redirect.Scheme != "" {
			d += " " + p.Redirect.Scheme
		}
		if p.Redirect.Host != "" {
			d += " " + p.Redirect.Host
		}
		return d
	}
	return ""
}

// DumpWeighted is one weighted destination and its weight.
type DumpWeighted struct {
	Weight uint64     `json:"weight"`
	Target DumpTarget `json:"target"`
}

// DumpTarget is a lambda.Target without its credentials.
type DumpTarget struct {
	Upstream                 string `json:"upstream"`
	LogicalName              string `json:"logicalName"`
	FunctionName             string `json:"functionName"`
	Qualifier                string `json:"qualifier,omitempty"`
	Region                   string `json:"region"`
	InvokeURL                string `json:"invokeURL"`
	Credentials              string `json:"credentials"`
	Async                    bool   `json:"async"`
	Wrap                     string `json:"wrap"`
	Unwrap                   string `json:"unwrap"`
	ALBMultiValue            bool   `json:"albMultiValueHeaders,omitempty"`
	Timeout                  string `json:"timeout"`
	PropagateOriginalRouting bool   `json:"propagateOriginalRouting,omitempty"`
}

// DumpCertificate names a served certificate's domains, never its key.
type DumpCertificate struct {
	VirtualService string   `json:"virtualService"`
	Domains        []string `json:"domains"`
}

// Redacted replaces every secret value in the config dump.
const Redacted = "<redacted>"

// ConfigDump builds the dump.
func (s *Server) ConfigDump(ctx context.Context) (*ConfigDump, error) {
	snap := s.holder.Load()
	d := &ConfigDump{Statuses: map[string]any{}, DroppedRoutes: map[string]int{}, VirtualServices: []DumpVirtualService{},
		Certificates: []DumpCertificate{}, Resources: []map[string]any{}}
	d.StoreProblem = s.cfg.StoreProblem()
	if snap != nil {
		d.Version, d.Built = snap.Version, snap.Built
		for k, v := range snap.Statuses {
			d.Statuses[k] = v
		}
		for k, v := range snap.DroppedRoutes {
			d.DroppedRoutes[k] = v
		}
		for _, c := range snap.Certificates {
			d.Certificates = append(d.Certificates, DumpCertificate{VirtualService: c.VirtualService, Domains: c.Domains})
		}
	}
	for _, sv := range served(snap) {
		dv := DumpVirtualService{Name: sv.obj.Metadata.Key(), HTTPS: sv.https, Served: sv.vh != nil,
			Domains: sv.obj.Spec.VirtualHost.Domains, Routes: []DumpRoute{}}
		if sv.vh != nil {
			for _, rt := range sv.vh.Routes {
				p := pipeline.Of(rt)
				if p == nil {
					continue
				}
				dr := DumpRoute{Name: rt.Name, Match: describeMatch(rt.Matchers), Answer: describeAnswer(p)}
				if t := pipeline.Target(rt); t != nil {
					dr.Target = dumpTarget(t)
				}
				if w := pipeline.Of(rt).Weighted; w != nil {
					var prev uint64
					for i, wt := range w.Targets {
						dr.Weighted = append(dr.Weighted, DumpWeighted{Weight: w.Cumulative[i] - prev, Target: dumpTarget(wt)})
						prev = w.Cumulative[i]
					}
				}
				dv.Routes = append(dv.Routes, dr)
			}
		}
		d.VirtualServices = append(d.VirtualServices, dv)
	}
	// The readable records are dumped; the unreadable ones are named in
	// storeProblem.
	objs, err := s.cfg.Stored(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		m, err := redactObject(o)
		if err != nil {
			return nil, err
		}
		d.Resources = append(d.Resources, m)
	}
	return d, nil
}

func dumpTarget(t *lambda.Target) DumpTarget {
	dt := DumpTarget{
		Upstream: t.Upstream, LogicalName: t.LogicalName, FunctionName: t.FunctionName, Qualifier: t.Qualifier,
		Region: t.Region, Async: t.Async, Wrap: t.Wrap.String(), Unwrap: t.Unwrap.String(), ALBMultiValue: t.ALBMultiValue,
		Timeout: t.Timeout.String(), PropagateOriginalRouting: t.PropagateOriginalRouting, Credentials: "none",
	}
	if u := t.InvokeURL(); u != nil {
		c := *u
		c.User = nil
		dt.InvokeURL = c.String()
	}
	if t.Credentials != nil {
		// The provider's type says where credentials come from (a secret,
		// the default chain) without showing them.
		dt.Credentials = fmt.Sprintf("%T", t.Credentials)
	}
	return dt
}

// redactObject turns a resource into generic JSON with secret values,
// secret annotations (kubectl's last-applied-configuration holds the
// values) and user info in URLs replaced.
func redactObject(o resource.Object) (map[string]any, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", resource.Ref(o), err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", resource.Ref(o), err)
	}
	if o.GetKind() == resource.KindSecret {
		for _, f := range []string{"data", "stringData"} {
			if vals, ok := m[f].(map[string]any); ok {
				for k := range vals {
					vals[k] = Redacted
				}
			}
		}
		if md, ok := m["metadata"].(map[string]any); ok {
			if an, ok := md["annotations"].(map[string]any); ok {
				for k := range an {
					an[k] = Redacted
				}
			}
		}
	}
	redactURLs(m)
	return m, nil
}

// redactURLs drops user info from every string that parses as a URL with
// one (an endpointUrl could carry a password).
func redactURLs(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				x[k] = redactURL(s)
			} else {
				redactURLs(e)
			}
		}
	case []any:
		for i, e := range x {
			if s, ok := e.(string); ok {
				x[i] = redactURL(s)
			} else {
				redactURLs(e)
			}
		}
	}
}

func redactURL(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User(Redacted)
	return u.String()
}
