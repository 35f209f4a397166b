package translate

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/golden"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rogpeppe/go-internal/txtar"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

var update = flag.Bool("update", false, "rewrite the expected section of golden files")

// TestTranslateGolden runs every testdata/translate/*.txtar case. Sections:
//
//   - input.yaml: the resources, as a user applies them. {{TLS_CRT}} and
//     {{TLS_KEY}} are replaced by a self-signed certificate for
//     *.example.com made when the test starts (base64, as in Secret data).
//   - last-good.yaml (optional): the resources of the previous rebuild,
//     translated first; what it served (Served) is the LastGood input of
//     the translation of input.yaml, as the controller passes it.
//   - env (optional): KEY=VALUE lines read through Env.Getenv. Three keys are
//     not variables: LOCAL_LAMBDA sets Env.LocalLambda,
//     UPSTREAM_WARNING=ns/name:message sets Conditions.Upstream and
//     ROUTE_WARNING=ns/vs:route:message sets Conditions.Route, merged into
//     the statuses with Statuses.
//   - probes (optional): "METHOD URL [-H name:value]..." lines, matched as
//     the server matches them (https:// URLs against the HTTPS listener).
//   - expected: the statuses (with last-good.yaml, then the version of
//     each resource served), then the routes of every virtual host a probe
//     reached, then what each probe matched. -update rewrites it.
//
// The router's table has no exported listing, so probes are how the test
// sees which virtual host serves which host name.
func TestTranslateGolden(t *testing.T) {
	for _, file := range golden.Files(t, filepath.Join("testdata", "translate")) {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, ok := golden.Section(ar, "input.yaml")
			if !ok {
				t.Fatalf("%s: no input.yaml section", file)
			}
			objs := decodeCase(t, file, input)
			envText, _ := golden.Section(ar, "env")
			probes, _ := golden.Section(ar, "probes")
			env, conds := parseEnvConditions(t, envText)
			// The resolver reads the case's fixed environment too.
			res := awscreds.New(awscreds.Options{Getenv: env.Getenv})
			in := FromObjects(objs)
			prevText, withLastGood := golden.Section(ar, "last-good.yaml")
			if withLastGood {
				prev := decodeCase(t, file, prevText)
				in.LastGood = Served(nil, prev, Translate(FromObjects(prev), res, env))
			}
			snap := Translate(in, res, env)
			snap.Statuses = Statuses(snap.Statuses, snap.StatusInputs, conds)
			checkStatuses(t, objs, snap)
			got := render(t, snap, probes)
			if withLastGood {
				got = strings.Replace(got, "counts:", servedString(snap)+"counts:", 1)
			}
			golden.Check(t, file, ar, got, *update)
		})
	}
}

// decodeCase decodes a case's resources, with the test certificate in
// place of {{TLS_CRT}} and {{TLS_KEY}}.
func decodeCase(t *testing.T, file string, text []byte) []resource.Object {
	t.Helper()
	crt, key := testCert(t)
	text = bytes.ReplaceAll(text, []byte("{{TLS_CRT}}"), []byte(base64.StdEncoding.EncodeToString(crt)))
	text = bytes.ReplaceAll(text, []byte("{{TLS_KEY}}"), []byte(base64.StdEncoding.EncodeToString(key)))
	objs, err := resource.DecodeAll(bytes.NewReader(text), file)
	if err != nil {
		t.Fatalf("input does not decode: %v", err)
	}
	return objs
}

// servedString lists the version of each resource the snapshot was built
// from, in Resources order.
func servedString(snap *snapshot.Snapshot) string {
	var b strings.Builder
	b.WriteString("served:\n")
	for _, o := range snap.Resources {
		fmt.Fprintf(&b, "  %s generation %d\n", resource.Ref(o), o.GetMetadata().Generation)
	}
	return b.String()
}

var (
	certOnce         sync.Once
	certPEM, keyPEM  []byte
	errCertGenerated error
)

// testCert makes one self-signed certificate for the whole run.
func testCert(t *testing.T) ([]byte, []byte) {
	t.Helper()
	certOnce.Do(func() {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			errCertGenerated = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "example.com"},
			DNSNames:     []string{"example.com", "*.example.com"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			errCertGenerated = err
			return
		}
		kder, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			errCertGenerated = err
			return
		}
		certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	})
	if errCertGenerated != nil {
		t.Fatalf("generating a test certificate: %v", errCertGenerated)
	}
	return certPEM, keyPEM
}

func parseEnv(t *testing.T, text []byte) Env {
	t.Helper()
	env, _ := parseEnvConditions(t, text)
	return env
}

