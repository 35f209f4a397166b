// Package discovery fills each AWS upstream's spec.aws.lambdaFunctions from
// the Lambda API, as Gloo's function discovery (FDS) does, with three
// improvements: aliases are discovered too, entries written by hand are
// kept instead of overwritten (gloo#7603), and nothing is written when
// nothing changed.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// Label and annotation keys.
const (
	// GlooLabel is Gloo's per-upstream switch: "enabled" or "disabled".
	GlooLabel = "discovery.solo.io/function_discovery"
	// DiscoveredAnnotation lists the logical names discovery wrote last
	// time, so that it can tell them from entries written by hand.
	DiscoveredAnnotation = "lambdagate.io/discovered-functions"
)

// Options configures a Discoverer.
type Options struct {
	// Interval between two discoveries of one upstream. Default 5s.
	Interval time.Duration
	// MaxBackoff caps the delay after repeated errors. Default 5m.
	MaxBackoff time.Duration
	// Endpoints picks each upstream's Lambda API base URL, as
	// translation does. Default: os.Getenv, no local Lambda.
	Endpoints lambda.Endpoints
	Resolver  *awscreds.Resolver
	Logger    *slog.Logger
	// HTTPClient for the Lambda API. Default: the SDK's.
	HTTPClient *http.Client
	// OnChange is called when an upstream's discovery error appears or
	// clears, so that the gateway can refresh statuses.
	OnChange func()
	// OnRun is called after each discovery of one upstream with its error
	// (nil on success), for metrics. Default: nothing.
	OnRun func(error)
}

// Discoverer runs discovery for every eligible upstream.
type Discoverer struct {
	st       store.Store
	o        Options
	mu       sync.Mutex
	errs     map[string]string // upstream key -> last error
	next     map[string]time.Time
	fail     map[string]int
	inFlight map[string]bool
	sem      chan struct{}
}

// maxConcurrent bounds simultaneous discoveries, so that one slow endpoint
// delays only its own upstream and many upstreams do not open many
// connections at once.
const maxConcurrent = 8

