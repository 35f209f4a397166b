package awscreds

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/locallambda"
)

// load calls ListFunctions on the local Lambda (which verifies each
// signature and the session's expiry) from workers goroutines for d, and
// returns the number of calls and the failures.
func load(t *testing.T, e *env, p *recorder, workers int, d time.Duration, during func(elapsed time.Duration)) (int64, []string) {
	t.Helper()
	c := e.lambdaClient(p)
	var n atomic.Int64
	var mu sync.Mutex
	var failures []string
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(stop) {
				_, err := c.ListFunctions(ctxT(t), &lambda.ListFunctionsInput{})
				n.Add(1)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	if during != nil {
		start := time.Now()
		for time.Now().Before(stop) {
			during(time.Since(start))
			time.Sleep(50 * time.Millisecond)
		}
	}
	wg.Wait()
	return n.Load(), failures
}

func TestShortLivedCredentialsUnderLoad(t *testing.T) {
	// Sessions of 3s (2-3s after truncation to whole seconds) refresh
	// halfway through, well ahead of expiry.
	e := newEnv(t, 3*time.Second)
	p := &recorder{p: e.provider(&gloo.AWSUpstreamSpec{Region: "us-east-1"})}
	n, failures := load(t, e, p, 8, 8*time.Second, nil)
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed; first: %s", len(failures), n, failures[0])
	}
	fetches := e.calls("AssumeRoleWithWebIdentity")
	// 8s of 2-3s sessions needs at least 3 fetches; concurrent requests at
	// refresh time must share one fetch, so far fewer than requests.
	if len(fetches) < 3 || len(fetches) > 20 {
		t.Fatalf("%d STS fetches for %d requests over 8s: want 3..20 (refreshing ahead of expiry, merged)", len(fetches), n)
	}
	for _, c := range fetches {
		if c.Error != "" || c.RoleARN != baseRole {
			t.Fatalf("STS call %+v: want a successful web identity call for %s", c, baseRole)
		}
	}
	e.checkLogsClean(t, p.all(e.tokens...))
}

func TestTokenFileRotation(t *testing.T) {
	e := newEnv(t, 2*time.Second)
	// The first token expires 3s from now; a fetch with it after that
	// fails, so serving past it proves the file is read again.
	e.writeToken(e.issuer.Token("sub-1", "sts.amazonaws.com", time.Now().Add(3*time.Second)))
	p := &recorder{p: e.provider(&gloo.AWSUpstreamSpec{Region: "us-east-1"})}
	rotated := false
	n, failures := load(t, e, p, 4, 7*time.Second, func(el time.Duration) {
		if !rotated && el > time.Second {
			e.writeToken(e.issuer.Token("sub-2", "sts.amazonaws.com", time.Now().Add(time.Hour)))
			rotated = true
		}
	})
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed; first: %s", len(failures), n, failures[0])
	}
	var subs []string
	for _, c := range e.calls("AssumeRoleWithWebIdentity") {
		if c.Error != "" {
			t.Fatalf("STS call failed: %+v", c)
		}
		subs = append(subs, c.Subject)
	}
	if len(subs) < 3 || subs[0] != "sub-1" || subs[len(subs)-1] != "sub-2" {
		t.Fatalf("token subjects of the STS calls %v: want sub-1 first, then the rotated sub-2", subs)
	}
	e.checkLogsClean(t, p.all(e.tokens...))
}