// parseEnvConditions reads an env section: the environment, and the
// runtime conditions it sets.
func parseEnvConditions(t *testing.T, text []byte) (Env, Conditions) {
	t.Helper()
	var conds Conditions
	vars := map[string]string{}
	env := Env{
		// A fixed environment: the machine's AWS_* variables must not
		// change what a case routes to.
		Getenv:  func(k string) string { return vars[k] },
		Version: 7,
		Now:     func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) },
	}
	for _, l := range strings.Split(string(text), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("env line %q: want KEY=VALUE", l)
		}
		switch k {
		case "LOCAL_LAMBDA":
			u, err := url.Parse(v)
			if err != nil {
				t.Fatalf("LOCAL_LAMBDA: %v", err)
			}
			env.LocalLambda = u
		case "ROUTE_WARNING":
			// ns/vs:route:message
			vsKey, rest, _ := strings.Cut(v, ":")
			route, msg, _ := strings.Cut(rest, ":")
			conds.Route = func(k, r string) string {
				if k == vsKey && r == route {
					return msg
				}
				return ""
			}
		case "UPSTREAM_WARNING":
			key, msg, _ := strings.Cut(v, ":")
			conds.Upstream = func(k string) string {
				if k == key {
					return msg
				}
				return ""
			}
		default:
			vars[k] = v
		}
	}
	return env, conds
}

// checkStatuses asserts what holds for every case: each Upstream,
// VirtualService and Settings gets exactly one status, written by
// lambdagate for the object's generation, with a reason exactly when it
// is not Accepted.
func checkStatuses(t *testing.T, objs []resource.Object, snap *snapshot.Snapshot) {
	t.Helper()
	want := map[string]int64{}
	for _, o := range objs {
		if resource.HasStatus(o.GetKind()) {
			want[resource.Ref(o)] = o.GetMetadata().Generation
		}
	}
	for ref, st := range snap.Statuses {
		gen, ok := want[ref]
		if !ok {
			t.Errorf("status for %s, which is not in the input (or has no status)", ref)
			continue
		}
		if st.ReportedBy != ReportedBy {
			t.Errorf("%s: reportedBy %q, want %q", ref, st.ReportedBy, ReportedBy)
		}
		if st.ObservedGeneration != gen {
			t.Errorf("%s: observedGeneration %d, want %d", ref, st.ObservedGeneration, gen)
		}
		switch st.State {
		case core.StateAccepted:
			if st.Reason != "" {
				t.Errorf("%s: Accepted with a reason %q", ref, st.Reason)
			}
		case core.StateWarning, core.StateRejected:
			if st.Reason == "" {
				t.Errorf("%s: %s without a reason", ref, st.State)
			}
		default:
			t.Errorf("%s: unexpected state %q", ref, st.State)
		}
	}
	for ref := range want {
		if _, ok := snap.Statuses[ref]; !ok {
			t.Errorf("no status for %s", ref)
		}
	}
	if snap.Version != 7 {
		t.Errorf("snapshot version %d, want the Env's 7", snap.Version)
	}
}

type probe struct {
	line, method, url string
	headers           [][2]string
}

func parseProbes(t *testing.T, text []byte) []probe {
	t.Helper()
	var ps []probe
	for _, l := range strings.Split(string(text), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			t.Fatalf("probe %q: want METHOD URL [-H name:value]...", l)
		}
		p := probe{line: l, method: f[0], url: f[1]}
		for i := 2; i < len(f); i += 2 {
			if f[i] != "-H" || i+1 >= len(f) {
				t.Fatalf("probe %q: want -H name:value after the URL", l)
			}
			n, v, _ := strings.Cut(f[i+1], ":")
			p.headers = append(p.headers, [2]string{n, v})
		}
		ps = append(ps, p)
	}
	return ps
}