// New returns a Discoverer.
func New(st store.Store, o Options) *Discoverer {
	if o.Interval == 0 {
		o.Interval = 5 * time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Resolver == nil {
		o.Resolver = awscreds.NewResolver()
	}
	return &Discoverer{st: st, o: o, errs: map[string]string{}, next: map[string]time.Time{}, fail: map[string]int{},
		inFlight: map[string]bool{}, sem: make(chan struct{}, maxConcurrent)}
}

// Error returns the last discovery error of an upstream ("" when none); it
// plugs into translate.Conditions.Upstream.
func (d *Discoverer) Error(upstreamKey string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.errs[upstreamKey]; e != "" {
		return "function discovery failed: " + e
	}
	return ""
}

// Run discovers until ctx is done. It never blocks serving: it only reads
// and writes the store.
func (d *Discoverer) Run(ctx context.Context) {
	tick := time.NewTicker(min(d.o.Interval, time.Second))
	defer tick.Stop()
	for {
		d.runOnce(ctx, false)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce discovers every upstream that is due and waits for those
// discoveries to finish.
func (d *Discoverer) RunOnce(ctx context.Context) { d.runOnce(ctx, true) }

// runOnce starts a discovery for each due upstream that has none running;
// with wait it waits for them.
func (d *Discoverer) runOnce(ctx context.Context, wait bool) {
	ups, err := d.st.List(ctx, resource.KindUpstream, "")
	var ce *store.CorruptError
	if errors.As(err, &ce) {
		err = nil // the readable upstreams are still discovered
	}
	if err != nil {
		if ctx.Err() == nil {
			d.o.Logger.Warn("discovery: listing upstreams failed", "error", err.Error())
		}
		return
	}
	secretsList, err := d.st.List(ctx, resource.KindSecret, "")
	if errors.As(err, &ce) {
		err = nil
	}
	if err != nil {
		if ctx.Err() == nil {
			d.o.Logger.Warn("discovery: listing secrets failed", "error", err.Error())
		}
		return
	}
	smap := map[string]*core.Secret{}
	for _, o := range secretsList {
		if s, ok := o.(*resource.Secret); ok {
			smap[s.Metadata.Key()] = &s.Secret
		}
	}
	opts, mode := d.settings(ctx)
	now := time.Now()
	seen := map[string]bool{}
	var wg sync.WaitGroup
	defer func() {
		if wait {
			wg.Wait()
		}
	}()
	for _, o := range ups {
		u := o.(*resource.Upstream)
		key := u.Metadata.Key()
		seen[key] = true
		if !eligible(u, mode) || u.Spec.AWS == nil {
			d.setErr(key, "")
			continue
		}
		d.mu.Lock()
		due := !now.Before(d.next[key]) && !d.inFlight[key]
		if due {
			d.inFlight[key] = true
		}
		d.mu.Unlock()
		if !due {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.sem <- struct{}{}
			defer func() { <-d.sem }()
			d.discoverOne(ctx, u, key, smap, opts)
		}()
	}
	d.mu.Lock()
	for k := range d.next {
		if !seen[k] && !d.inFlight[k] {
			delete(d.next, k)
			delete(d.fail, k)
			delete(d.errs, k)
		}
	}
	d.mu.Unlock()
}

func (d *Discoverer) discoverOne(ctx context.Context, u *resource.Upstream, key string, smap map[string]*core.Secret, opts *gloo.AWSOptions) {
	now := time.Now()
	err := d.discover(ctx, u, smap, opts)
	d.mu.Lock()
	delete(d.inFlight, key)
	d.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	if d.o.OnRun != nil {
		d.o.OnRun(err)
	}
	{
		d.mu.Lock()
		if err != nil {
			d.fail[key]++
			d.next[key] = now.Add(backoff(d.fail[key], d.o.MaxBackoff))
		} else {
			d.fail[key] = 0
			d.next[key] = now.Add(d.o.Interval)
		}
		d.mu.Unlock()
		msg := ""
		if err != nil {
			msg = err.Error()
			d.o.Logger.Warn("discovery failed", "upstream", key, "error", msg)
		}
		d.setErr(key, msg)
	}
}

// backoff is exponential from 1s (factor 2, capped), with ±20% jitter like
// Gloo's go-utils backoff.
func backoff(failures int, max time.Duration) time.Duration {
	b := time.Second << min(failures-1, 20)
	if b > max || b <= 0 {
		b = max
	}
	j := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(b) * j)
}

func (d *Discoverer) setErr(key, msg string) {
	d.mu.Lock()
	changed := d.errs[key] != msg
	if msg == "" {
		delete(d.errs, key)
	} else {
		d.errs[key] = msg
	}
	d.mu.Unlock()
	if changed && d.o.OnChange != nil {
		d.o.OnChange()
	}
}

func (d *Discoverer) settings(ctx context.Context) (*gloo.AWSOptions, string) {
	o, err := d.st.Get(ctx, resource.KindSettings, resource.SettingsNamespace, resource.SettingsName)
	if err != nil {
		return nil, "BLACKLIST"
	}
	s := o.(*resource.Settings)
	mode := "BLACKLIST"
	if s.Spec.Discovery != nil && s.Spec.Discovery.FdsMode != "" {
		mode = s.Spec.Discovery.FdsMode
	}
	if s.Spec.Gloo != nil {
		return s.Spec.Gloo.AWSOptions, mode
	}
	return nil, mode
}

// eligible applies Gloo's fdsMode and label: BLACKLIST discovers unless
// the label says disabled, WHITELIST only when it says enabled (gloo#7916),
// DISABLED never.
// eligible applies Gloo's function discovery modes to an AWS upstream.
// Gloo treats AWS upstreams alike in BLACKLIST and WHITELIST mode (its
// chart ships WHITELIST): discovered unless labelled disabled, and in
// kube-system or kube-public only when labelled enabled (solo-io/gloo
// projects/discovery/pkg/fds/syncer/discovery_syncer.go). Gloo also honours
// the label on namespaces; lambdagate does not read namespaces.
func eligible(u *resource.Upstream, mode string) bool {
	v := u.Metadata.Labels[GlooLabel]
	switch {
	case mode == "DISABLED" || v == "disabled":
		return false
	case u.Metadata.Namespace == "kube-system" || u.Metadata.Namespace == "kube-public":
		return v == "enabled"
	}
	return true
}

func (d *Discoverer) discover(ctx context.Context, u *resource.Upstream, secrets map[string]*core.Secret, opts *gloo.AWSOptions) error {
	a := u.Spec.AWS
	creds, err := d.o.Resolver.ForUpstream(a, u.Metadata.Namespace, secrets, opts)
	if err != nil {
		return err
	}
	endpoint := d.o.Endpoints.For(a.EndpointURL, a.Region)
	client := awslambda.New(awslambda.Options{
		Region:       a.Region,
		Credentials:  creds,
		BaseEndpoint: aws.String(endpoint.String()),
		HTTPClient:   d.httpClient(),
		Retryer:      aws.NopRetryer{},
	})
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	found, err := List(cctx, client)
	if err != nil {
		return err
	}
	return d.write(ctx, u, found)
}

func (d *Discoverer) httpClient() awslambda.HTTPClient {
	if d.o.HTTPClient != nil {
		return d.o.HTTPClient
	}
	return http.DefaultClient
}

// List returns every function version and alias, named as Gloo names them
// (name for $LATEST, name:version, and name:alias), sorted by logical name.
func List(ctx context.Context, client *awslambda.Client) ([]gloo.LambdaFunctionSpec, error) {
	var out []gloo.LambdaFunctionSpec
	names := map[string]bool{}
	p := awslambda.NewListFunctionsPaginator(client, &awslambda.ListFunctionsInput{FunctionVersion: "ALL"})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if status, ok := listNotImplemented(err); ok {
				return nil, fmt.Errorf("listing functions: the endpoint answered HTTP %d: it does not implement the Lambda ListFunctions API (local runners such as AWS's Runtime Interface Emulator only invoke), so its functions cannot be discovered; list them in spec.aws.lambdaFunctions, and label the upstream %s: disabled to stop discovery", status, GlooLabel)
			}
			return nil, fmt.Errorf("listing functions: %w", cleanErr(err))
		}
		for _, f := range page.Functions {
			name, version := aws.ToString(f.FunctionName), aws.ToString(f.Version)
			logical := name + ":" + version
			if version == "$LATEST" {
				logical = name
			}
			out = append(out, gloo.LambdaFunctionSpec{LogicalName: logical, LambdaFunctionName: name, Qualifier: version})
			names[name] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		ap := awslambda.NewListAliasesPaginator(client, &awslambda.ListAliasesInput{FunctionName: aws.String(name)})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("listing aliases of %s: %w", name, cleanErr(err))
			}
			for _, al := range page.Aliases {
				a := aws.ToString(al.Name)
				out = append(out, gloo.LambdaFunctionSpec{LogicalName: name + ":" + a, LambdaFunctionName: name, Qualifier: a})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalName < out[j].LogicalName })
	return out, nil
}

