package server

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/locallambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// TestWebIdentityEndToEnd runs the gateway (SQLite store) against the local
// Lambda and its STS: an upstream with a chained roleArn and no secret,
// credentials living 3s, continuous requests, then a refused token.
func TestWebIdentityEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node executable not found on PATH (the local Lambda's Node runtime; scripts/setup.sh installs it): %v", err)
	}
	const (
		base   = "arn:aws:iam::000000000000:role/gateway"
		target = "arn:aws:iam::111111111111:role/invoker"
		issuer = "https://oidc.test"
	)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	iss, err := locallambda.NewTestIssuer(issuer)
	if err != nil {
		t.Fatal(err)
	}
	fdir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(fdir, "hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fdir, "hello", "index.js"), []byte(`exports.handler = async () => ({statusCode: 200, body: "hi"});`), 0o644); err != nil {
		t.Fatal(err)
	}
	ll, err := locallambda.New(locallambda.Options{Dir: fdir, Logger: logger,
		Credentials: map[string]string{"AKIDSTATIC": "unused"},
		STS: &locallambda.STSOptions{Issuer: issuer, JWKS: iss.JWKS(), MaxSessionDuration: 3 * time.Second,
			Roles: map[string]locallambda.Role{base: {WebIdentity: true}, target: {AssumableBy: []string{base}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	llDone := make(chan struct{})
	go func() { defer close(llDone); _ = ll.Serve(ln) }()
	t.Cleanup(func() { _ = ll.Close(); <-llDone })
	lambdaURL := "http://" + ln.Addr().String()

	tokenFile := filepath.Join(t.TempDir(), "token")
	var tokens []string
	writeToken := func(tok string) {
		tokens = append(tokens, tok)
		if err := os.WriteFile(tokenFile+".tmp", []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tokenFile+".tmp", tokenFile); err != nil {
			t.Fatal(err)
		}
	}
	writeToken(iss.Token("system:serviceaccount:gloo-system:gateway-proxy", "sts.amazonaws.com", time.Now().Add(time.Hour)))
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ROLE_ARN", base)

	st, err := sqlite.Open(filepath.Join(t.TempDir(), "lambdagate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := New(Config{HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DiscoveryInterval: -1, Logger: logger}, st)
	runServer(t, srv)
	h := &harness{t: t, st: st, url: "http://" + srv.HTTPListenAddr.String()}
	h.apply(fmt.Sprintf(`
apiVersion: gloo.solo.io/v1
kind: Settings
metadata: {name: default}
spec:
  gloo:
    awsOptions:
      serviceAccountCredentials: {cluster: aws_sts_cluster, uri: %q, region: us-east-1}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up}
spec:
  aws:
    region: us-east-1
    endpointUrl: %s
    roleArn: %s
    lambdaFunctions:
    - {logicalName: hello, lambdaFunctionName: hello}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    routes:
    - matchers: [{prefix: /a}]
      routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: hello, unwrapAsApiGateway: true}}}}
`, lambdaURL, lambdaURL, target))
	h.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.State == core.StateAccepted })

	get := func() (int, string) {
		resp, err := http.Get(h.url + "/a")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// 7s of continuous requests over 3s sessions: several refreshes of the
	// base and the chained role, none visible to clients.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	total := 0
	stop := time.Now().Add(7 * time.Second)
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				code, body := get()
				mu.Lock()
				total++
				if code != 200 || body != "hi" {
					failures = append(failures, fmt.Sprintf("%d %s", code, body))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed; first: %s", len(failures), total, failures[0])
	}
	chained := 0
	for _, c := range ll.STSCalls() {
		if c.Action == "AssumeRole" && c.RoleARN == target && c.Caller == base && c.Error == "" {
			chained++
		}
	}
	if chained < 2 {
		t.Fatalf("%d chained AssumeRole calls for %s by %s over 7s of 3s sessions; want at least 2", chained, target, base)
	}

	// A token STS refuses: once the cached credentials run out, requests get
	// Gloo's 500 and the upstream's status says why.
	writeToken(iss.Token("system:serviceaccount:gloo-system:gateway-proxy", "wrong-audience", time.Now().Add(time.Hour)))
	var code int
	var body string
	deadline := time.Now().Add(15 * time.Second)
	for code, body = get(); code == 200 && time.Now().Before(deadline); code, body = get() {
		time.Sleep(50 * time.Millisecond)
	}
	if code != http.StatusInternalServerError || !strings.Contains(body, "no credentials present for AWS upstream") {
		t.Fatalf("after the token was refused: %d %q, want 500 no credentials present for AWS upstream", code, body)
	}
	stU := h.waitStatus(resource.KindUpstream, "up", func(s core.Status) bool {
		return s.State == core.StateWarning && strings.Contains(s.Reason, "no valid AWS credentials")
	})
	if !strings.Contains(stU.Reason, "InvalidIdentityToken") || !strings.Contains(stU.Reason, base) {
		t.Fatalf("upstream status %q: want the base role and the STS reason", stU.Reason)
	}

	out := logs.String()
	if !strings.Contains(out, "AWS credentials problem") {
		t.Fatal("the credentials problem was not logged")
	}
	// Issued session tokens all start with this prefix; secrets are never
	// formatted by the code paths that log.
	for _, s := range append(tokens, "IQoJb3JpZ2luX2VjE") {
		if strings.Contains(out, s) {
			t.Fatalf("a token (%d chars) appears in the logs", len(s))
		}
	}
}
