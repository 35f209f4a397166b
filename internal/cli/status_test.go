package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/admin"
	"github.com/lambdagate/lambdagate/internal/datadir"
	"github.com/lambdagate/lambdagate/internal/server"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// TestStatus runs a real gateway on the data directory's store, sends
// known traffic and checks what "lambdagate status" prints.
func TestStatus(t *testing.T) {
	dir := t.TempDir()
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.Contains(r.URL.Path, "/functions/broken/") {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = w.Write([]byte(`{"errorMessage":"boom"}`))
			return
		}
		_, _ = w.Write([]byte(`{"statusCode":200,"body":"hi"}`))
	}))
	defer lambda.Close()

	t.Run("not running", func(t *testing.T) {
		_, errOut, code := runCLI(t, dir, "status")
		if code == 0 || !strings.Contains(errOut, "lambdagate serve is not running") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})

	manifest := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(manifest, fmt.Appendf(nil, `
apiVersion: v1
kind: Secret
metadata: {name: aws-creds, namespace: gloo-system}
stringData: {aws_access_key_id: AKID, aws_secret_access_key: secret}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: aws-upstream, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    endpointUrl: %s
    secretRef: {name: aws-creds, namespace: gloo-system}
    lambdaFunctions:
    - {logicalName: echo, lambdaFunctionName: echo}
    - {logicalName: broken, lambdaFunctionName: broken}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: aws-route, namespace: gloo-system}
spec:
  virtualHost:
    domains: ['*']
    routes:
    - matchers: [{exact: /}]
      routeAction: {single: {upstream: {name: aws-upstream, namespace: gloo-system}, destinationSpec: {aws: {logicalName: echo, unwrapAsApiGateway: true}}}}
    - matchers: [{prefix: /broken}]
      routeAction: {single: {upstream: {name: aws-upstream, namespace: gloo-system}, destinationSpec: {aws: {logicalName: broken, unwrapAsApiGateway: true}}}}
`, lambda.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, dir, "apply", "-f", manifest); code != 0 {
		t.Fatalf("apply: %s", errOut)
	}

	st, err := sqlite.Open(filepath.Join(dir, datadir.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := server.New(server.Config{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "", AdminAddr: "127.0.0.1:0", DiscoveryInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st)
	ls, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx, ls) }()
	defer func() { cancel(); <-done }()
	srv.Rebuild(ctx)
	adminURL := "http://" + srv.AdminListenAddr.String()
	if err := WriteServeState(dir, ServeState{PID: os.Getpid(), HTTPURL: "http://" + srv.HTTPListenAddr.String(), AdminURL: adminURL}); err != nil {
		t.Fatal(err)
	}
	gw := "http://" + srv.HTTPListenAddr.String()
	for _, p := range []string{"/", "/", "/", "/broken/x", "/nowhere"} {
		resp, err := http.Post(gw+p, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	t.Run("table", func(t *testing.T) {
		out, errOut, code := runCLI(t, dir, "status")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		t.Logf("lambdagate status:\n%s", out)
		for _, want := range []string{
			"Gateway " + gw + ": ready, snapshot v",
			"Admin   " + adminURL + " (dashboard: " + adminURL + "/)",
			"Routed requests 4 (",
			"errors 1; unrouted requests 1",
			"gloo-system/aws-route   Accepted   routes[0]   exact /",
			"gloo-system/aws-upstream echo",
			"routes[1]   prefix /broken",
			"Recent failed requests, routed or not (newest first):",
			"FunctionError",
			"POST /broken/x",
			"POST /nowhere",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("status output lacks %q:\n%s", want, out)
			}
		}
		// The requests were just sent: their rate is not 0.
		if strings.Contains(out, "(0.0/s)") {
			t.Errorf("status shows a 0 rate right after traffic:\n%s", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		out, errOut, code := runCLI(t, dir, "status", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var ov admin.Overview
		if err := json.Unmarshal([]byte(out), &ov); err != nil {
			t.Fatal(err)
		}
		if ov.Totals.Requests != 4 || ov.Totals.Errors != 1 || ov.Totals.Unrouted != 1 || len(ov.VirtualServices) != 1 {
			t.Errorf("overview %+v", ov)
		}
	})
	t.Run("yaml", func(t *testing.T) {
		out, errOut, code := runCLI(t, dir, "status", "-o", "yaml")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, "\ntotals:\n") || !strings.Contains(out, "  requests: 4\n") {
			t.Errorf("status -o yaml:\n%s", out)
		}
	})
	t.Run("control characters in a request path", func(t *testing.T) {
		resp, err := http.Post(gw+"/broken/%1b%5b2J%1b%5d0%3bPWNED%07", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		out, errOut, code := runCLI(t, dir, "status")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		terminalSafe(t, "status", out)
		if !strings.Contains(out, `POST /broken/\x1b[2J\x1b]0;PWNED\a`) {
			t.Errorf("status does not show the escaped path:\n%s", out)
		}
	})
}

func TestSpark(t *testing.T) {
	tests := []struct {
		name string
		in   []int64
		want string
	}{
		{"idle", []int64{0, 0}, "  "},
		{"ramp", []int64{1, 2, 4, 8}, "▁▂▄█"},
		{"last n", []int64{8, 0, 8}, " █"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.in)
			if tc.name == "last n" {
				n = 2
			}
			if got := spark(tc.in, n); got != tc.want {
				t.Errorf("spark(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