func TestRoles(t *testing.T) {
	tests := []struct {
		name       string
		up         gloo.AWSUpstreamSpec
		wantCaller string // suffix of the assumed-role ARN
		wantCalls  []string
	}{
		{"base role", gloo.AWSUpstreamSpec{}, "assumed-role/gateway/", []string{"AssumeRoleWithWebIdentity " + baseRole}},
		{"roleArn equal to AWS_ROLE_ARN is not chained", gloo.AWSUpstreamSpec{RoleARN: baseRole}, "assumed-role/gateway/", []string{"AssumeRoleWithWebIdentity " + baseRole}},
		{"chained role", gloo.AWSUpstreamSpec{RoleARN: targetRole}, "assumed-role/invoker/",
			[]string{"AssumeRoleWithWebIdentity " + baseRole, "AssumeRole " + targetRole + " by " + baseRole}},
		{"disableRoleChaining", gloo.AWSUpstreamSpec{RoleARN: directRole, DisableRoleChaining: true}, "assumed-role/direct/",
			[]string{"AssumeRoleWithWebIdentity " + directRole}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, time.Hour)
			tc.up.Region = "us-east-1"
			p := e.provider(&tc.up)
			if got := e.callerARN(t, p); !strings.HasPrefix(got, "arn:aws:sts::") || !strings.Contains(got, tc.wantCaller) {
				t.Fatalf("caller %q: want an ARN with %q", got, tc.wantCaller)
			}
			var got []string
			for _, c := range e.local.STSCalls() {
				if c.Action == "GetCallerIdentity" {
					continue
				}
				s := c.Action + " " + c.RoleARN
				if c.Caller != "" {
					s += " by " + c.Caller
				}
				if c.Error != "" {
					s += " -> " + c.Error
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(tc.wantCalls, "\n") {
				t.Fatalf("STS calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wantCalls, "\n"))
			}
			// Another upstream with the same role shares the provider and
			// so its cache and refresh state.
			up2 := tc.up
			up2.LambdaFunctions = []gloo.LambdaFunctionSpec{{LogicalName: "x", LambdaFunctionName: "x"}}
			if e.provider(&up2) != p {
				t.Fatal("a second upstream with the same role got its own provider")
			}
		})
	}
}

func TestCredentialErrors(t *testing.T) {
	tests := []struct {
		name    string
		up      gloo.AWSUpstreamSpec
		token   func(e *env) string
		want    string
		wantSTS string
	}{
		{"wrong role", gloo.AWSUpstreamSpec{RoleARN: "arn:aws:iam::000000000000:role/nope", DisableRoleChaining: true}, nil,
			"AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity", "AccessDenied"},
		{"chained role that does not trust the base role", gloo.AWSUpstreamSpec{RoleARN: directRole}, nil,
			"AccessDenied: User: arn:aws:sts::000000000000:assumed-role/gateway/", "AccessDenied"},
		{"expired token", gloo.AWSUpstreamSpec{}, func(e *env) string {
			return e.issuer.Token("sub", "sts.amazonaws.com", time.Now().Add(-time.Minute))
		}, "ExpiredTokenException: Token expired", "ExpiredTokenException"},
		{"wrong audience", gloo.AWSUpstreamSpec{}, func(e *env) string {
			return e.issuer.Token("sub", "someone-else", time.Now().Add(time.Hour))
		}, "InvalidIdentityToken: Incorrect token audience", "InvalidIdentityToken"},
		{"token signed by another key", gloo.AWSUpstreamSpec{}, func(e *env) string {
			other, err := locallambda.NewTestIssuer(issuerURL)
			if err != nil {
				e.t.Fatal(err)
			}
			return other.Token("sub", "sts.amazonaws.com", time.Now().Add(time.Hour))
		}, "InvalidIdentityToken: No key with kid", "InvalidIdentityToken"},
		{"forged signature", gloo.AWSUpstreamSpec{}, func(e *env) string {
			return "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
		}, "InvalidIdentityToken: Token signature is invalid", "InvalidIdentityToken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, time.Hour)
			if tc.token != nil {
				e.writeToken(tc.token(e))
			}
			tc.up.Region = "us-east-1"
			p := e.provider(&tc.up)
			_, err := p.Retrieve(ctxT(t))
			if err == nil {
				t.Fatal("Retrieve succeeded; want an error")
			}
			prob := p.(*Provider).Problem()
			if !strings.Contains(prob, tc.want) || !strings.HasPrefix(prob, "no valid AWS credentials for role ") {
				t.Fatalf("problem %q: want it to start with \"no valid AWS credentials for role\" and contain %q", prob, tc.want)
			}
			if strings.Contains(prob, "RequestID") {
				t.Fatalf("problem %q carries a request ID (the status would change on every retry)", prob)
			}
			if e.changes.Load() == 0 {
				t.Fatal("OnChange was not called for the new problem")
			}
			var codes []string
			for _, c := range e.local.STSCalls() {
				codes = append(codes, c.Error)
			}
			if len(codes) == 0 || codes[len(codes)-1] != tc.wantSTS {
				t.Fatalf("STS error codes %v: want the last to be %s", codes, tc.wantSTS)
			}
			if !strings.Contains(e.logs.String(), "AWS credentials problem") {
				t.Fatalf("the problem was not logged:\n%s", e.logs.String())
			}
			e.checkLogsClean(t, map[string]bool{e.tokens[len(e.tokens)-1]: true})
		})
	}
}

