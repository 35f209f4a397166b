package discovery_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/discovery"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// newDiscoverer returns a Discoverer whose upstreams without endpointUrl
// call local. Interval is tiny so that every RunOnce discovers again.
func newDiscoverer(st *sqlite.Store, local *url.URL, onChange func()) *discovery.Discoverer {
	return discovery.New(st, discovery.Options{
		Interval:  time.Nanosecond,
		Endpoints: lambda.Endpoints{LocalLambda: local, Getenv: func(string) string { return "" }},
		Logger:    quiet(),
		OnChange:  onChange,
	})
}

func TestRunOnceDiscoversLatest(t *testing.T) {
	st := openStore(t)
	_, local := lambdaWith(t, "echo")
	createSecret(t, st)
	createUpstream(t, st, "aws-upstream")
	d := newDiscoverer(st, local, nil)
	d.RunOnce(context.Background())

	u := getUpstream(t, st, "aws-upstream")
	want := []gloo.LambdaFunctionSpec{fn("echo", "echo", "$LATEST")}
	if !reflect.DeepEqual(u.Spec.AWS.LambdaFunctions, want) {
		t.Fatalf("lambdaFunctions = %v, want %v", u.Spec.AWS.LambdaFunctions, want)
	}
	if got := u.Metadata.Annotations[discovery.DiscoveredAnnotation]; got != "echo" {
		t.Errorf("annotation %s = %q, want %q", discovery.DiscoveredAnnotation, got, "echo")
	}
	if e := d.Error("gloo-system/aws-upstream"); e != "" {
		t.Errorf("Error = %q, want none", e)
	}
}

func TestRunOnceVersionsAndAliases(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	writeFunction(t, dir, "echo", "versions:\n  - version: 1\n  - version: 2\naliases:\n  prod: \"1\"\n")
	_, local := startLambda(t, dir)
	createSecret(t, st)
	createUpstream(t, st, "aws-upstream")
	newDiscoverer(st, local, nil).RunOnce(context.Background())

	want := []gloo.LambdaFunctionSpec{
		fn("echo", "echo", "$LATEST"),
		fn("echo:1", "echo", "1"),
		fn("echo:2", "echo", "2"),
		fn("echo:prod", "echo", "prod"),
	}
	if got := getUpstream(t, st, "aws-upstream").Spec.AWS.LambdaFunctions; !reflect.DeepEqual(got, want) {
		t.Fatalf("lambdaFunctions = %v, want %v", got, want)
	}
}

func TestRunOncePaginates(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	var want []gloo.LambdaFunctionSpec
	for i := range 120 {
		n := fmt.Sprintf("fn-%03d", i)
		writeFunction(t, dir, n, "")
		want = append(want, fn(n, n, "$LATEST"))
	}
	_, local := startLambda(t, dir)
	createSecret(t, st)
	createUpstream(t, st, "aws-upstream")
	newDiscoverer(st, local, nil).RunOnce(context.Background())

	got := getUpstream(t, st, "aws-upstream").Spec.AWS.LambdaFunctions
	if len(got) != 120 {
		t.Fatalf("found %d functions, want 120 (the local Lambda pages by 50)", len(got))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lambdaFunctions = %v, want %v", got, want)
	}
}

func TestRunOnceWritesNothingWhenNothingChanged(t *testing.T) {
	st := openStore(t)
	ll, _ := lambdaWith(t, "echo")
	fr := newFront(t, ll.Handler())
	createSecret(t, st)
	createUpstream(t, st, "aws-upstream", withEndpoint(fr.srv.URL))
	d := newDiscoverer(st, nil, nil)
	d.RunOnce(context.Background())
	first := getUpstream(t, st, "aws-upstream")
	if len(first.Spec.AWS.LambdaFunctions) != 1 {
		t.Fatalf("first discovery found %v", first.Spec.AWS.LambdaFunctions)
	}
	before := fr.requests.Load()
	d.RunOnce(context.Background())
	if fr.requests.Load() == before {
		t.Fatal("the second RunOnce did not call Lambda: the no-write check proves nothing")
	}
	second := getUpstream(t, st, "aws-upstream")
	if second.Metadata.ResourceVersion != first.Metadata.ResourceVersion || second.Metadata.Generation != first.Metadata.Generation {
		t.Errorf("unchanged functions were written again: resourceVersion %s -> %s, generation %d -> %d",
			first.Metadata.ResourceVersion, second.Metadata.ResourceVersion, first.Metadata.Generation, second.Metadata.Generation)
	}
}

