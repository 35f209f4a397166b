package resource

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// Problem is one validation finding. Route is the index of the route it
// concerns (-1 for the resource as a whole): a route problem drops only
// that route, a resource problem rejects the resource.
type Problem struct {
	Field   string
	Message string
	Warning bool
	Route   int
	// Unimplemented: an error about a Gloo field lambdagate does not
	// implement. The resource is Rejected but may be stored as written
	// (Check does not refuse it).
	Unimplemented bool
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Problems is the result of Validate.
type Problems []Problem

// Errors returns the non-warning problems.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Warnings returns the warnings.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Join renders problems as "field: message; field: message".
func (ps Problems) Join() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

// ValidationError rejects one resource.
type ValidationError struct {
	Ref      string
	Problems Problems
}

func (e *ValidationError) Error() string {
	return e.Ref + ": " + e.Problems.Join()
}

// Unserved returns the errors about Gloo fields lambdagate does not
// implement: the resource may be stored, and is Rejected.
func (ps Problems) Unserved() Problems {
	var out Problems
	for _, p := range ps {
		if p.Unimplemented && !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Check validates o and returns a *ValidationError when it has errors
// (warnings alone are not an error, nor are the Gloo fields lambdagate
// keeps without implementing them: see Unserved).
func Check(o Object) error {
	var errs Problems
	for _, p := range Validate(o).Errors() {
		if !p.Unimplemented {
			errs = append(errs, p)
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Ref: Ref(o), Problems: errs}
	}
	return nil
}

// Validate checks one resource on its own. Checks that need other
// resources (does the upstream exist?) belong to the translator.
func Validate(o Object) Problems {
	v := &validator{route: -1}
	v.meta(o.GetMetadata())
	switch t := o.(type) {
	case *Upstream:
		v.upstream(&t.Spec)
	case *VirtualService:
		v.virtualService(&t.Spec)
	case *Secret:
		v.secret(&t.Secret)
	case *Settings:
		v.settings(&t.Spec)
	case *UpstreamGroup:
		v.weightedDestinations("spec.destinations", t.Spec.Destinations)
	case *RouteTable:
		v.routeTable(&t.Spec)
	case *AuthConfig:
		v.authConfig(&t.Spec)
	}
	v.unimplemented(make([]byte, 0, 128), reflect.ValueOf(o))
	return v.problems
}

// unimplemented names each field kept in an Unimplemented field under val:
// an error when the resource must not be served without it or when it is
// not one of Gloo's fields (a typo kept by a CRD that preserves unknown
// fields), else a warning. path is the field path of val, built in place
// (a string is made only for a kept field): the walk visits every field
// of every route, so it must cost little when nothing is kept.
func (v *validator) unimplemented(path []byte, val reflect.Value) {
	for val.Kind() == reflect.Pointer || val.Kind() == reflect.Interface {
		if val.IsNil() {
			return
		}
		val = val.Elem()
	}
	switch val.Kind() {
	case reflect.Slice:
		for i := 0; i < val.Len(); i++ {
			p := append(path, '[')
			p = strconv.AppendInt(p, int64(i), 10)
			v.unimplemented(append(p, ']'), val.Index(i))
		}
	case reflect.Struct:
		t := val.Type()
		for _, f := range walkFields(t) {
			switch {
			case f.raw:
				raw, _ := val.Field(f.index).Interface().(core.RawFields)
				for _, name := range raw.Names() {
					v.unimplementedField(t, join(string(path), name), name)
				}
			case f.embedded:
				v.unimplemented(path, val.Field(f.index))
			default:
				p := path
				if len(p) > 0 {
					p = append(p, '.')
				}
				v.unimplemented(append(p, f.name...), val.Field(f.index))
			}
		}
	}
}

// walkField is a struct field unimplemented visits.
type walkField struct {
	index    int
	name     string // JSON name
	raw      bool   // the Unimplemented fields
	embedded bool   // embedded without a JSON name: its fields are the parent's
}

var walkFieldsCache sync.Map // reflect.Type -> []walkField

// walkFields lists the fields of struct type t that unimplemented visits
// (exported, not "-", not metadata or status).
func walkFields(t reflect.Type) []walkField {
	if c, ok := walkFieldsCache.Load(t); ok {
		return c.([]walkField)
	}
	var out []walkField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Type == rawFieldsType {
			out = append(out, walkField{index: i, raw: true})
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "":
			out = append(out, walkField{index: i, embedded: true})
			continue
		case name == "":
			name = f.Name
		}
		if name == "metadata" || name == "status" {
			continue
		}
		out = append(out, walkField{index: i, name: name})
	}
	walkFieldsCache.Store(t, out)
	return out
}

func (v *validator) unimplementedField(t reflect.Type, path, name string) {
	support, ok := glooField(t, name)
	switch {
	case v.reported[path], support == Honoured:
	case !ok:
		v.errorf(path, "unknown field: not a field of Gloo's %s; allowed fields are %s", t.Name(), allowed(jsonFields(t), t))
	case support == NotServed:
		v.problems = append(v.problems, Problem{Field: path, Route: v.route, Unimplemented: true,
			Message: fmt.Sprintf("Gloo's %s is not implemented by lambdagate, which does not serve this resource without it", name)})
	default:
		v.warnf(path, "Gloo's %s is not implemented by lambdagate; served without it", name)
	}
}

type validator struct {
	problems Problems
	route    int
	// reported are the paths of unimplemented fields already named by a
	// more precise problem.
	reported map[string]bool
}

func (v *validator) errorf(field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...), Route: v.route})
}

