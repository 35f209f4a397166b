// Package translate compiles resources into a snapshot and a status for
// each resource. It never fails as a whole: a bad resource is rejected, a
// bad route is dropped, and everything else is served (Gloo's translator
// contract).
package translate

import (
	"net/textproto"
	"regexp"

	"crypto/tls"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/auth/mtls"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/ratelimit"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// ReportedBy is written into every status.
const ReportedBy = "lambdagate"

// SettingsName is the Settings resource lambdagate reads, as Gloo does.
const (
	SettingsNamespace = resource.SettingsNamespace
	SettingsName      = resource.SettingsName
)

// Input is every resource of a store, as listed.
type Input struct {
	Upstreams       []*resource.Upstream
	VirtualServices []*resource.VirtualService
	Secrets         []*resource.Secret
	Settings        []*resource.Settings
	UpstreamGroups  []*resource.UpstreamGroup
	RouteTables     []*resource.RouteTable
	AuthConfigs     []*resource.AuthConfig
	// LastGood holds, by "Kind namespace/name", the last version of each
	// resource that was served (what Served returns after a translation).
	// A resource whose current version is rejected, or drops more routes
	// than its last good version did, serves that version instead.
	// Default none: every resource serves its current version or nothing.
	LastGood map[string]LastGood
}

// FromObjects sorts listed objects into an Input.
func FromObjects(objs []resource.Object) Input {
	var in Input
	for _, o := range objs {
		switch t := o.(type) {
		case *resource.Upstream:
			in.Upstreams = append(in.Upstreams, t)
		case *resource.VirtualService:
			in.VirtualServices = append(in.VirtualServices, t)
		case *resource.Secret:
			in.Secrets = append(in.Secrets, t)
		case *resource.Settings:
			in.Settings = append(in.Settings, t)
		case *resource.UpstreamGroup:
			in.UpstreamGroups = append(in.UpstreamGroups, t)
		case *resource.RouteTable:
			in.RouteTables = append(in.RouteTables, t)
		case *resource.AuthConfig:
			in.AuthConfigs = append(in.AuthConfigs, t)
		}
	}
	return in
}

// Env is the process environment the translation depends on.
type Env struct {
	// LocalLambda is the local Lambda's base URL when it runs beside the
	// gateway; upstreams without endpointUrl then call it.
	LocalLambda *url.URL
	// Getenv reads AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL and
	// AWS_REGION. Default os.Getenv.
	Getenv func(string) string
	// Version of the snapshot to build.
	Version uint64
	Now     func() time.Time
	// RateLimits keeps the rate limits' state (buckets, counters, Redis
	// clients) from one translation to the next. Default nil: every
	// translation starts with full buckets.
	RateLimits *ratelimit.Registry
}

type upstreamInfo struct {
	obj       *resource.Upstream
	rejected  string
	endpoint  *url.URL
	creds     aws.CredentialsProvider
	functions map[string]gloo.LambdaFunctionSpec
}

type builder struct {
	env       Env
	res       *awscreds.Resolver
	settings  *gloo.AWSOptions
	secrets   map[string]*core.Secret
	upstreams map[string]*upstreamInfo
	groups    map[string]*groupInfo
	tables    map[string]*tableInfo
	// prepared shares the targets' prepared invoke requests.
	prepared lambda.PrepareCache
	// authConfigs by "namespace/name".
	authConfigs map[string]*authConfigInfo
	statuses    map[string]core.Status
	inputs      map[string]*snapshot.StatusInput
	lastGood    map[string]LastGood
	routes      int
	// requireRBAC: the Settings require an RBAC policy on every virtual
	// host (Gloo's rbac.requireRbac): a route without one refuses every
	// request.
	requireRBAC bool
	rl          rateLimits
}

// Translate builds a snapshot from in. res supplies credential providers.
func Translate(in Input, res *awscreds.Resolver, env Env) *snapshot.Snapshot {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	b := &builder{env: env, res: res, secrets: map[string]*core.Secret{}, upstreams: map[string]*upstreamInfo{}, groups: map[string]*groupInfo{}, tables: map[string]*tableInfo{}, authConfigs: map[string]*authConfigInfo{}, prepared: lambda.PrepareCache{}, statuses: map[string]core.Status{}, inputs: map[string]*snapshot.StatusInput{}, lastGood: in.LastGood}
	b.rl = rateLimits{build: env.RateLimits.Build(), shared: map[sharedKey]pipeline.RequestFilter{}}
	defer b.rl.build.Commit()
	snap := &snapshot.Snapshot{Version: env.Version, Built: env.Now(), Statuses: b.statuses, StatusInputs: b.inputs, Upstreams: len(in.Upstreams), DroppedRoutes: map[string]int{}}
	// Dependencies first (Settings, Secrets, Upstreams, UpstreamGroups,
	// RouteTables, then the virtual services routing to them), each
	// deciding between its current and its last good version, so a
	// resource is translated against the versions actually served.
	for _, s := range in.Settings {
		snap.Resources = append(snap.Resources, b.settingsWithLastGood(s))
	}
	for _, s := range in.Secrets {
		b.secrets[s.Metadata.Key()] = &s.Secret
		snap.Resources = append(snap.Resources, s)
	}
	for _, u := range in.Upstreams {
		snap.Resources = append(snap.Resources, b.upstreamWithLastGood(u))
	}
	for _, g := range in.UpstreamGroups {
		snap.Resources = append(snap.Resources, b.groupWithLastGood(g))
	}
	for _, t := range in.RouteTables {
		snap.Resources = append(snap.Resources, b.routeTableWithLastGood(t))
	}
	for _, ac := range in.AuthConfigs {
		snap.Resources = append(snap.Resources, b.authConfigWithLastGood(ac))
	}
	httpB, httpsB := router.NewBuilder(), router.NewBuilder()
	vss := append([]*resource.VirtualService(nil), in.VirtualServices...)
	// The oldest virtual service keeps a contested domain, so adding a
	// conflicting one never takes traffic away from a working one.
	sort.SliceStable(vss, func(i, j int) bool { return older(vss[i].Metadata, vss[j].Metadata) })
	served := make(map[*resource.VirtualService]resource.Object, len(vss))
	for _, vs := range vss {
		served[vs] = b.virtualServiceWithLastGood(vs, httpB, httpsB, snap)
	}
	for _, vs := range in.VirtualServices {
		snap.Resources = append(snap.Resources, served[vs])
	}
	b.tableStatuses()
	snap.HTTP, snap.HTTPS = httpB.Build(), httpsB.Build()
	snap.Routes = b.routes
	return snap
}

func older(a, b core.ObjectMeta) bool {
	ta, tb := a.CreationTimestamp, b.CreationTimestamp
	switch {
	case ta != nil && tb != nil && !ta.Equal(*tb):
		return ta.Before(*tb)
	case ta != nil && tb == nil:
		return true
	case ta == nil && tb != nil:
		return false
	}
	return a.Key() < b.Key()
}

func (b *builder) setStatus(o resource.Object, state core.State, reason string) {
	b.statuses[resource.Ref(o)] = core.Status{State: state, Reason: reason, ReportedBy: ReportedBy, ObservedGeneration: o.GetMetadata().Generation}
}

func (b *builder) readSettings(s *resource.Settings) {
	if s.Metadata.Namespace != SettingsNamespace || s.Metadata.Name != SettingsName {
		b.setStatus(s, core.StateWarning, fmt.Sprintf("ignored: lambdagate reads only Settings %s/%s", SettingsNamespace, SettingsName))
		return
	}
	problems := resource.Validate(s)
	if errs := problems.Errors(); len(errs) > 0 {
		b.setStatus(s, core.StateRejected, errs.Join())
		return
	}
	if s.Spec.Gloo != nil {
		b.settings = s.Spec.Gloo.AWSOptions
	}
	b.requireRBAC = resource.RequiresRBAC(&s.Spec)
	b.rl.server, b.rl.local = s.Spec.RatelimitServer, s.Spec.HttpLocalRatelimit
	if w := problems.Warnings(); len(w) > 0 {
		b.setStatus(s, core.StateWarning, w.Join())
		return
	}
	b.setStatus(s, core.StateAccepted, "")
}

func (b *builder) upstream(u *resource.Upstream) {
	info := &upstreamInfo{obj: u}
	b.upstreams[u.Metadata.Key()] = info
	problems := resource.Validate(u)
	if errs := problems.Errors(); len(errs) > 0 {
		info.rejected = errs.Join()
		b.setStatus(u, core.StateRejected, info.rejected)
		return
	}
	a := u.Spec.AWS
	creds, err := b.res.ForUpstream(a, u.Metadata.Namespace, b.secrets, b.settings)
	if err != nil {
		info.rejected = err.Error()
		b.setStatus(u, core.StateRejected, info.rejected)
		return
	}
	info.creds = creds
	info.endpoint = b.endpoints().For(a.EndpointURL, a.Region)
	info.functions = make(map[string]gloo.LambdaFunctionSpec, len(a.LambdaFunctions))
	for _, f := range a.LambdaFunctions {
		info.functions[f.LogicalName] = f
	}
	w := problems.Warnings()
	for _, v := range b.endpoints().Ignored(a.EndpointURL) {
		w = append(w, resource.Problem{Message: fmt.Sprintf("environment variable %s=%q is not an http(s) URL and is ignored", v[0], v[1]), Route: -1, Warning: true})
	}
	// Runtime conditions (discovery, credentials) are added to these
	// warnings when statuses are merged (Statuses).
	b.inputs[resource.Ref(u)] = &snapshot.StatusInput{Warnings: w, Upstream: u.Metadata.Key(), Creds: creds}
	if len(w) > 0 {
		b.setStatus(u, core.StateWarning, w.Join())
		return
	}
	b.setStatus(u, core.StateAccepted, "")
}

// endpoints is the endpoint rule with this translation's environment.
func (b *builder) endpoints() lambda.Endpoints {
	return lambda.Endpoints{LocalLambda: b.env.LocalLambda, Getenv: b.env.Getenv}
}

// vsBuild is a virtual service translated but not yet added to a
// listener, so that its last good version can be served instead.
type vsBuild struct {
	rb      *router.Builder
	vh      *router.VirtualHost
	domains []string
	cert    *snapshot.Certificate
	in      *snapshot.StatusInput
	dropped int
	// sec is the virtual host's security (CORS, JWT, RBAC) every route,
	// delegated ones included, gets.
	sec *vhostSecurity
}

// guard adds a compiled route's rate limits and security filters, in the
// pipeline's order: CORS, mutual TLS, the JWT stage before external auth,
// external auth (API keys, Lambda authorizers), the JWT stage after it,
// RBAC, then the rate limits. Every route of a virtual host goes through
// it, those a RouteTable delegates included, so none is served without
// the checks its virtual host asks for. r holds the route's options (a
// delegated route's with what it inherits).
func (b *builder) guard(rt *router.Route, vs *resource.VirtualService, v *vsBuild, i int, r *gateway.Route) (string, error) {
	// Rate limits first: the security filters then go in front of them,
	// so a limit counts only callers that passed authentication, and
	// ratelimitBasic can key on who they are.
	if err := b.addRateLimits(rt, vs, i, r, vs.Spec.SSLConfig != nil); err != nil {
		return "", err
	}
	ext, err := b.routeAuth(vs, r)
	if err != nil {
		return "", err
	}
	var tls []pipeline.RequestFilter
	if v.cert != nil && v.cert.ClientCA != nil {
		tls = []pipeline.RequestFilter{mtls.Filter{CA: v.cert.ClientCA}}
	}
	return v.sec.apply(rt, i, r, tls, ext)
}

// add serves a translated virtual service.
func (b *builder) add(vs *resource.VirtualService, v *vsBuild, snap *snapshot.Snapshot) {
	v.rb.Add(v.vh, v.domains)
	if v.cert != nil {
		snap.Certificates = append(snap.Certificates, *v.cert)
	}
	if v.dropped > 0 {
		snap.DroppedRoutes[resource.Ref(vs)] = v.dropped
	}
	b.routes += len(v.vh.Routes)
}

// virtualService translates vs and sets its status; nil when it is
// rejected. Domains are checked against the virtual services added so far.
func (b *builder) virtualService(vs *resource.VirtualService, httpB, httpsB *router.Builder) *vsBuild {
	problems := resource.Validate(vs)
	var fatal, warnings resource.Problems
	badRoutes := map[int]bool{}
	for _, p := range problems {
		switch {
		case p.Warning:
			warnings = append(warnings, p)
		case p.Route >= 0:
			badRoutes[p.Route] = true
			p.Message += routeDropped
			warnings = append(warnings, p)
		default:
			fatal = append(fatal, p)
		}
	}
	if len(fatal) > 0 {
		b.setStatus(vs, core.StateRejected, fatal.Join())
		return nil
	}
	spec := &vs.Spec
	sec, err := b.compileVhostSecurity(spec.VirtualHost)
	if err != nil {
		b.setStatus(vs, core.StateRejected, err.Error())
		return nil
	}
	rb := httpB
	var cert *snapshot.Certificate
	if spec.SSLConfig != nil {
		c, err := b.certificate(vs)
		if err != nil {
			b.setStatus(vs, core.StateRejected, err.Error())
			return nil
		}
		cert = c
		rb = httpsB
	}
	domains := spec.VirtualHost.Domains
	if len(domains) == 0 {
		domains = []string{"*"}
	}
	for _, d := range domains {
		if other := rb.Claimed(d); other != nil {
			b.setStatus(vs, core.StateRejected, fmt.Sprintf("spec.virtualHost.domains: domain %q is already served by VirtualService %s; each domain may belong to one virtual service per listener", d, other.Name))
			return nil
		}
	}
	vh := &router.VirtualHost{Name: vs.Metadata.Key()}
	in := &snapshot.StatusInput{VirtualService: vs.Metadata.Key()}
	v := &vsBuild{rb: rb, vh: vh, domains: domains, cert: cert, in: in, sec: sec}
	for i := range spec.VirtualHost.Routes {
		if badRoutes[i] {
			v.dropped++
			continue
		}
		if r := &spec.VirtualHost.Routes[i]; r.DelegateAction != nil {
			warnings = b.delegate(vs, i, r, v, warnings)
			continue
		}
		rt, warn, err := b.route(vs, i, &spec.VirtualHost.Routes[i])
		if err == nil {
			var swarn string
			swarn, err = b.guard(rt, vs, v, i, &spec.VirtualHost.Routes[i])
			warn = joinWarnings(warn, swarn)
		}
		if err != nil {
			v.dropped++
			warnings = append(warnings, resource.Problem{Field: routeField(i), Message: err.Error() + routeDropped, Route: i})
			continue
		}
		served := snapshot.ServedRoute{Name: rt.Name, Index: i, Warning: -1, Runtime: runtimeOf(rt)}
		if warn != "" {
			served.Warning = len(warnings)
			warnings = append(warnings, resource.Problem{Field: routeField(i), Message: warn, Route: i, Warning: true})
		}
		in.Routes = append(in.Routes, served)
		vh.Routes = append(vh.Routes, rt)
	}
	// Runtime conditions (a route's function answering 404) are added to
	// these warnings when statuses are merged (Statuses).
	in.Warnings = slices.Clone(warnings)
	if len(warnings) > 0 {
		sortByRoute(warnings)
		b.setStatus(vs, core.StateWarning, warnings.Join())
		return v
	}
	b.setStatus(vs, core.StateAccepted, "")
	return v
}

// runtimeOf returns the route's filters that can fail while serving.
func runtimeOf(rt *router.Route) []snapshot.RuntimeProblem {
	p, ok := rt.Target.(*pipeline.Route)
	if !ok {
		return nil
	}
	var out []snapshot.RuntimeProblem
	for _, f := range p.Request {
		if rp, ok := f.(snapshot.RuntimeProblem); ok {
			out = append(out, rp)
		}
	}
	return out
}

// sortByRoute puts resource-level warnings first, then route warnings by
// route, as written.
func sortByRoute(w resource.Problems) {
	sort.SliceStable(w, func(i, j int) bool { return w[i].Route < w[j].Route })
}

func routeField(i int) string { return fmt.Sprintf("spec.virtualHost.routes[%d]", i) }

// routeDropped ends the status message of a route left out of service;
// DroppedRoutes counts them back.
const routeDropped = " (route dropped)"

var routeProblem = regexp.MustCompile(`spec\.virtualHost\.routes\[(\d+)\]: `)

// DroppedRoutes counts the routes a virtual service's status reason says
// are left out of service, for readers (the CLI) that have the status but
// not the snapshot.
func DroppedRoutes(reason string) int {
	locs := routeProblem.FindAllStringSubmatchIndex(reason, -1)
	dropped := map[string]bool{}
	for i, l := range locs {
		end := len(reason)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if strings.Contains(reason[l[1]:end], strings.TrimSpace(routeDropped)) {
			dropped[reason[l[2]:l[3]]] = true
		}
	}
	return len(dropped)
}

// logicalNames lists the names a route may use (the first ten), so that a
// status naming an unknown one also shows the right spelling.
func logicalNames(fns []gloo.LambdaFunctionSpec) string {
	const shown = 10
	names := make([]string, 0, min(len(fns), shown))
	for _, f := range fns[:min(len(fns), shown)] {
		names = append(names, f.LogicalName)
	}
	l := strings.Join(names, ", ")
	if len(fns) > shown {
		l += fmt.Sprintf(" and %d more", len(fns)-shown)
	}
	return l
}

func (b *builder) route(vs *resource.VirtualService, i int, r *gateway.Route) (*router.Route, string, error) {
	return b.routeIn(vs, vs.Metadata.Namespace, i, r)
}

// routeIn compiles a route of vs's virtual host written in namespace ns
// (a delegated route's RouteTable's): references without a namespace
// name ns.
func (b *builder) routeIn(vs *resource.VirtualService, ns string, i int, r *gateway.Route) (*router.Route, string, error) {
	if r.RouteAction == nil {
		return answerRoute(vs, i, r)
	}
	if r.RouteAction.Single == nil {
		return b.weightedRoute(vs, ns, i, r)
	}
	t, warn, err := b.target(vs.Metadata.Key(), routeName(r, i), r.Options, r.RouteAction.Single, ns, "routeAction.single")
	if err != nil {
		return nil, "", err
	}
	rt := &router.Route{Name: t.Route, Target: withOptions(withHeaders(compilePipeline(t, r.Options), vs, r), vs, r)}
	if err := compileMatchers(rt, r.Matchers); err != nil {
		return nil, "", err
	}
	if w := asyncRetryWarning(t); w != "" {
		warn = joinWarnings(warn, w)
	}
	return rt, warn, nil
}

// joinWarnings joins two warnings, either of which may be "".
func joinWarnings(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// target resolves a destination into the Lambda target it invokes, for
// the route route of virtual service vsKey. ns is the namespace of an
// upstream reference without one; field names the destination in errors.
func (b *builder) target(vsKey, route string, opts *gateway.RouteOptions, d *gateway.Destination, ns, field string) (*lambda.Target, string, error) {
	ref := *d.Upstream
	if ref.Namespace == "" {
		ref.Namespace = ns
	}
	up, ok := b.upstreams[ref.String()]
	if !ok {
		return nil, "", fmt.Errorf("upstream %s not found", ref)
	}
	if up.rejected != "" {
		return nil, "", fmt.Errorf("upstream %s is rejected: %s", ref, up.rejected)
	}
	// Gloo merges destinationOverrides with mergo: the upstream's values
	// fill only the route's zero-valued fields.
	var dest gloo.AWSDestinationSpec
	if d.DestinationSpec != nil && d.DestinationSpec.AWS != nil {
		dest = *d.DestinationSpec.AWS
	}
	if o := up.obj.Spec.AWS.DestinationOverrides; o != nil {
		mergeZero(&dest, o)
	}
	stream := dest.ResponseTransferMode == gloo.ResponseTransferStream
	if msg := dest.StreamConflict(); stream && msg != "" {
		// Reached when the upstream's destinationOverrides brought in
		// the conflict; each resource alone is checked by validation.
		return nil, "", fmt.Errorf("routeAction.single.destinationSpec.aws.responseTransferMode (with the upstream's destinationOverrides): %s", msg)
	}
	fallback := b.settings != nil && b.settings.FallbackToFirstFunction != nil && *b.settings.FallbackToFirstFunction
	fns := up.obj.Spec.AWS.LambdaFunctions
	var fn gloo.LambdaFunctionSpec
	var warn []string
	if f, ok := up.functions[dest.LogicalName]; ok && dest.LogicalName != "" {
		fn = f
	} else {
		switch {
		case len(fns) == 0 && dest.LogicalName == "":
			return nil, "", fmt.Errorf("lambda points to upstream with no functions")
		case len(fns) == 0:
			return nil, "", fmt.Errorf("lambda points to upstream with no functions %s", dest.LogicalName)
		case !fallback && dest.LogicalName == "":
			return nil, "", fmt.Errorf("%s.destinationSpec.aws.logicalName: required value unless Settings sets fallbackToFirstFunction", field)
		case !fallback:
			return nil, "", fmt.Errorf("a route references %s AWS lambda which does not exist on the route's upstream; its logicalNames: %s", dest.LogicalName, logicalNames(fns))
		}
		fn = fns[0]
		if dest.LogicalName == "" {
			warn = append(warn, fmt.Sprintf("no logicalName set; using the first function %q (fallbackToFirstFunction)", fn.LogicalName))
		} else {
			warn = append(warn, fmt.Sprintf("function %q not found; using the first function %q (fallbackToFirstFunction)", dest.LogicalName, fn.LogicalName))
		}
	}
	a := up.obj.Spec.AWS
	name := fn.LambdaFunctionName
	if a.AWSAccountID != "" && !strings.HasPrefix(name, "arn:") {
		region := a.Region
		if region == "" {
			region = b.env.Getenv("AWS_REGION")
		}
		name = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, a.AWSAccountID, name)
	}
	t := &lambda.Target{
		VirtualService: vsKey,
		Route:          route,
		Upstream:       ref.String(),
		LogicalName:    fn.LogicalName,
		FunctionName:   name,
		Qualifier:      fn.Qualifier,
		Region:         a.Region,
		Endpoint:       up.endpoint,
		Credentials:    up.creds,
		Async:          dest.InvocationStyle == gloo.InvocationAsync,
		ALBMultiValue:  dest.AlbMultiValueHeaders,
		Timeout:        lambda.DefaultTimeout,
		Stream:         stream,
	}
	if opts != nil && opts.Timeout != nil {
		t.Timeout = opts.Timeout.Duration
	}
	if b.settings != nil && b.settings.PropagateOriginalRouting != nil {
		t.PropagateOriginalRouting = *b.settings.PropagateOriginalRouting
	}
	v2 := dest.PayloadFormatVersion == gloo.PayloadFormat20
	switch {
	case dest.RequestTransformation:
		t.Wrap = lambda.WrapGloo
	case dest.WrapAsApiGateway && v2:
		t.Wrap = lambda.WrapAPIGatewayV2
	case dest.WrapAsApiGateway:
		t.Wrap = lambda.WrapAPIGatewayV1
	case dest.WrapAsAlb:
		t.Wrap = lambda.WrapALB
	}
	switch {
	case dest.UnwrapAsAlb:
		// The walkthrough: with both flags set, unwrapAsAlb is used.
		t.Unwrap = lambda.UnwrapALB
	case (dest.UnwrapAsApiGateway || dest.ResponseTransformation) && v2:
		t.Unwrap = lambda.UnwrapAPIGatewayV2
	case dest.UnwrapAsApiGateway || dest.ResponseTransformation:
		t.Unwrap = lambda.UnwrapAPIGatewayV1
	}
	// A route written for an ALB gets an ALB's payload limits.
	t.ALBLimits = (t.Wrap == lambda.WrapALB || t.Unwrap == lambda.UnwrapALB) && !dest.DisableAlbPayloadLimits
	t.PrepareWith(b.prepared)
	return t, strings.Join(warn, "; "), nil
}

// compileMatchers adds a route's matchers (default: prefix "/").
func compileMatchers(rt *router.Route, matchers []gateway.Matcher) error {
	if len(matchers) == 0 {
		matchers = []gateway.Matcher{{Prefix: "/"}}
	}
	for _, m := range matchers {
		cm, err := compileMatcher(m)
		if err != nil {
			return err
		}
		rt.Matchers = append(rt.Matchers, cm)
	}
	return nil
}

// compilePipeline builds a route's pipeline: the filters of the options it
// sets, in the order they run, and its action. Options a route does not
// set add no filter, so a plain route's pipeline costs nothing per request.
func compilePipeline(t *lambda.Target, o *gateway.RouteOptions) *pipeline.Route {
	p := &pipeline.Route{Invoke: t} // nil for weighted destinations
	if o != nil && o.Timeout != nil {
		// First: the filters after it work within the route's budget.
		p.Request = append(p.Request, pipeline.Timeout(o.Timeout.Duration))
	}
	return p
}

// maxPEM bounds a certificate or key file read from disk.
const maxPEM = 1 << 20

func readPEM(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPEM {
		return nil, fmt.Errorf("%s: larger than 1 MiB; not a PEM file", path)
	}
	return b, nil
}

func routeName(r *gateway.Route, i int) string {
	if r.Name != "" {
		return r.Name
	}
	return fmt.Sprintf("routes[%d]", i)
}

func compileMatcher(m gateway.Matcher) (*router.Matcher, error) {
	cs := m.CaseSensitive == nil || *m.CaseSensitive
	cm := &router.Matcher{CaseSensitive: cs, Methods: m.Methods}
	switch {
	case m.Exact != "":
		cm.Kind, cm.Path = router.PathExact, m.Exact
	case m.Regex != "":
		re, err := router.CompileRegex(m.Regex, cs)
		if err != nil {
			return nil, fmt.Errorf("regex %q: %v", m.Regex, err)
		}
		cm.Kind, cm.Regex = router.PathRegex, re
	default:
		cm.Kind, cm.Path = router.PathPrefix, m.Prefix
		if cm.Path == "" {
			cm.Path = "/"
		}
	}
	for _, h := range m.Headers {
		hm := router.HeaderMatcher{Name: textproto.CanonicalMIMEHeaderKey(h.Name), Value: h.Value, Invert: h.InvertMatch}
		if h.Regex {
			re, err := router.CompileRegex(h.Value, true)
			if err != nil {
				return nil, fmt.Errorf("header %q regex: %v", h.Name, err)
			}
			hm.Regex = re
		}
		cm.Headers = append(cm.Headers, hm)
	}
	if m.QueryParameters != nil {
		cm.Query = []router.QueryMatcher{}
	}
	for _, q := range m.QueryParameters {
		qm := router.QueryMatcher{Name: q.Name, Value: q.Value}
		if q.Regex {
			re, err := router.CompileRegex(q.Value, true)
			if err != nil {
				return nil, fmt.Errorf("query parameter %q regex: %v", q.Name, err)
			}
			qm.Regex = re
		}
		cm.Query = append(cm.Query, qm)
	}
	return cm, nil
}

func (b *builder) certificate(vs *resource.VirtualService) (*snapshot.Certificate, error) {
	ssl := vs.Spec.SSLConfig
	var certPEM, keyPEM, caPEM []byte
	source, caSource := "spec.sslConfig.sslFiles", ""
	if ssl.SecretRef != nil {
		ns := ssl.SecretRef.Namespace
		if ns == "" {
			ns = vs.Metadata.Namespace
		}
		s, ok := b.secrets[ns+"/"+ssl.SecretRef.Name]
		if !ok {
			return nil, fmt.Errorf("spec.sslConfig.secretRef: secret %s/%s not found", ns, ssl.SecretRef.Name)
		}
		certPEM, keyPEM = s.Data[core.TLSCertKey], s.Data[core.TLSPrivateKeyKey]
		source = fmt.Sprintf("spec.sslConfig.secretRef: secret %s/%s", ns, ssl.SecretRef.Name)
		if len(certPEM) == 0 || len(keyPEM) == 0 {
			return nil, fmt.Errorf("spec.sslConfig.secretRef: secret %s/%s has no %s and %s", ns, ssl.SecretRef.Name, core.TLSCertKey, core.TLSPrivateKeyKey)
		}
		// Gloo verifies client certificates against a secret's ca.crt
		// unless oneWayTls is true.
		caPEM, caSource = s.Data[core.TLSRootCAKey], source+" "+core.TLSRootCAKey
	} else {
		var err error
		if certPEM, err = readPEM(ssl.SSLFiles.TLSCert); err != nil {
			return nil, fmt.Errorf("spec.sslConfig.sslFiles.tlsCert: %v", err)
		}
		if keyPEM, err = readPEM(ssl.SSLFiles.TLSKey); err != nil {
			return nil, fmt.Errorf("spec.sslConfig.sslFiles.tlsKey: %v", err)
		}
		if ssl.SSLFiles.RootCa != "" {
			if caPEM, err = readPEM(ssl.SSLFiles.RootCa); err != nil {
				return nil, fmt.Errorf("spec.sslConfig.sslFiles.rootCa: %v", err)
			}
			caSource = "spec.sslConfig.sslFiles.rootCa"
		}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid certificate or key: %v", source, err)
	}
	domains := ssl.SniDomains
	if len(domains) == 0 {
		domains = vs.Spec.VirtualHost.Domains
	}
	c := &snapshot.Certificate{VirtualService: vs.Metadata.Key(), Domains: domains, Cert: &pair, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
	oneWay := ssl.OneWayTls != nil && *ssl.OneWayTls
	switch {
	case len(caPEM) > 0 && !oneWay:
		ca, err := mtls.ParseCA(caPEM, ssl.VerifySubjectAltName)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", caSource, err)
		}
		c.ClientCA = ca
	case len(ssl.VerifySubjectAltName) > 0 && !oneWay:
		// Names to check but no CA to verify against: refusing is the
		// only answer that does not serve the host open.
		return nil, fmt.Errorf("spec.sslConfig.verifySubjectAltName: requires a client CA (sslFiles.rootCa or the Secret's %s)", core.TLSRootCAKey)
	}
	if p := ssl.Parameters; p != nil {
		if p.MinimumProtocolVersion == "TLSv1_3" {
			c.MinVersion = tls.VersionTLS13
		}
		if p.MaximumProtocolVersion == "TLSv1_2" {
			c.MaxVersion = tls.VersionTLS12
		}
	}
	return c, nil
}