func TestRunOnceKeepsHandWrittenEntry(t *testing.T) {
	st := openStore(t)
	_, local := lambdaWith(t, "echo")
	createSecret(t, st)
	createUpstream(t, st, "aws-upstream", withFunctions(fn("legacy", "old-fn", "live")))
	d := newDiscoverer(st, local, nil)
	for range 2 { // the second pass must not treat legacy as stale either
		d.RunOnce(context.Background())
	}
	want := []gloo.LambdaFunctionSpec{fn("echo", "echo", "$LATEST"), fn("legacy", "old-fn", "live")}
	u := getUpstream(t, st, "aws-upstream")
	if !reflect.DeepEqual(u.Spec.AWS.LambdaFunctions, want) {
		t.Fatalf("lambdaFunctions = %v, want %v (gloo#7603: hand-written entries survive)", u.Spec.AWS.LambdaFunctions, want)
	}
	if got := u.Metadata.Annotations[discovery.DiscoveredAnnotation]; got != "echo" {
		t.Errorf("annotation = %q, want %q", got, "echo")
	}
}

func TestRunOnceDropsVanishedAndKeepsEdited(t *testing.T) {
	st := openStore(t)
	before, _ := lambdaWith(t, "echo", "gone", "other")
	after, _ := lambdaWith(t, "echo", "other")
	fr := newFront(t, before.Handler())
	createSecret(t, st)
	createUpstream(t, st, "aws-upstream", withEndpoint(fr.srv.URL))
	d := newDiscoverer(st, nil, nil)
	ctx := context.Background()
	d.RunOnce(ctx)

	// The user points "other" at a qualifier of their choice.
	u := getUpstream(t, st, "aws-upstream")
	for i, f := range u.Spec.AWS.LambdaFunctions {
		if f.LogicalName == "other" {
			u.Spec.AWS.LambdaFunctions[i].Qualifier = "live"
		}
	}
	if _, err := st.Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	fr.setBackend(after.Handler()) // "gone" was deleted from Lambda
	d.RunOnce(ctx)
	d.RunOnce(ctx)

	want := []gloo.LambdaFunctionSpec{fn("echo", "echo", "$LATEST"), fn("other", "other", "live")}
	got := getUpstream(t, st, "aws-upstream")
	if !reflect.DeepEqual(got.Spec.AWS.LambdaFunctions, want) {
		t.Fatalf("lambdaFunctions = %v, want %v", got.Spec.AWS.LambdaFunctions, want)
	}
	if a := got.Metadata.Annotations[discovery.DiscoveredAnnotation]; a != "echo" {
		t.Errorf("annotation = %q, want %q (the edited entry is the user's now)", a, "echo")
	}
}

