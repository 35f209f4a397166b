// Package e2e runs the real lambdagate binary on loopback: the user's
// walkthrough step by step, with the local Lambda in place of AWS.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

func TestMain(m *testing.M) {
	harness.Poll = 100 * time.Millisecond
	harness.Main(m, nil)
}

func requireNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is required for the walkthrough's Node.js echo function and was not found on PATH; run scripts/setup.sh (it installs Debian's nodejs)")
	}
}

// startGateway runs "lambdagate serve" with the local Lambda serving the
// functions directory and discovery every 500ms, and takes the gateway's
// URL from "lambdagate proxy url" as the walkthrough does.
func startGateway(t *testing.T, functions string) *harness.Gateway {
	t.Helper()
	g := harness.Start(t, harness.Options{Args: []string{"--local-lambda", functions, "--local-lambda-addr", "127.0.0.1:0", "--discovery-interval", "500ms"}})
	g.URL = strings.TrimSpace(g.MustRun(t, "proxy", "url"))
	return g
}

// The walkthrough's curl body.
const walkthroughBody = `{"body": "gloo edge is inserting this body", "headers": {"test-header-key": "test-header-value"}, "statusCode": 201}`

func TestWalkthrough(t *testing.T) {
	requireNode(t)
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	g := startGateway(t, filepath.Join(root, "examples", "functions"))

	// Step 2: the secret, with the walkthrough's literal placeholder keys.
	out := g.MustRun(t, "create", "secret", "aws", "--name", "aws-creds", "--namespace", "gloo-system", "--access-key", "$ACCESS_KEY", "--secret-key", "$SECRET_KEY")
	if !strings.Contains(out, "aws-creds") {
		t.Fatalf("create secret output: %q", out)
	}
	// Step 3.1, both tabs: glooctl's flags, then the kubectl manifest.
	g.MustRun(t, "create", "upstream", "aws", "--name", "aws-upstream", "--namespace", "gloo-system", "--aws-region", "us-east-1", "--aws-secret-name", "aws-creds", "--aws-secret-namespace", "gloo-system")
	g.MustRun(t, "apply", "-f", "testdata/upstream.yaml")

	// Step 3.2: discovery lists echo under spec.aws.lambdaFunctions.
	harness.Eventually(t, 20*time.Second, func() error {
		out := g.MustRun(t, "get", "upstream", "-n", "gloo-system", "aws-upstream", "-o", "yaml")
		if !strings.Contains(out, "lambdaFunctionName: echo") || !strings.Contains(out, "logicalName: echo") || !strings.Contains(out, "state: Accepted") {
			return fmt.Errorf("echo not discovered yet:\n%s", out)
		}
		return nil
	})

	for _, tc := range []struct{ name, manifest string }{
		{"unwrapAsApiGateway", "testdata/vs-apigateway.yaml"},
		{"unwrapAsAlb", "testdata/vs-alb.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g.MustRun(t, "apply", "-f", tc.manifest)
			want := "unwrapAsApiGateway: true"
			if tc.name == "unwrapAsAlb" {
				want = "unwrapAsAlb: true"
			}
			harness.Eventually(t, 10*time.Second, func() error {
				out := g.MustRun(t, "get", "vs", "aws-route", "-o", "yaml")
				if !strings.Contains(out, want) || !strings.Contains(out, "state: Accepted") {
					return fmt.Errorf("virtual service not accepted yet:\n%s", out)
				}
				return nil
			})
			// Step 4: the walkthrough's curl.
			url := strings.TrimSpace(g.MustRun(t, "proxy", "url"))
			var resp *http.Response
			var body []byte
			harness.Eventually(t, 10*time.Second, func() error {
				req, _ := http.NewRequest("POST", url+"/", strings.NewReader(walkthroughBody))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					return err
				}
				defer r.Body.Close()
				body, _ = io.ReadAll(r.Body)
				if r.StatusCode != http.StatusCreated {
					return fmt.Errorf("status %d, body %s", r.StatusCode, body)
				}
				resp = r
				return nil
			})
			if got := resp.Header.Get("test-header-key"); got != "test-header-value" {
				t.Errorf("test-header-key = %q, want test-header-value", got)
			}
			if got := string(body); got != "gloo edge is inserting this body" {
				t.Errorf("body = %q", got)
			}
			if resp.ContentLength != 32 || resp.Header.Get("Content-Length") != "32" {
				t.Errorf("content-length = %q (%d), want 32", resp.Header.Get("Content-Length"), resp.ContentLength)
			}
		})
	}

	// Re-applying the upstream manifest (which lists no functions) keeps
	// the discovered ones, as kubectl apply would: the route never 404s.
	t.Run("re-apply keeps discovered functions", func(t *testing.T) {
		if out := g.MustRun(t, "apply", "-f", "testdata/upstream.yaml"); !strings.Contains(out, "unchanged") {
			t.Errorf("re-applying the same manifest: %q, want unchanged", out)
		}
		if out := g.MustRun(t, "get", "upstream", "-n", "gloo-system", "aws-upstream", "-o", "yaml"); !strings.Contains(out, "logicalName: echo") {
			t.Fatalf("re-applying the manifest dropped the discovered functions:\n%s", out)
		}
		url := strings.TrimSpace(g.MustRun(t, "proxy", "url"))
		for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			r, err := http.Post(url+"/", "application/json", strings.NewReader(walkthroughBody))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.StatusCode != http.StatusCreated {
				t.Fatalf("after re-applying the upstream: status %d", r.StatusCode)
			}
		}
	})
}

// The walkthrough's verbs print what a user expects, and errors are clear.
func TestCLIAgainstRunningGateway(t *testing.T) {
	requireNode(t)
	_, file, _, _ := runtime.Caller(0)
	g := startGateway(t, filepath.Join(filepath.Dir(file), "..", "..", "examples", "functions"))
	out, err := g.Run("", "get", "upstream", "nope")
	if err == nil || !strings.Contains(out, "Error:") {
		t.Fatalf("want an error for a missing upstream, got %v: %s", err, out)
	}
	var state struct {
		PID     int    `json:"pid"`
		HTTPURL string `json:"httpURL"`
	}
	b, err := os.ReadFile(filepath.Join(g.DataDir, "serve.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &state); err != nil || state.PID != g.Cmd.Process.Pid {
		t.Fatalf("serve.json = %s (%v)", b, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.URL+"/nothing-here", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("no route: status %d, want 404", resp.StatusCode)
	}
}