func (v *validator) warnf(field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...), Warning: true, Route: v.route})
}

var (
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	regionRe         = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accountRe        = regexp.MustCompile(`^[0-9]{12}$`)
	roleARNRe        = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
	functionNameRe   = regexp.MustCompile(`^(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:function:)?[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$`)
	qualifierRe      = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9_-]{1,128})$`)
	methodRe         = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	headerNameRe     = methodRe
)

func (v *validator) meta(m *core.ObjectMeta) {
	if m.Name == "" {
		v.errorf("metadata.name", "required value")
	} else if len(m.Name) > 253 || !dns1123Subdomain.MatchString(m.Name) {
		v.errorf("metadata.name", "invalid value %q: must be a lowercase DNS-1123 subdomain (a-z, 0-9, '-', '.')", m.Name)
	}
	if m.Namespace != "" && (len(m.Namespace) > 63 || !dns1123Label.MatchString(m.Namespace)) {
		v.errorf("metadata.namespace", "invalid value %q: must be a lowercase DNS-1123 label (a-z, 0-9, '-')", m.Namespace)
	}
}

func (v *validator) upstream(s *gloo.UpstreamSpec) {
	a := s.AWS
	if a == nil {
		v.errorf("spec.aws", "required value: lambdagate serves only aws upstreams")
		return
	}
	switch {
	case a.Region == "":
		v.errorf("spec.aws.region", "required value: an AWS region such as \"us-east-1\"")
	case !regionRe.MatchString(a.Region):
		v.errorf("spec.aws.region", "invalid value %q: must be an AWS region such as \"us-east-1\"", a.Region)
	}
	if a.SecretRef != nil && a.SecretRef.Name == "" {
		v.errorf("spec.aws.secretRef.name", "required value")
	}
	seen := map[string]int{}
	for i, f := range a.LambdaFunctions {
		p := fmt.Sprintf("spec.aws.lambdaFunctions[%d]", i)
		if f.LogicalName == "" {
			v.errorf(p+".logicalName", "required value")
		} else if j, dup := seen[f.LogicalName]; dup {
			v.errorf(p+".logicalName", "duplicate value %q: also used by lambdaFunctions[%d]; logical names must be unique", f.LogicalName, j)
		} else {
			seen[f.LogicalName] = i
		}
		switch {
		case f.LambdaFunctionName == "":
			v.errorf(p+".lambdaFunctionName", "required value")
		case !functionNameRe.MatchString(f.LambdaFunctionName):
			v.errorf(p+".lambdaFunctionName", "invalid value %q: must be a function name (1-64 of a-z, A-Z, 0-9, '-', '_') or a Lambda function ARN", f.LambdaFunctionName)
		}
		if f.Qualifier != "" && !qualifierRe.MatchString(f.Qualifier) {
			v.errorf(p+".qualifier", "invalid value %q: must be $LATEST, a version number or an alias (1-128 of a-z, A-Z, 0-9, '-', '_')", f.Qualifier)
		}
	}
	if a.AWSAccountID != "" && !accountRe.MatchString(a.AWSAccountID) {
		v.errorf("spec.aws.awsAccountId", "invalid value %q: must be a 12-digit AWS account id", a.AWSAccountID)
	}
	if a.RoleARN != "" && !roleARNRe.MatchString(a.RoleARN) {
		v.errorf("spec.aws.roleArn", "invalid value %q: must be an IAM role ARN such as \"arn:aws:iam::123456789012:role/name\"", a.RoleARN)
	}
	if a.DisableRoleChaining && a.RoleARN == "" {
		v.warnf("spec.aws.disableRoleChaining", "has no effect without roleArn")
	}
	if a.EndpointURL != "" {
		u, err := url.Parse(a.EndpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			v.errorf("spec.aws.endpointUrl", "invalid value %q: must be an http or https base URL such as \"http://127.0.0.1:9001\", without a path or query", a.EndpointURL)
		}
	}
	if a.DestinationOverrides != nil {
		v.awsDestination("spec.aws.destinationOverrides", a.DestinationOverrides)
	}
}

func (v *validator) virtualService(s *gateway.VirtualServiceSpec) {
	vh := s.VirtualHost
	if vh == nil {
		v.errorf("spec.virtualHost", "required value")
		return
	}
	seen := map[string]bool{}
	for i, d := range vh.Domains {
		p := fmt.Sprintf("spec.virtualHost.domains[%d]", i)
		if msg := DomainProblem(d); msg != "" {
			v.errorf(p, "invalid value %q: %s", d, msg)
			continue
		}
		l := strings.ToLower(d)
		if seen[l] {
			v.errorf(p, "duplicate value %q: each domain may appear once", d)
		}
		seen[l] = true
	}
	for i := range vh.Routes {
		v.route = i
		v.routeSpec(fmt.Sprintf("spec.virtualHost.routes[%d]", i), &vh.Routes[i])
	}
	v.route = -1
	if vh.Options != nil && vh.Options.HeaderManipulation != nil {
		v.headerManipulation("spec.virtualHost.options.headerManipulation", vh.Options.HeaderManipulation)
	}
	if o := vh.Options; o != nil {
		v.virtualHostOptions("spec.virtualHost.options", o)
		v.vhostSecurity("spec.virtualHost.options", o)
		if o.Ratelimit != nil && o.Ratelimit.LocalRatelimit != nil {
			v.tokenBucket("spec.virtualHost.options.ratelimit.localRatelimit", o.Ratelimit.LocalRatelimit)
		}
		if o.RatelimitBasic != nil {
			v.ingressRateLimit("spec.virtualHost.options.ratelimitBasic", o.RatelimitBasic)
		}
		if o.Extauth != nil {
			v.extauth("spec.virtualHost.options.extauth", o.Extauth)
		}
	}
	if s.SSLConfig != nil {
		v.ssl(s.SSLConfig)
		v.sslClientAuth(s.SSLConfig)
	}
}

// DomainProblem says what is wrong with a virtual host domain, or "".
// Allowed: "*", an exact host, "*.suffix", "prefix.*" (Envoy's forms), each
// optionally with a port.
func DomainProblem(d string) string {
	const allowed = `must be "*", a host name, "*.suffix" or "prefix.*"`
	if d == "" {
		return "empty domain: " + allowed
	}
	if d == "*" {
		return ""
	}
	if strings.Count(d, "*") > 1 {
		return "at most one wildcard: " + allowed
	}
	if strings.Contains(d, "*") && !strings.HasPrefix(d, "*") && !strings.HasSuffix(d, "*") {
		return "the wildcard must be first or last: " + allowed
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.*:[]_", r)) {
			return fmt.Sprintf("character %q not allowed: %s", r, allowed)
		}
	}
	return ""
}

func (v *validator) routeSpec(p string, r *gateway.Route) {
	for j, m := range r.Matchers {
		mp := fmt.Sprintf("%s.matchers[%d]", p, j)
		n := 0
		for _, s := range []string{m.Prefix, m.Exact, m.Regex} {
			if s != "" {
				n++
			}
		}
		if n > 1 {
			v.errorf(mp, "only one of prefix, exact and regex may be set")
		}
		if m.Prefix != "" && !strings.HasPrefix(m.Prefix, "/") {
			v.errorf(mp+".prefix", "invalid value %q: must start with \"/\"", m.Prefix)
		}
		if m.Exact != "" && !strings.HasPrefix(m.Exact, "/") {
			v.errorf(mp+".exact", "invalid value %q: must start with \"/\"", m.Exact)
		}
		if m.Regex != "" {
			if _, err := regexp.Compile(m.Regex); err != nil {
				v.errorf(mp+".regex", "invalid RE2 regular expression %q: %s", m.Regex, reError(err))
			}
		}
		for k, h := range m.Headers {
			hp := fmt.Sprintf("%s.headers[%d]", mp, k)
			if h.Name == "" {
				v.errorf(hp+".name", "required value")
			} else if !headerNameRe.MatchString(h.Name) {
				v.errorf(hp+".name", "invalid value %q: must be an HTTP header name", h.Name)
			}
			if h.Regex {
				if _, err := regexp.Compile(h.Value); err != nil {
					v.errorf(hp+".value", "invalid RE2 regular expression %q: %s", h.Value, reError(err))
				}
			}
		}
		for k, q := range m.QueryParameters {
			qp := fmt.Sprintf("%s.queryParameters[%d]", mp, k)
			if q.Name == "" {
				v.errorf(qp+".name", "required value")
			}
			if q.Regex {
				if _, err := regexp.Compile(q.Value); err != nil {
					v.errorf(qp+".value", "invalid RE2 regular expression %q: %s", q.Value, reError(err))
				}
			}
		}
		for k, meth := range m.Methods {
			if !methodRe.MatchString(meth) {
				v.errorf(fmt.Sprintf("%s.methods[%d]", mp, k), "invalid value %q: must be an HTTP method such as \"GET\"", meth)
			}
		}
	}
	actions := 0
	for _, set := range []bool{r.RouteAction != nil, r.RedirectAction != nil, r.DirectResponseAction != nil, r.DelegateAction != nil} {
		if set {
			actions++
		}
	}
	switch {
	case actions > 1:
		v.errorf(p, "only one of routeAction, redirectAction, directResponseAction and delegateAction may be set")
	case r.DelegateAction != nil:
		v.delegate(p, r)
	case r.RedirectAction != nil:
		v.redirect(p+".redirectAction", r.RedirectAction, r.Matchers)
	case r.DirectResponseAction != nil:
		v.directResponse(p+".directResponseAction", r.DirectResponseAction)
	case r.RouteAction == nil:
		v.errorf(p+".routeAction", "required value: a route needs one of routeAction, redirectAction, directResponseAction and delegateAction")
	default:
		v.routeAction(p+".routeAction", r.RouteAction)
	}
	if r.Options != nil && r.Options.Timeout != nil {
		t := r.Options.Timeout.Duration
		if t <= 0 || t > 15*time.Minute {
			v.errorf(p+".options.timeout", "invalid value %s: must be more than 0 and at most 15m (Lambda's maximum)", t)
		}
	}
	if r.Options != nil && r.Options.HeaderManipulation != nil {
		v.headerManipulation(p+".options.headerManipulation", r.Options.HeaderManipulation)
	}
	if o := r.Options; o != nil {
		v.routeOptions(p+".options", o, r)
		v.routeSecurity(p+".options", o)
		if o.Ratelimit != nil && o.Ratelimit.LocalRatelimit != nil {
			v.tokenBucket(p+".options.ratelimit.localRatelimit", o.Ratelimit.LocalRatelimit)
		}
		if o.RatelimitBasic != nil {
			v.ingressRateLimit(p+".options.ratelimitBasic", o.RatelimitBasic)
		}
		if o.Extauth != nil {
			v.extauth(p+".options.extauth", o.Extauth)
		}
	}
}

func (v *validator) awsDestination(p string, a *gloo.AWSDestinationSpec) {
	switch a.InvocationStyle {
	case "", gloo.InvocationSync, gloo.InvocationAsync:
	default:
		v.errorf(p+".invocationStyle", "unsupported value %q: must be SYNC or ASYNC", a.InvocationStyle)
	}
	switch a.PayloadFormatVersion {
	case "", gloo.PayloadFormat10, gloo.PayloadFormat20:
	default:
		v.errorf(p+".payloadFormatVersion", "unsupported value %q: must be \"1.0\" or \"2.0\"", a.PayloadFormatVersion)
	}
	var wraps []string
	if a.RequestTransformation {
		wraps = append(wraps, "requestTransformation")
	}
	if a.WrapAsApiGateway {
		wraps = append(wraps, "wrapAsApiGateway")
	}
	if a.WrapAsAlb {
		wraps = append(wraps, "wrapAsAlb")
	}
	if len(wraps) > 1 {
		v.errorf(p, "only one of requestTransformation, wrapAsApiGateway and wrapAsAlb may be set, got %s", strings.Join(wraps, " and "))
	}
	if a.UnwrapAsAlb && (a.UnwrapAsApiGateway || a.ResponseTransformation) {
		v.warnf(p, "both unwrapAsAlb and unwrapAsApiGateway/responseTransformation are set: unwrapAsAlb is used")
	}
	if a.ResponseTransformation {
		v.warnf(p+".responseTransformation", "deprecated: use unwrapAsApiGateway")
	}
	if a.AlbMultiValueHeaders && !a.WrapAsAlb && !a.UnwrapAsAlb {
		v.warnf(p+".albMultiValueHeaders", "has no effect without wrapAsAlb or unwrapAsAlb")
	}
	if a.DisableAlbPayloadLimits && !a.WrapAsAlb && !a.UnwrapAsAlb {
		v.warnf(p+".disableAlbPayloadLimits", "has no effect without wrapAsAlb or unwrapAsAlb")
	}
	switch a.ResponseTransferMode {
	case "", gloo.ResponseTransferBuffered:
	case gloo.ResponseTransferStream:
		if msg := a.StreamConflict(); msg != "" {
			v.errorf(p+".responseTransferMode", "%s", msg)
		}
	default:
		v.errorf(p+".responseTransferMode", "unsupported value %q: must be BUFFERED or STREAM", a.ResponseTransferMode)
	}
}

func (v *validator) ssl(s *gateway.SSLConfig) {
	switch {
	case s.SecretRef != nil && s.SSLFiles != nil:
		v.errorf("spec.sslConfig", "only one of secretRef and sslFiles may be set")
	case s.SecretRef == nil && s.SSLFiles == nil:
		v.errorf("spec.sslConfig", "one of secretRef and sslFiles is required")
	case s.SecretRef != nil && s.SecretRef.Name == "":
		v.errorf("spec.sslConfig.secretRef.name", "required value")
	case s.SSLFiles != nil && (s.SSLFiles.TLSCert == "" || s.SSLFiles.TLSKey == ""):
		v.errorf("spec.sslConfig.sslFiles", "tlsCert and tlsKey are both required")
	}
	for i, d := range s.SniDomains {
		if msg := DomainProblem(d); msg != "" {
			v.errorf(fmt.Sprintf("spec.sslConfig.sniDomains[%d]", i), "invalid value %q: %s", d, msg)
		}
	}
	if s.Parameters != nil {
		for _, f := range []struct{ name, val string }{
			{"minimumProtocolVersion", s.Parameters.MinimumProtocolVersion},
			{"maximumProtocolVersion", s.Parameters.MaximumProtocolVersion},
		} {
			switch f.val {
			case "", "TLSv1_2", "TLSv1_3", "TLS_AUTO":
			default:
				v.errorf("spec.sslConfig.parameters."+f.name, "unsupported value %q: must be TLSv1_2 or TLSv1_3 (older versions are not offered)", f.val)
			}
		}
	}
}

func (v *validator) secret(s *core.Secret) {
	_, hasID := s.Data[core.AWSAccessKeyID]
	_, hasKey := s.Data[core.AWSSecretAccessKey]
	if hasID != hasKey {
		v.errorf("data", "an AWS secret needs both %s and %s", core.AWSAccessKeyID, core.AWSSecretAccessKey)
	}
	for _, k := range []string{core.AWSAccessKeyID, core.AWSSecretAccessKey, core.AWSSessionToken} {
		if at := core.BadCredentialByte(strings.TrimSpace(string(s.Data[k]))); at >= 0 {
			v.errorf("data."+k, "%s", core.BadCredentialMessage(at))
		}
	}
	if s.Type == enterprise.ApiKeySecretType && len(s.Data[enterprise.ApiKeyDataKey]) == 0 {
		v.errorf("data", "an %s secret needs %s (the API key)", enterprise.ApiKeySecretType, enterprise.ApiKeyDataKey)
	}
	if s.Type == "kubernetes.io/tls" {
		if len(s.Data[core.TLSCertKey]) == 0 || len(s.Data[core.TLSPrivateKeyKey]) == 0 {
			v.errorf("data", "a kubernetes.io/tls secret needs tls.crt and tls.key")
		}
	}
}

func (v *validator) settings(s *gloo.SettingsSpec) {
	v.rateLimitSettings(s)
	if s.Discovery != nil {
		switch s.Discovery.FdsMode {
		case "", "BLACKLIST", "WHITELIST", "DISABLED":
		default:
			v.errorf("spec.discovery.fdsMode", "unsupported value %q: must be BLACKLIST, WHITELIST or DISABLED", s.Discovery.FdsMode)
		}
	}
	if s.Gloo == nil || s.Gloo.AWSOptions == nil {
		return
	}
	o := s.Gloo.AWSOptions
	if o.CredentialsDiscovery() && o.ServiceAccountCredentials != nil {
		v.errorf("spec.gloo.awsOptions", "only one of enableCredentialsDiscovey and serviceAccountCredentials may be set")
	}
	if sa := o.ServiceAccountCredentials; sa != nil && sa.Region != "" && !regionRe.MatchString(sa.Region) {
		v.errorf("spec.gloo.awsOptions.serviceAccountCredentials.region", "invalid value %q: must be an AWS region such as \"us-east-1\"", sa.Region)
	}
}

func reError(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "error parsing regexp: ")
}