func TestOptOut(t *testing.T) {
	const label = discovery.GlooLabel
	tests := []struct {
		name     string
		fdsMode  string // "" creates no Settings
		labels   map[string]string
		discover bool
	}{
		{"no settings, no label", "", nil, true},
		{"no settings, label disabled", "", map[string]string{label: "disabled"}, false},
		{"no settings, label enabled", "", map[string]string{label: "enabled"}, true},
		{"BLACKLIST, no label", "BLACKLIST", nil, true},
		{"BLACKLIST, label disabled", "BLACKLIST", map[string]string{label: "disabled"}, false},
		{"WHITELIST, no label", "WHITELIST", nil, true},
		{"WHITELIST, label enabled", "WHITELIST", map[string]string{label: "enabled"}, true},
		{"WHITELIST, label disabled", "WHITELIST", map[string]string{label: "disabled"}, false},
		{"DISABLED, no label", "DISABLED", nil, false},
		{"DISABLED, label enabled", "DISABLED", map[string]string{label: "enabled"}, false},
	}
	ll, _ := lambdaWith(t, "echo")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			fr := newFront(t, ll.Handler())
			createSecret(t, st)
			if tc.fdsMode != "" {
				createSettings(t, st, tc.fdsMode)
			}
			opts := []upOpt{withEndpoint(fr.srv.URL)}
			for k, v := range tc.labels {
				opts = append(opts, withLabel(k, v))
			}
			created := createUpstream(t, st, "aws-upstream", opts...)
			newDiscoverer(st, nil, nil).RunOnce(context.Background())
			got := getUpstream(t, st, "aws-upstream")
			if tc.discover {
				if len(got.Spec.AWS.LambdaFunctions) != 1 {
					t.Fatalf("want echo discovered, got %v", got.Spec.AWS.LambdaFunctions)
				}
				return
			}
			if got.Metadata.ResourceVersion != created.Metadata.ResourceVersion || len(got.Spec.AWS.LambdaFunctions) != 0 {
				t.Errorf("opted-out upstream was written: %v (resourceVersion %s -> %s)", got.Spec.AWS.LambdaFunctions, created.Metadata.ResourceVersion, got.Metadata.ResourceVersion)
			}
			if n := fr.requests.Load(); n != 0 {
				t.Errorf("opted-out upstream's Lambda endpoint was called %d times", n)
			}
		})
	}
}

