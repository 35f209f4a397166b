package extauth

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/locallambda"
	"github.com/lambdagate/lambdagate/internal/router"
)

// localLambda serves testdata/authorizers on loopback and counts the
// invocations of each function.
type localLambda struct {
	url   *url.URL
	mu    sync.Mutex
	calls map[string]int
}

func (l *localLambda) count(fn string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[fn]
}

var (
	llOnce sync.Once
	ll     *localLambda
	llErr  error
)

// startLocalLambda starts one local Lambda for the package's tests (the
// Node processes stay warm across tests).
func startLocalLambda(t testing.TB) *localLambda {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node executable not found on PATH (install Node.js 20): %v", err)
	}
	llOnce.Do(func() {
		dir, err := functionsDir()
		if err != nil {
			llErr = err
			return
		}
		srv, err := locallambda.New(locallambda.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			llErr = err
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			llErr = err
			return
		}
		l := &localLambda{calls: map[string]int{}}
		h := srv.Handler()
		go func() {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if parts := strings.Split(r.URL.Path, "/"); len(parts) > 3 && parts[2] == "functions" {
					l.mu.Lock()
					l.calls[parts[3]]++
					l.mu.Unlock()
				}
				h.ServeHTTP(w, r)
			}))
		}()
		l.url, _ = url.Parse("http://" + ln.Addr().String())
		ll = l
	})
	if llErr != nil {
		t.Fatal(llErr)
	}
	return ll
}

// functionsDir links the test authorizers (testdata/authorizers) and the
// examples' (examples/functions/*-authorizer) into one directory for the
// local Lambda. The directory is left behind in the temp dir by the
// package's shared server.
func functionsDir() (string, error) {
	dir, err := os.MkdirTemp("", "extauth-functions")
	if err != nil {
		return "", err
	}
	links := map[string]string{"token": "../../../examples/functions/token-authorizer", "simple-v2": "../../../examples/functions/simple-authorizer"}
	entries, err := os.ReadDir("testdata/authorizers")
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		links[e.Name()] = filepath.Join("testdata", "authorizers", e.Name())
	}
	for name, target := range links {
		abs, err := filepath.Abs(target)
		if err != nil {
			return "", err
		}
		if err := os.Symlink(abs, filepath.Join(dir, name)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

var testInvoker = lambda.NewInvoker(lambda.Options{})

var keySeq atomic.Int64

func newTestAuthorizer(t testing.TB, fn string, a Authorizer) *Authorizer {
	l := startLocalLambda(t)
	tg := &lambda.Target{FunctionName: fn, Region: "us-east-1", Endpoint: l.url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "placeholder-secret", "")}
	tg.Prepare()
	a.Target = tg
	// A cache of its own per test: caches are shared by key.
	return NewAuthorizer(a, t.Name()+"/"+fn+"/"+string(rune('a'+keySeq.Add(1)%26)))
}

func header(name string) Source { return Source{Kind: enterprise.SourceHeader, Name: name} }

// run sends one request through the filter and returns its status (200
// when the filter let it through) and the exchange.
func run(t *testing.T, f pipeline.RequestFilter, method, target string, hdr map[string]string) (int, *pipeline.Exchange, error) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	// The route matched: prefix /pets, as the gateway records it.
	x := &pipeline.Exchange{Invoker: testInvoker, Matched: &router.Matcher{Kind: router.PathPrefix, Path: "/pets", CaseSensitive: true}, Path: r.URL.Path}
	err := f.FilterRequest(httptest.NewRecorder(), r.WithContext(context.Background()), x)
	if err == nil {
		return 200, x, nil
	}
	status, _, _, _ := httperr.Map(err)
	return status, x, err
}

