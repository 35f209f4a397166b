package dashboard_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/locallambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/server"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// chromium is Debian's Chromium, which scripts/setup.sh installs.
const chromium = "/usr/bin/chromium"

// walkthrough is the README's configuration: the secret, the upstream
// (functions found by discovery) and the virtual service.
const walkthrough = `
apiVersion: v1
kind: Secret
metadata: {name: aws-creds, namespace: gloo-system}
stringData: {aws_access_key_id: $ACCESS_KEY, aws_secret_access_key: $SECRET_KEY}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: aws-upstream, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    secretRef: {name: aws-creds, namespace: gloo-system}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: aws-route, namespace: gloo-system}
spec:
  virtualHost:
    domains: ['*']
    routes:
    - matchers: [{exact: /}]
      routeAction:
        single:
          destinationSpec: {aws: {logicalName: echo, unwrapAsApiGateway: true}}
          upstream: {name: aws-upstream, namespace: gloo-system}
    - matchers: [{prefix: /maintenance}]
      directResponseAction: {status: 503, body: down}
`

// artifactsDir is where screenshots go: $LAMBDAGATE_ARTIFACTS, else
// test/artifacts/dashboard in the repository (git-ignored).
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("LAMBDAGATE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test", "artifacts", "dashboard")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDashboardInChromium runs the walkthrough's gateway (real SQLite store,
// the local Lambda running examples/functions/echo in Node.js, discovery),
// keeps traffic flowing, and has headless Chromium load the dashboard: it
// must draw the walkthrough's route and function, and its numbers must
// grow with the traffic. Screenshots are kept as artifacts.
func TestDashboardInChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s not found: the dashboard test needs Debian's chromium; run scripts/setup.sh (it installs it)", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found on PATH: run scripts/setup.sh")
	}
	web, _ := filepath.Abs(filepath.Join("..", "..", "web"))
	if _, err := os.Stat(filepath.Join(web, "node_modules", "playwright-core")); err != nil {
		t.Fatal("web/node_modules/playwright-core is missing: run scripts/setup.sh (npm ci in web/)")
	}
	functions, _ := filepath.Abs(filepath.Join("..", "..", "examples", "functions"))

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ll, err := locallambda.New(locallambda.Options{Dir: functions, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer ll.Close()
	lln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ll.Serve(lln) }()

	st, err := sqlite.Open(filepath.Join(t.TempDir(), "lambdagate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	objs, err := resource.DecodeAll(strings.NewReader(walkthrough), "walkthrough")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, o := range objs {
		if _, err := st.Create(ctx, o); err != nil && !store.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	srv := server.New(server.Config{HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DiscoveryInterval: 200 * time.Millisecond,
		LocalLambda: &url.URL{Scheme: "http", Host: lln.Addr().String()}, Logger: log}, st)
	ls, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(sctx, ls) }()
	defer func() { stop(); <-done }()
	gw := "http://" + srv.HTTPListenAddr.String() + "/"

	// Wait (bounded) until discovery found echo and the route answers.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Post(gw, "application/json", strings.NewReader(`{"statusCode": 200, "body": "warm-up"}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the walkthrough route never answered 200 (last: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Traffic: about 20 requests a second until the browser is done.
	var sent, failed atomic.Int64
	tctx, stopTraffic := context.WithCancel(ctx)
	trafficDone := make(chan struct{})
	go func() {
		defer close(trafficDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tctx.Done():
				return
			case <-tick.C:
			}
			req, _ := http.NewRequestWithContext(tctx, http.MethodPost, gw, strings.NewReader(`{"body": "gloo edge is inserting this body", "statusCode": 201}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					failed.Add(1)
				}
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				failed.Add(1)
			}
			sent.Add(1)
		}
	}()
	defer func() { stopTraffic(); <-trafficDone }()

	artifacts := artifactsDir(t)
	t.Logf("screenshots in %s", artifacts)
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "dashboard.mjs"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"DASHBOARD_URL=http://"+srv.AdminListenAddr.String()+"/",
		"ARTIFACTS_DIR="+artifacts,
		"CHROMIUM="+chromium,
		"EXPECT_VS=gloo-system/aws-route", "EXPECT_ROUTE=routes[0]", "EXPECT_FUNCTION=echo", "EXPECT_ANSWER=directResponse 503")
	out, err := cmd.CombinedOutput()
	t.Logf("dashboard.mjs: %s", out)
	if err != nil {
		t.Fatalf("the dashboard check in Chromium failed: %v", err)
	}
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed during the test", failed.Load(), sent.Load())
	}
	// Discovery found echo, so the metrics counted successful runs.
	resp, err := http.Get("http://" + srv.AdminListenAddr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := regexp.MustCompile(`(?m)^lambdagate_discovery_runs_total\{result="ok"\} ([0-9]+)$`).FindSubmatch(body); m == nil || string(m[1]) == "0" {
		t.Errorf("/metrics: want successful discovery runs counted:\n%s", regexp.MustCompile(`(?m)^lambdagate_discovery.*$`).FindAll(body, -1))
	}
	for _, f := range []string{"dashboard-1.png", "dashboard-2.png"} {
		if fi, err := os.Stat(filepath.Join(artifacts, f)); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s missing: %v", f, err)
		}
	}
}