// TestWhitelistAWS checks Gloo's WHITELIST mode, the one its chart ships:
// AWS upstreams are discovered as in BLACKLIST mode (every one not
// labelled disabled), and those in kube-system or kube-public only when
// labelled enabled (solo-io/gloo projects/discovery/pkg/fds/syncer/
// discovery_syncer.go, selectUpstreamsWhitelist).
func TestWhitelistAWS(t *testing.T) {
	st := openStore(t)
	_, local := lambdaWith(t, "echo")
	createSecret(t, st)
	createSettings(t, st, "WHITELIST")
	inNS := func(ns string) upOpt { return func(up *resource.Upstream) { up.Metadata.Namespace = ns } }
	createUpstream(t, st, "on", withLabel(discovery.GlooLabel, "enabled"))
	createUpstream(t, st, "unlabelled")
	createUpstream(t, st, "off", withLabel(discovery.GlooLabel, "disabled"))
	createUpstream(t, st, "system", inNS("kube-system"))
	createUpstream(t, st, "system-on", inNS("kube-public"), withLabel(discovery.GlooLabel, "enabled"))
	newDiscoverer(st, local, nil).RunOnce(context.Background())
	for _, tc := range []struct {
		ns, name string
		want     int
	}{{ns, "on", 1}, {ns, "unlabelled", 1}, {ns, "off", 0}, {"kube-system", "system", 0}, {"kube-public", "system-on", 1}} {
		o, err := st.Get(context.Background(), resource.KindUpstream, tc.ns, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.(*resource.Upstream).Spec.AWS.LambdaFunctions; len(got) != tc.want {
			t.Errorf("%s/%s: %v, want %d functions", tc.ns, tc.name, got, tc.want)
		}
	}
}

func TestErrorConnectionRefused(t *testing.T) {
	st := openStore(t)
	createSecret(t, st)
	dead := closedURL(t)
	createUpstream(t, st, "aws-upstream", withEndpoint(dead))
	var changes atomic.Int64
	d := newDiscoverer(st, nil, func() { changes.Add(1) })
	d.RunOnce(context.Background())
	e := d.Error("gloo-system/aws-upstream")
	if !strings.HasPrefix(e, "function discovery failed: ") {
		t.Fatalf("Error = %q, want it to start with %q", e, "function discovery failed: ")
	}
	u, _ := url.Parse(dead)
	for _, part := range []string{"listing functions", "connection refused", u.Host} {
		if !strings.Contains(e, part) {
			t.Errorf("Error = %q, want it to name %q", e, part)
		}
	}
	if changes.Load() != 1 {
		t.Errorf("OnChange called %d times, want 1", changes.Load())
	}
	if got := getUpstream(t, st, "aws-upstream").Spec.AWS.LambdaFunctions; len(got) != 0 {
		t.Errorf("a failed discovery wrote %v", got)
	}
	if e := d.Error("gloo-system/other"); e != "" {
		t.Errorf("Error of an unknown upstream = %q, want none", e)
	}
}

func TestErrorNoCredentials(t *testing.T) {
	st := openStore(t)
	_, local := lambdaWith(t, "echo")
	createUpstream(t, st, "aws-upstream", withoutSecret())
	d := newDiscoverer(st, local, nil)
	d.RunOnce(context.Background())
	want := "function discovery failed: " + awscreds.NoSourceMessage
	if e := d.Error("gloo-system/aws-upstream"); e != want {
		t.Errorf("Error = %q, want %q", e, want)
	}
}

func TestErrorMissingSecret(t *testing.T) {
	st := openStore(t)
	_, local := lambdaWith(t, "echo")
	createUpstream(t, st, "aws-upstream") // refers to aws-creds, never created
	d := newDiscoverer(st, local, nil)
	d.RunOnce(context.Background())
	e := d.Error("gloo-system/aws-upstream")
	if !strings.Contains(e, "spec.aws.secretRef") || !strings.Contains(e, "gloo-system/aws-creds") {
		t.Errorf("Error = %q, want it to name spec.aws.secretRef and gloo-system/aws-creds", e)
	}
}

// TestBackoff checks that a failing endpoint is not called again before the
// backoff passes, and that the error clears once the endpoint recovers.
// MaxBackoff keeps the first delay at 240-360ms; without it the first delay
// is 0.8-1.2s.
func TestBackoff(t *testing.T) {
	st := openStore(t)
	ll, _ := lambdaWith(t, "echo")
	fr := newFront(t, ll.Handler())
	fr.mode.Store(mode500)
	createSecret(t, st)
	createUpstream(t, st, "aws-upstream", withEndpoint(fr.srv.URL))
	var changes atomic.Int64
	d := discovery.New(st, discovery.Options{
		Interval:   time.Nanosecond,
		MaxBackoff: 300 * time.Millisecond,
		Endpoints:  lambda.Endpoints{Getenv: func(string) string { return "" }},
		Logger:     quiet(),
		OnChange:   func() { changes.Add(1) },
	})
	ctx := context.Background()
	d.RunOnce(ctx)
	if n := fr.requests.Load(); n != 1 {
		t.Fatalf("first RunOnce made %d requests, want 1 (no SDK retries)", n)
	}
	e := d.Error("gloo-system/aws-upstream")
	if !strings.HasPrefix(e, "function discovery failed: ") || !strings.Contains(e, "injected failure") {
		t.Errorf("Error = %q, want a discovery failure naming Lambda's message", e)
	}
	if changes.Load() != 1 {
		t.Errorf("OnChange called %d times after the failure, want 1", changes.Load())
	}

	// Immediately again: still backing off, so no request.
	d.RunOnce(ctx)
	if n := fr.requests.Load(); n != 1 {
		t.Errorf("RunOnce during the backoff made %d requests in all, want still 1", n)
	}
	if d.Error("gloo-system/aws-upstream") != e {
		t.Errorf("error changed during the backoff")
	}

	fr.mode.Store(modeOK)
	eventually(t, "the error to clear after the endpoint recovered", func() bool {
		d.RunOnce(ctx)
		return d.Error("gloo-system/aws-upstream") == ""
	})
	if changes.Load() != 2 {
		t.Errorf("OnChange called %d times in all, want 2 (error appeared, error cleared)", changes.Load())
	}
	if got := getUpstream(t, st, "aws-upstream").Spec.AWS.LambdaFunctions; len(got) != 1 {
		t.Errorf("after recovery lambdaFunctions = %v, want echo", got)
	}
}

// TestErrorClearsWhenUpstreamDeleted checks that a deleted upstream's error
// is forgotten.
func TestErrorClearsWhenUpstreamDeleted(t *testing.T) {
	st := openStore(t)
	createUpstream(t, st, "aws-upstream", withoutSecret())
	d := newDiscoverer(st, nil, nil)
	ctx := context.Background()
	d.RunOnce(ctx)
	if d.Error("gloo-system/aws-upstream") == "" {
		t.Fatal("want an error for an upstream without credentials")
	}
	if err := st.Delete(ctx, "Upstream", ns, "aws-upstream"); err != nil {
		t.Fatal(err)
	}
	d.RunOnce(ctx)
	if e := d.Error("gloo-system/aws-upstream"); e != "" {
		t.Errorf("Error after delete = %q, want none", e)
	}
}

// TestErrorClearsWhenOptedOut checks that opting out clears a failure.
func TestErrorClearsWhenOptedOut(t *testing.T) {
	st := openStore(t)
	createUpstream(t, st, "aws-upstream", withoutSecret())
	var changes atomic.Int64
	d := newDiscoverer(st, nil, func() { changes.Add(1) })
	ctx := context.Background()
	d.RunOnce(ctx)
	u := getUpstream(t, st, "aws-upstream")
	u.Metadata.Labels = map[string]string{discovery.GlooLabel: "disabled"}
	if _, err := st.Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	d.RunOnce(ctx)
	if e := d.Error("gloo-system/aws-upstream"); e != "" {
		t.Errorf("Error after opting out = %q, want none", e)
	}
	if changes.Load() != 2 {
		t.Errorf("OnChange called %d times, want 2", changes.Load())
	}
}

// TestErrorNamesStatusOfNonJSONAnswer: a proxy or wrong endpoint answering
// HTML must give an error that says what answered, not only a JSON decoding
// complaint.
func TestErrorNamesStatusOfNonJSONAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html>bad gateway</html>")
	}))
	t.Cleanup(srv.Close)
	st := openStore(t)
	createSecret(t, st)
	createUpstream(t, st, "aws-upstream", withEndpoint(srv.URL))
	d := newDiscoverer(st, nil, nil)
	d.RunOnce(context.Background())
	if e := d.Error("gloo-system/aws-upstream"); !strings.Contains(e, "502") {
		t.Errorf("Error = %q, want it to name the HTTP status 502", e)
	}
}

// TestErrorListFunctionsNotImplemented: an endpoint that runs functions but
// has no ListFunctions (AWS's Runtime Interface Emulator, serverless-offline
// answer 404 "404 page not found") must give an error that says so and what
// to do, not the SDK's JSON decoding complaint.
func TestErrorListFunctionsNotImplemented(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"404 text", http.NotFound},
		{"405", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}},
		{"unknown operation", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Amzn-ErrorType", "UnknownOperationException")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"Type":"User","Message":"Unknown operation"}`)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			st := openStore(t)
			createSecret(t, st)
			createUpstream(t, st, "aws-upstream", withEndpoint(srv.URL))
			d := newDiscoverer(st, nil, nil)
			d.RunOnce(context.Background())
			e := d.Error("gloo-system/aws-upstream")
			for _, part := range []string{"does not implement the Lambda ListFunctions API", "spec.aws.lambdaFunctions", discovery.GlooLabel + ": disabled"} {
				if !strings.Contains(e, part) {
					t.Errorf("Error = %q, want it to contain %q", e, part)
				}
			}
			if strings.Contains(e, "ProtocolErrorInfo") {
				t.Errorf("Error = %q, still the SDK's decoding complaint", e)
			}
		})
	}
}