func TestTokenAuthorizer(t *testing.T) {
	a := newTestAuthorizer(t, "token", Authorizer{Token: true, Sources: []Source{header("Authorization")}})
	cases := []struct {
		token  string
		status int
		reason string
	}{
		{"allow", 200, ""},
		{"deny", 403, ReasonDenied},
		{"unauthorized", 401, ReasonUnauthorized},
		{"something-else", 500, ReasonAuthorizerFailed},
		{"", 401, ReasonMissingIdentity},
	}
	for _, tc := range cases {
		t.Run(tc.token, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.token != "" {
				hdr["Authorization"] = tc.token
			}
			status, x, err := run(t, a, "GET", "/pets/1", hdr)
			if status != tc.status {
				t.Fatalf("status %d (%v), want %d", status, err, tc.status)
			}
			if tc.reason != "" {
				d, ok := err.(*Denial)
				if !ok || d.Reason != tc.reason {
					t.Fatalf("error %#v, want a denial with reason %s", err, tc.reason)
				}
				if tc.token == "something-else" && strings.Contains(err.Error(), tc.token) {
					t.Fatalf("the error %q quotes the token", err)
				}
				return
			}
			if x.Auth == nil || x.Auth.PrincipalID != "user" {
				t.Fatalf("Auth %+v, want principal user", x.Auth)
			}
			want := map[string]any{"stringKey": "stringval", "numberKey": 123.0, "booleanKey": true}
			if !jsonEqual(x.Auth.Context, want) {
				t.Fatalf("context %v, want %v", x.Auth.Context, want)
			}
		})
	}
}

func TestRequestAuthorizerV1(t *testing.T) {
	a := newTestAuthorizer(t, "request-v1", Authorizer{Sources: []Source{header("Headerauth1"), {Kind: enterprise.SourceQuery, Name: "QueryString1"}}})
	status, x, err := run(t, a, "GET", "/pets/1?QueryString1=queryValue1", map[string]string{"HeaderAuth1": "headerValue1"})
	if status != 200 {
		t.Fatalf("status %d (%v)", status, err)
	}
	want := map[string]any{"method": "GET", "path": "/pets/1", "resource": "/pets/{proxy+}", "proxy": "1", "identitySource": "headerValue1,queryValue1"}
	if !jsonEqual(x.Auth.Context, want) {
		t.Fatalf("context %v, want %v", x.Auth.Context, want)
	}
	status, _, _ = run(t, a, "GET", "/pets/1?QueryString1=other", map[string]string{"HeaderAuth1": "headerValue1"})
	if status != 401 {
		t.Fatalf("wrong query value: status %d, want 401", status)
	}
	// A missing identity source is refused without calling the function.
	before := ll.count("request-v1")
	status, _, _ = run(t, a, "GET", "/pets/1", map[string]string{"HeaderAuth1": "headerValue1"})
	if status != 401 || ll.count("request-v1") != before {
		t.Fatalf("missing query identity source: status %d, calls %d -> %d; want 401 without a call", status, before, ll.count("request-v1"))
	}
}

func TestSimpleAuthorizerV2AndCache(t *testing.T) {
	a := newTestAuthorizer(t, "simple-v2", Authorizer{V2: true, Simple: true, TTL: time.Minute, Sources: []Source{header("Authorization")}})
	now := time.Unix(1_700_000_000, 0)
	a.now = func() time.Time { return now }
	before := ll.count("simple-v2")
	for i := 0; i < 3; i++ {
		status, x, err := run(t, a, "POST", "/orders?x=1", map[string]string{"Authorization": "secretToken"})
		if status != 200 {
			t.Fatalf("call %d: status %d (%v)", i, status, err)
		}
		c := x.Auth.Context
		if c["routeArn"] != "arn:aws:execute-api:us-east-1:123456789012:lambdagate/$default/POST/orders" || c["type"] != "REQUEST" || c["version"] != "2.0" {
			t.Fatalf("the event the authorizer saw: %v", c)
		}
		if !jsonEqual(c["identitySource"], []any{"secretToken"}) || !jsonEqual(c["mapKey"], map[string]any{"value1": "value2"}) {
			t.Fatalf("context %v", c)
		}
	}
	if got := ll.count("simple-v2") - before; got != 1 {
		t.Fatalf("authorizer called %d times for one identity within the TTL, want 1", got)
	}
	// A refusal is cached too, per identity.
	for i := 0; i < 2; i++ {
		if status, _, _ := run(t, a, "POST", "/orders", map[string]string{"Authorization": "wrong"}); status != 403 {
			t.Fatalf("isAuthorized false: status %d, want 403", status)
		}
	}
	if got := ll.count("simple-v2") - before; got != 2 {
		t.Fatalf("authorizer called %d times for two identities, want 2", got)
	}
	now = now.Add(time.Minute)
	if status, _, _ := run(t, a, "POST", "/orders", map[string]string{"Authorization": "secretToken"}); status != 200 {
		t.Fatalf("after the TTL: status %d", status)
	}
	if got := ll.count("simple-v2") - before; got != 3 {
		t.Fatalf("after the TTL the authorizer was called %d times in all, want 3", got)
	}
}