func render(t *testing.T, snap *snapshot.Snapshot, probeText []byte) string {
	var b strings.Builder
	b.WriteString("statuses:\n")
	refs := make([]string, 0, len(snap.Statuses))
	for ref := range snap.Statuses {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		st := snap.Statuses[ref]
		fmt.Fprintf(&b, "  %s: %s", ref, st.State)
		if st.Reason != "" {
			fmt.Fprintf(&b, ": %s", st.Reason)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "counts: upstreams=%d routes=%d http-empty=%v https-empty=%v\n", snap.Upstreams, snap.Routes, snap.HTTP.Empty(), snap.HTTPS.Empty())
	if len(snap.DroppedRoutes) > 0 {
		dropped := make([]string, 0, len(snap.DroppedRoutes))
		for ref, n := range snap.DroppedRoutes {
			dropped = append(dropped, fmt.Sprintf("%s=%d", ref, n))
		}
		sort.Strings(dropped)
		fmt.Fprintf(&b, "dropped routes: %s\n", strings.Join(dropped, " "))
	}
	if len(snap.Certificates) > 0 {
		b.WriteString("certificates:\n")
		for _, c := range snap.Certificates {
			cn := "?"
			if c.Cert != nil && len(c.Cert.Certificate) > 0 {
				if x, err := x509.ParseCertificate(c.Cert.Certificate[0]); err == nil {
					cn = x.Subject.CommonName
				}
			}
			fmt.Fprintf(&b, "  %s: domains=%v cn=%s tls=%s-%s", c.VirtualService, c.Domains, cn, tlsVersion(c.MinVersion), tlsVersion(c.MaxVersion))
			if c.ClientCA != nil {
				b.WriteString(" " + c.ClientCA.Describe())
			}
			b.WriteString("\n")
		}
	}
	probes := parseProbes(t, probeText)
	if len(probes) == 0 {
		return b.String()
	}
	// The virtual hosts reached, per listener, in the order first reached.
	type seen struct {
		listener string
		vh       *router.VirtualHost
	}
	var hosts []seen
	known := map[*router.VirtualHost]bool{}
	var results []string
	for _, p := range probes {
		req := httptest.NewRequest(p.method, p.url, nil)
		for _, h := range p.headers {
			req.Header.Add(h[0], h[1])
		}
		table, listener := snap.HTTP, "http"
		if req.URL.Scheme == "https" {
			table, listener = snap.HTTPS, "https"
		}
		vh := table.Host(req.Host)
		if vh == nil {
			results = append(results, fmt.Sprintf("  %s → 404 (no virtual host on %s)", p.line, listener))
			continue
		}
		if !known[vh] {
			known[vh] = true
			hosts = append(hosts, seen{listener, vh})
		}
		rt, m := vh.Match(req, router.NormalizePath(req.URL.EscapedPath()))
		if rt == nil {
			results = append(results, fmt.Sprintf("  %s → 404 (no route in %s %s)", p.line, listener, vh.Name))
			continue
		}
		idx := -1
		for i, mm := range rt.Matchers {
			if mm == m {
				idx = i
			}
		}
		res := fmt.Sprintf("  %s → %s %s %s matchers[%d] → %s", p.line, listener, vh.Name, rt.Name, idx, fnName(rt))
		if pr := pipeline.Of(rt); pr != nil && pr.Redirect != nil {
			res += " " + pr.Redirect.Location(listener, req.Host, router.NormalizePath(req.URL.EscapedPath()), req.URL.RawQuery, m)
		}
		if pr := pipeline.Of(rt); pr != nil && pr.Rewrite != nil {
			res += " rewritten " + pr.Rewrite.Path(router.NormalizePath(req.URL.EscapedPath()), m)
		}
		results = append(results, res)
	}
	b.WriteString("virtual hosts reached:\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "  %s %s\n", h.listener, h.vh.Name)
		for _, rt := range h.vh.Routes {
			fmt.Fprintf(&b, "    route %s\n", rt.Name)
			for _, m := range rt.Matchers {
				fmt.Fprintf(&b, "      match %s\n", matcherString(m))
			}
			fmt.Fprintf(&b, "      target %s\n", targetString(rt))
		}
	}
	b.WriteString("probes:\n")
	for _, r := range results {
		b.WriteString(r)
		b.WriteByte('\n')
	}
	return b.String()
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return fmt.Sprintf("%#x", v)
}

func fnName(rt *router.Route) string {
	if p := pipeline.Of(rt); p != nil && p.Weighted != nil {
		return "weighted"
	}
	tg := pipeline.Target(rt)
	if tg == nil {
		a, _, _ := strings.Cut(actionString(rt), " ")
		return a
	}
	if tg.Qualifier != "" {
		return tg.FunctionName + "@" + tg.Qualifier
	}
	return tg.FunctionName
}

func matcherString(m *router.Matcher) string {
	var parts []string
	switch m.Kind {
	case router.PathPrefix:
		parts = append(parts, fmt.Sprintf("prefix %q", m.Path))
	case router.PathExact:
		parts = append(parts, fmt.Sprintf("exact %q", m.Path))
	case router.PathRegex:
		parts = append(parts, fmt.Sprintf("regex %q", m.Regex.String()))
	}
	if !m.CaseSensitive {
		parts = append(parts, "case-insensitive")
	}
	if len(m.Methods) > 0 {
		parts = append(parts, fmt.Sprintf("methods=%v", m.Methods))
	}
	for _, h := range m.Headers {
		s := "header " + h.Name
		switch {
		case h.Regex != nil:
			s += fmt.Sprintf(" ~ %q", h.Regex.String())
		case h.Value != "":
			s += fmt.Sprintf(" = %q", h.Value)
		default:
			s += " present"
		}
		if h.Invert {
			s = "not " + s
		}
		parts = append(parts, s)
	}
	for _, q := range m.Query {
		s := "query " + q.Name
		switch {
		case q.Regex != nil:
			s += fmt.Sprintf(" ~ %q", q.Regex.String())
		case q.Value != "":
			s += fmt.Sprintf(" = %q", q.Value)
		default:
			s += " present"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func targetString(rt *router.Route) string {
	return actionString(rt) + filtersString(pipeline.Of(rt))
}

func actionString(rt *router.Route) string {
	p := pipeline.Of(rt)
	switch {
	case p != nil && p.Direct != nil:
		return fmt.Sprintf("direct status=%d body=%q", p.Direct.Status, p.Direct.Body)
	case p != nil && p.Redirect != nil:
		rd := *p.Redirect
		re := ""
		if rd.RegexRewrite != nil {
			re = rd.RegexRewrite.String()
		}
		return fmt.Sprintf("redirect status=%d scheme=%q host=%q port=%q dropPort=%v path=%q pathQuery=%q/%v prefixRewrite=%q regex=%q substitution=%q stripQuery=%v",
			rd.Status, rd.Scheme, rd.Host, rd.Port, rd.DropPort, rd.Path, rd.PathQuery, rd.PathHasQuery, rd.PrefixRewrite, re, rd.Substitution, rd.StripQuery)
	}
	if p != nil && p.Weighted != nil {
		var prev uint64
		var s strings.Builder
		s.WriteString("weighted")
		for i, tg := range p.Weighted.Targets {
			fmt.Fprintf(&s, "\n        weight=%d %s", p.Weighted.Cumulative[i]-prev, invokeString(tg))
			prev = p.Weighted.Cumulative[i]
		}
		return s.String()
	}
	tg := pipeline.Target(rt)
	if tg == nil {
		return fmt.Sprintf("%T", rt.Target)
	}
	return invokeString(tg)
}

func invokeString(tg *lambda.Target) string {
	s := fmt.Sprintf("upstream=%s logical=%s function=%s qualifier=%q region=%s endpoint=%s async=%v wrap=%s unwrap=%s timeout=%s creds=%s",
		tg.Upstream, tg.LogicalName, tg.FunctionName, tg.Qualifier, tg.Region, tg.Endpoint, tg.Async, tg.Wrap, tg.Unwrap, tg.Timeout, credsString(tg))
	if tg.ALBMultiValue {
		s += " albMultiValue=true"
	}
	if tg.ALBLimits {
		s += " albLimits=true"
	}
	if tg.PropagateOriginalRouting {
		s += " propagateOriginalRouting=true"
	}
	if tg.Stream {
		s += " stream=true"
	}
	if u := tg.InvokeURL(); u != nil {
		s += " invoke=" + u.String()
	}
	return s
}

// filtersString lists the header filters and the filters that describe
// themselves (rate limits), in order (the timeout shows in the target).
func filtersString(p *pipeline.Route) string {
	if p == nil {
		return ""
	}
	var s string
	for _, f := range p.Request {
		switch h := f.(type) {
		case *pipeline.RequestHeaders:
			s += fmt.Sprintf("\n        request headers: remove=%v add=%+v", h.Remove, h.Add)
		case fmt.Stringer:
			s += "\n        request " + h.String()
		}
		if d, ok := f.(interface{ Describe() string }); ok {
			s += "\n        auth: " + d.Describe()
		}
	}
	for _, f := range p.Response {
		switch h := f.(type) {
		case *pipeline.ResponseHeaders:
			s += fmt.Sprintf("\n        response headers: remove=%v add=%+v", h.Remove, h.Add)
		case fmt.Stringer:
			s += "\n        response " + h.String()
		}
	}
	return s + optionsString(p)
}

// credsString names the credential source without calling Retrieve on
// anything but a static provider: the default chain would reach for
// instance metadata.
func credsString(tg *lambda.Target) string {
	switch c := tg.Credentials.(type) {
	case nil:
		return "none"
	case credentials.StaticCredentialsProvider:
		return fmt.Sprintf("static(%s, id %s, session token %v)", c.Value.Source, c.Value.AccessKeyID, c.Value.SessionToken != "")
	default:
		return fmt.Sprintf("%T", c)
	}
}