func TestFailedRefreshKeepsServingValidCredentials(t *testing.T) {
	// Sessions of 6s (5-6s after truncation) refresh halfway and stay
	// usable until 1s before expiry: seconds for the failed refresh.
	e := newEnv(t, 6*time.Second)
	p := e.provider(&gloo.AWSUpstreamSpec{Region: "us-east-1"}).(*Provider)
	first, err := p.Retrieve(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	// From now on every fetch is refused.
	e.writeToken(e.issuer.Token("sub", "someone-else", time.Now().Add(time.Hour)))
	c := e.lambdaClient(p)
	eventually(t, 10*time.Second, "a failed refresh while the credentials are valid", func() bool {
		if _, err := c.ListFunctions(ctxT(t), &lambda.ListFunctionsInput{}); err != nil {
			t.Fatalf("request failed while cached credentials were valid: %v", err)
		}
		return strings.Contains(p.Problem(), "serving the cached credentials")
	})
	if got, err := p.Retrieve(ctxT(t)); err != nil || got.AccessKeyID != first.AccessKeyID {
		t.Fatalf("Retrieve after a failed refresh: %v, key changed %v; want the cached credentials", err, got.AccessKeyID != first.AccessKeyID)
	}
	eventually(t, 10*time.Second, "the credentials to run out", func() bool {
		_, err := p.Retrieve(ctxT(t))
		return err != nil
	})
	if prob := p.Problem(); !strings.Contains(prob, "no valid AWS credentials") || !strings.Contains(prob, "Incorrect token audience") {
		t.Fatalf("problem %q: want no valid credentials and the STS reason", prob)
	}
	// A good token again recovers on the next fetch.
	e.writeToken(e.issuer.Token("sub", "sts.amazonaws.com", time.Now().Add(time.Hour)))
	eventually(t, 10*time.Second, "recovery", func() bool {
		_, err := p.Retrieve(ctxT(t))
		return err == nil && p.Problem() == ""
	})
}

func TestPrecedence(t *testing.T) {
	secrets := map[string]*core.Secret{"gloo-system/creds": {Data: map[string][]byte{core.AWSAccessKeyID: []byte("AKID"), core.AWSSecretAccessKey: []byte("s")}}}
	sa := &gloo.ServiceAccountCredentials{URI: "http://127.0.0.1:1"}
	full := map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": "/tok", "AWS_ROLE_ARN": baseRole}
	tests := []struct {
		name    string
		secret  bool
		opts    *gloo.AWSOptions
		vars    map[string]string
		want    string // provider type, or error substring
		wantErr bool
	}{
		{"secret first", true, &gloo.AWSOptions{ServiceAccountCredentials: sa}, full, "static", false},
		{"service account", false, &gloo.AWSOptions{ServiceAccountCredentials: sa}, full, "sts", false},
		{"service account before discovery", false, &gloo.AWSOptions{ServiceAccountCredentials: sa, EnableCredentialsDiscovey: true}, full, "sts", false},
		{"discovery", false, &gloo.AWSOptions{EnableCredentialsDiscovey: true}, full, "default", false},
		{"nothing", false, &gloo.AWSOptions{}, full, NoSourceMessage, true},
		{"no settings", false, nil, full, NoSourceMessage, true},
		{"service account without its environment", false, &gloo.AWSOptions{ServiceAccountCredentials: sa}, map[string]string{"AWS_ROLE_ARN": baseRole},
			"environment variable AWS_WEB_IDENTITY_TOKEN_FILE must be set", true},
		{"bad uri", false, &gloo.AWSOptions{ServiceAccountCredentials: &gloo.ServiceAccountCredentials{URI: "ftp://x"}}, full,
			`serviceAccountCredentials.uri: invalid value "ftp://x"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(Options{Getenv: func(k string) string { return tc.vars[k] }})
			up := &gloo.AWSUpstreamSpec{Region: "us-east-1"}
			if tc.secret {
				up.SecretRef = &core.ResourceRef{Name: "creds"}
			}
			p, err := r.ForUpstream(up, "gloo-system", secrets, tc.opts)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v: want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := "default"
			switch p.(type) {
			case credentials.StaticCredentialsProvider:
				got = "static"
			case *Provider:
				got = "sts"
			}
			if got != tc.want {
				t.Fatalf("provider %T: want %s", p, tc.want)
			}
		})
	}
}

func TestSTSSettings(t *testing.T) {
	tests := []struct {
		name string
		sa   gloo.ServiceAccountCredentials
		vars map[string]string
		want stsConfig
	}{
		{"defaults", gloo.ServiceAccountCredentials{}, nil, stsConfig{"", "us-east-1", 5 * time.Second}},
		{"Gloo's host form", gloo.ServiceAccountCredentials{URI: "sts.us-east-2.amazonaws.com", Region: "us-east-2"}, nil,
			stsConfig{"https://sts.us-east-2.amazonaws.com", "us-east-2", 5 * time.Second}},
		{"environment overrides the host form", gloo.ServiceAccountCredentials{URI: "sts.amazonaws.com"}, map[string]string{"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9"},
			stsConfig{"http://127.0.0.1:9", "us-east-1", 5 * time.Second}},
		{"AWS_ENDPOINT_URL", gloo.ServiceAccountCredentials{}, map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:8"},
			stsConfig{"http://127.0.0.1:8", "us-east-1", 5 * time.Second}},
		{"a full URL wins", gloo.ServiceAccountCredentials{URI: "http://127.0.0.1:7", Timeout: &core.Duration{Duration: time.Second}}, map[string]string{"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9"},
			stsConfig{"http://127.0.0.1:7", "us-east-1", time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(Options{Getenv: func(k string) string { return tc.vars[k] }})
			got, err := r.stsSettings(&tc.sa)
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestRefreshAt(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		life  time.Duration
		delay time.Duration
		want  time.Duration // after now
	}{
		{"an hour: five minutes before expiry", time.Hour, 0, 55 * time.Minute},
		{"fifteen minutes", 15 * time.Minute, 0, 10 * time.Minute},
		{"short: halfway", 4 * time.Second, 0, 2 * time.Second},
		{"credentialRefreshDelay caps it", time.Hour, 15 * time.Minute, 15 * time.Minute},
		{"a delay longer than the lifetime does nothing", 15 * time.Minute, time.Hour, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &refresher{window: DefaultExpiryWindow, refreshDelay: tc.delay}
			if got := f.refreshAt(now.Add(tc.life), now).Sub(now); got != tc.want {
				t.Fatalf("refresh after %s, want %s", got, tc.want)
			}
		})
	}
}
