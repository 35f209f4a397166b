package awscreds

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/locallambda"
)

const (
	baseRole   = "arn:aws:iam::000000000000:role/gateway"
	targetRole = "arn:aws:iam::111111111111:role/invoker"
	directRole = "arn:aws:iam::111111111111:role/direct"
	issuerURL  = "https://oidc.eks.us-east-1.amazonaws.com/id/TEST"
)

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a local Lambda with its STS on loopback, an OIDC issuer, a token
// file and a Resolver pointed at them. Every log line goes to logs.
type env struct {
	t         *testing.T
	local     *locallambda.Server
	url       string
	issuer    *locallambda.TestIssuer
	tokenFile string
	vars      map[string]string
	res       *Resolver
	logs      *syncBuffer
	changes   atomic.Int64
	settings  *gloo.AWSOptions
	tokens    []string // every web identity token written
}

func newEnv(t *testing.T, session time.Duration) *env {
	t.Helper()
	iss, err := locallambda.NewTestIssuer(issuerURL)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, issuer: iss, logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := locallambda.New(locallambda.Options{
		Dir:    t.TempDir(),
		Logger: logger,
		// A static key makes the local Lambda check every signature.
		Credentials: map[string]string{"AKIDSTATIC": "static-secret-not-used"},
		STS: &locallambda.STSOptions{
			Issuer: issuerURL,
			JWKS:   iss.JWKS(),
			Roles: map[string]locallambda.Role{
				baseRole:   {WebIdentity: true},
				targetRole: {AssumableBy: []string{baseRole}},
				directRole: {WebIdentity: true},
			},
			MaxSessionDuration: session,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	e.local, e.url = srv, "http://"+ln.Addr().String()
	e.tokenFile = filepath.Join(t.TempDir(), "token")
	e.writeToken(iss.Token("system:serviceaccount:gloo-system:gateway-proxy", "sts.amazonaws.com", time.Now().Add(time.Hour)))
	e.vars = map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": e.tokenFile, "AWS_ROLE_ARN": baseRole}
	e.res = New(Options{
		Logger:   logger.With("component", "credentials"),
		Getenv:   func(k string) string { return e.vars[k] },
		OnChange: func() { e.changes.Add(1) },
		// The SDK's backoff is random up to seconds; the tests' sessions
		// last seconds, so their retries back off briefly and alike.
		STSRetryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 50 * time.Millisecond })
		},
	})
	e.settings = &gloo.AWSOptions{ServiceAccountCredentials: &gloo.ServiceAccountCredentials{Cluster: "aws_sts_cluster", URI: e.url, Region: "us-east-1"}}
	return e
}

// writeToken replaces the token file atomically, as the kubelet does.
func (e *env) writeToken(tok string) {
	e.t.Helper()
	e.tokens = append(e.tokens, tok)
	tmp := e.tokenFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok), 0o600); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.tokenFile); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) provider(up *gloo.AWSUpstreamSpec) aws.CredentialsProvider {
	e.t.Helper()
	p, err := e.res.ForUpstream(up, "gloo-system", nil, e.settings)
	if err != nil {
		e.t.Fatalf("ForUpstream: %v", err)
	}
	return p
}

// lambdaClient calls the local Lambda (which checks the signature and the
// session's expiry) with p's credentials and no retries.
func (e *env) lambdaClient(p aws.CredentialsProvider) *lambda.Client {
	return lambda.New(lambda.Options{Region: "us-east-1", Credentials: p, BaseEndpoint: aws.String(e.url),
		Retryer: aws.NopRetryer{}})
}

func (e *env) callerARN(t *testing.T, p aws.CredentialsProvider) string {
	t.Helper()
	c := sts.New(sts.Options{Region: "us-east-1", Credentials: p, BaseEndpoint: aws.String(e.url), Retryer: aws.NopRetryer{}})
	out, err := c.GetCallerIdentity(ctxT(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	return aws.ToString(out.Arn)
}

// calls returns the STS calls with the given action.
func (e *env) calls(action string) []locallambda.STSCall {
	var out []locallambda.STSCall
	for _, c := range e.local.STSCalls() {
		if c.Action == action {
			out = append(out, c)
		}
	}
	return out
}

// checkLogsClean fails if any secret appears in the captured logs.
func (e *env) checkLogsClean(t *testing.T, secrets map[string]bool) {
	t.Helper()
	logs := e.logs.String()
	if len(secrets) == 0 {
		t.Fatal("no secrets collected: the leak check would be empty")
	}
	for s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Fatalf("a secret or token (%d chars) appears in the logs", len(s))
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 20ms until it holds or limit passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recorder remembers every secret and session token handed out, for the
// log leak check.
type recorder struct {
	p       aws.CredentialsProvider
	mu      sync.Mutex
	secrets map[string]bool
}

func (r *recorder) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := r.p.Retrieve(ctx)
	if err == nil {
		r.mu.Lock()
		if r.secrets == nil {
			r.secrets = map[string]bool{}
		}
		r.secrets[c.SecretAccessKey], r.secrets[c.SessionToken] = true, true
		r.mu.Unlock()
	}
	return c, err
}

func (r *recorder) all(extra ...string) map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for k := range r.secrets {
		out[k] = true
	}
	for _, k := range extra {
		out[k] = true
	}
	return out
}