// listNotImplemented reports an answer meaning the endpoint has no
// ListFunctions: ListFunctions names no resource, so Lambda itself never
// answers it 404, 405 or 501; endpoints without the operation do (often with
// a body that is not JSON, which the SDK reports as a decoding error).
func listNotImplemented(err error) (int, bool) {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return 0, false
	}
	switch st := re.HTTPStatusCode(); st {
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return st, true
	}
	return 0, false
}

// cleanErr keeps the SDK's message but drops its long operation prefix,
// and keeps the HTTP status when there was one.
func cleanErr(err error) error {
	s := err.Error()
	if i := strings.LastIndex(s, ", "); i > 0 && strings.HasPrefix(s, "operation error") {
		s = strings.TrimSpace(s[i+2:])
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 && !strings.Contains(s, fmt.Sprint(re.HTTPStatusCode())) {
		s = fmt.Sprintf("HTTP %d: %s", re.HTTPStatusCode(), s)
	}
	return errors.New(s)
}

// Merge combines discovered functions with the current list: entries
// written by hand (not in previous, the names discovery wrote last time)
// are kept and win over a discovered entry of the same logical name;
// entries discovery wrote earlier that no longer exist are dropped.
func Merge(current, discovered []gloo.LambdaFunctionSpec, previous map[string]bool) ([]gloo.LambdaFunctionSpec, map[string]bool) {
	byName := map[string]gloo.LambdaFunctionSpec{}
	disc := map[string]gloo.LambdaFunctionSpec{}
	for _, f := range discovered {
		disc[f.LogicalName] = f
	}
	written := map[string]bool{}
	for _, f := range current {
		if !previous[f.LogicalName] {
			byName[f.LogicalName] = f // hand-written
			continue
		}
		if df, ok := disc[f.LogicalName]; (ok && df != f) || !discoveredShape(f) {
			byName[f.LogicalName] = f // discovered once, edited by hand since
		}
	}
	for _, f := range discovered {
		if _, ok := byName[f.LogicalName]; !ok {
			byName[f.LogicalName] = f
			written[f.LogicalName] = true
		}
	}
	out := make([]gloo.LambdaFunctionSpec, 0, len(byName))
	for _, f := range byName {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalName < out[j].LogicalName })
	return out, written
}