func TestIAMAuthorizerV2Wildcards(t *testing.T) {
	a := newTestAuthorizer(t, "iam-v2", Authorizer{V2: true, TTL: time.Minute, Sources: []Source{header("Authorization")}})
	cases := []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/pets", "pets-reader", 200},
		{"GET", "/pets/1", "pets-reader", 200},
		{"GET", "/pets/secret", "pets-reader", 403}, // an explicit Deny wins
		{"POST", "/pets", "pets-reader", 403},       // no statement matches
		{"GET", "/owners", "pets-reader", 403},
		{"GET", "/pets", "someone", 403},
	}
	before := ll.count("iam-v2")
	for _, tc := range cases {
		status, x, err := run(t, a, tc.method, tc.path, map[string]string{"Authorization": tc.token})
		if status != tc.status {
			t.Errorf("%s %s as %s: status %d (%v), want %d", tc.method, tc.path, tc.token, status, err, tc.status)
			continue
		}
		if status == 200 && (x.Auth.PrincipalID != "abcdef" || x.Auth.Context["exampleKey"] != "exampleValue") {
			t.Errorf("Auth %+v", x.Auth)
		}
	}
	// The cached policy is evaluated against each request's route ARN, as
	// API Gateway evaluates a cached policy: two identities, two calls.
	if got := ll.count("iam-v2") - before; got != 2 {
		t.Fatalf("authorizer called %d times, want 2 (one per identity)", got)
	}
}

func TestBrokenAuthorizerIs500(t *testing.T) {
	a := newTestAuthorizer(t, "broken", Authorizer{TTL: 0})
	status, _, err := run(t, a, "GET", "/", nil)
	if status != 500 {
		t.Fatalf("status %d (%v), want 500", status, err)
	}
	missing := newTestAuthorizer(t, "no-such-function", Authorizer{})
	if status, _, err := run(t, missing, "GET", "/", nil); status != 500 {
		t.Fatalf("missing function: status %d (%v), want 500", status, err)
	}
	slow := newTestAuthorizer(t, "slow", Authorizer{V2: true, Simple: true})
	status, _, err = run(t, slow, "GET", "/", nil)
	if d, ok := err.(*Denial); status != 500 || !ok || d.Detail != "FunctionTimeout" {
		t.Fatalf("timed-out authorizer: status %d (%v), want 500 naming FunctionTimeout", status, err)
	}
}

func TestParseAnswer(t *testing.T) {
	cases := []struct {
		name       string
		v2, simple bool
		body       string
		ok         bool
	}{
		{"1.0 policy", false, false, `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"a":"b","n":1,"t":true}}`, true},
		{"1.0 context object", false, false, `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"a":{"b":1}}}`, false},
		{"1.0 context array", false, false, `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"a":[1]}}`, false},
		{"2.0 policy, context object", true, false, `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"a":{"b":1}}}`, true},
		{"no principalId", false, false, `{"policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`, false},
		{"no policy", false, false, `{"principalId":"u"}`, false},
		{"simple", true, true, `{"isAuthorized":false}`, true},
		{"simple, isAuthorized a string", true, true, `{"isAuthorized":"true"}`, false},
		{"simple, not an object", true, true, `true`, false},
	}
	for _, tc := range cases {
		a := &Authorizer{V2: tc.v2, Simple: tc.simple}
		if _, ok := a.parse([]byte(tc.body)); ok != tc.ok {
			t.Errorf("%s: ok=%v, want %v", tc.name, ok, tc.ok)
		}
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestConcurrentMissesShareOneCall: a burst of requests of one new
// identity calls the authorizer once; the others wait for its answer.
func TestConcurrentMissesShareOneCall(t *testing.T) {
	a := newTestAuthorizer(t, "simple-v2", Authorizer{V2: true, Simple: true, TTL: time.Minute, Sources: []Source{header("Authorization")}})
	before := ll.count("simple-v2")
	const n = 16
	start := make(chan struct{})
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := httptest.NewRequest("GET", "/burst", nil)
			r.Header.Set("Authorization", "secretToken")
			err := a.FilterRequest(nil, r, &pipeline.Exchange{Invoker: testInvoker})
			status := 200
			if err != nil {
				status, _, _, _ = httperr.Map(err)
			}
			statuses <- status
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Fatalf("a request of the burst got %d", s)
		}
	}
	if got := ll.count("simple-v2") - before; got != 1 {
		t.Fatalf("%d concurrent requests of one identity called the authorizer %d times, want 1", n, got)
	}
}