// discoveredShape reports whether f looks as discovery writes entries;
// any other shape was edited by hand.
func discoveredShape(f gloo.LambdaFunctionSpec) bool {
	if f.Qualifier == "$LATEST" {
		return f.LogicalName == f.LambdaFunctionName
	}
	return f.LogicalName == f.LambdaFunctionName+":"+f.Qualifier
}

func parsePrevious(s string) map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			m[n] = true
		}
	}
	return m
}

func formatPrevious(m map[string]bool) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// write stores the merged list when it changed, retrying conflicts against
// the latest version.
func (d *Discoverer) write(ctx context.Context, u *resource.Upstream, found []gloo.LambdaFunctionSpec) error {
	for attempt := 0; attempt < 5; attempt++ {
		prev := parsePrevious(u.Metadata.Annotations[DiscoveredAnnotation])
		merged, written := Merge(u.Spec.AWS.LambdaFunctions, found, prev)
		ann := formatPrevious(written)
		if reflect.DeepEqual(merged, nonNil(u.Spec.AWS.LambdaFunctions)) && ann == u.Metadata.Annotations[DiscoveredAnnotation] {
			return nil
		}
		// A patch of these two fields alone: an Update of the whole spec
		// would write back only what lambdagate models.
		_, err := d.st.PatchLambdaFunctions(ctx, u.Metadata.Namespace, u.Metadata.Name, u.Metadata.ResourceVersion,
			merged, map[string]string{DiscoveredAnnotation: ann})
		if err == nil {
			d.o.Logger.Info("discovery updated functions", "upstream", u.Metadata.Key(), "functions", len(merged))
			return nil
		}
		if !store.IsConflict(err) {
			return fmt.Errorf("writing lambdaFunctions: %w", err)
		}
		o, err := d.st.Get(ctx, resource.KindUpstream, u.Metadata.Namespace, u.Metadata.Name)
		if err != nil {
			return fmt.Errorf("re-reading the upstream after a conflict: %w", err)
		}
		u = o.(*resource.Upstream)
		if u.Spec.AWS == nil {
			return nil
		}
	}
	return errors.New("writing lambdaFunctions: too many concurrent changes; will retry")
}

func nonNil(l []gloo.LambdaFunctionSpec) []gloo.LambdaFunctionSpec {
	if l == nil {
		return []gloo.LambdaFunctionSpec{}
	}
	return l
}
