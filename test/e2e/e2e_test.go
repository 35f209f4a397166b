// Package e2e runs the real lambdagate binary on loopback: the user's
// walkthrough step by step, with the local Lambda in place of AWS.
package e2e

import (
	"bytes"
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
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdagate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "lambdagate")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/lambdagate")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building lambdagate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gateway is a running "lambdagate serve".
type gateway struct {
	t       *testing.T
	dataDir string
	cmd     *exec.Cmd
	logs    *bytes.Buffer
	URL     string
	Admin   string
}

func requireNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is required for the walkthrough's Node.js echo function and was not found on PATH; run scripts/setup.sh (it installs Debian's nodejs)")
	}
}

func startGateway(t *testing.T, functions string, extra ...string) *gateway {
	t.Helper()
	g := &gateway{t: t, dataDir: t.TempDir(), logs: &bytes.Buffer{}}
	args := append([]string{"serve", "--http-addr", "127.0.0.1:0", "--https-addr", "", "--admin-addr", "127.0.0.1:0",
		"--local-lambda", functions, "--local-lambda-addr", "127.0.0.1:0", "--discovery-interval", "500ms", "--shutdown-grace", "5s"}, extra...)
	g.cmd = exec.Command(binary, args...)
	g.cmd.Env = append(os.Environ(), "LAMBDAGATE_DATA_DIR="+g.dataDir)
	g.cmd.Stdout, g.cmd.Stderr = &lockedWriter{w: g.logs}, &lockedWriter{w: g.logs}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := g.run("proxy", "url")
		if err == nil {
			g.URL = strings.TrimSpace(out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not start: %v\n%s\nlogs:\n%s", err, out, g.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return g
}

func (g *gateway) stop() {
	if g.cmd.Process == nil || g.cmd.ProcessState != nil {
		return
	}
	_ = g.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- g.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = g.cmd.Process.Kill()
		<-done
		g.t.Errorf("gateway did not stop within 10s of SIGINT")
	}
	if g.t.Failed() {
		g.t.Logf("gateway logs:\n%s", g.logs)
	}
}

// run runs a lambdagate CLI command against the gateway's data dir.
func (g *gateway) run(args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "LAMBDAGATE_DATA_DIR="+g.dataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (g *gateway) mustRun(args ...string) string {
	g.t.Helper()
	out, err := g.run(args...)
	if err != nil {
		g.t.Fatalf("lambdagate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// eventually retries f until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The walkthrough's curl body.
const walkthroughBody = `{"body": "gloo edge is inserting this body", "headers": {"test-header-key": "test-header-value"}, "statusCode": 201}`

func TestWalkthrough(t *testing.T) {
	requireNode(t)
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	g := startGateway(t, filepath.Join(root, "examples", "functions"))

	// Step 2: the secret, with the walkthrough's literal placeholder keys.
	out := g.mustRun("create", "secret", "aws", "--name", "aws-creds", "--namespace", "gloo-system", "--access-key", "$ACCESS_KEY", "--secret-key", "$SECRET_KEY")
	if !strings.Contains(out, "aws-creds") {
		t.Fatalf("create secret output: %q", out)
	}
	// Step 3.1, both tabs: glooctl's flags, then the kubectl manifest.
	g.mustRun("create", "upstream", "aws", "--name", "aws-upstream", "--namespace", "gloo-system", "--aws-region", "us-east-1", "--aws-secret-name", "aws-creds", "--aws-secret-namespace", "gloo-system")
	g.mustRun("apply", "-f", "testdata/upstream.yaml")

	// Step 3.2: discovery lists echo under spec.aws.lambdaFunctions.
	eventually(t, 20*time.Second, func() error {
		out := g.mustRun("get", "upstream", "-n", "gloo-system", "aws-upstream", "-o", "yaml")
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
			g.mustRun("apply", "-f", tc.manifest)
			want := "unwrapAsApiGateway: true"
			if tc.name == "unwrapAsAlb" {
				want = "unwrapAsAlb: true"
			}
			eventually(t, 10*time.Second, func() error {
				out := g.mustRun("get", "vs", "aws-route", "-o", "yaml")
				if !strings.Contains(out, want) || !strings.Contains(out, "state: Accepted") {
					return fmt.Errorf("virtual service not accepted yet:\n%s", out)
				}
				return nil
			})
			// Step 4: the walkthrough's curl.
			url := strings.TrimSpace(g.mustRun("proxy", "url"))
			var resp *http.Response
			var body []byte
			eventually(t, 10*time.Second, func() error {
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
}

// The walkthrough's verbs print what a user expects, and errors are clear.
func TestCLIAgainstRunningGateway(t *testing.T) {
	requireNode(t)
	_, file, _, _ := runtime.Caller(0)
	g := startGateway(t, filepath.Join(filepath.Dir(file), "..", "..", "examples", "functions"))
	out, err := g.run("get", "upstream", "nope")
	if err == nil || !strings.Contains(out, "Error:") {
		t.Fatalf("want an error for a missing upstream, got %v: %s", err, out)
	}
	var state struct {
		PID     int    `json:"pid"`
		HTTPURL string `json:"httpURL"`
	}
	b, err := os.ReadFile(filepath.Join(g.dataDir, "serve.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &state); err != nil || state.PID != g.cmd.Process.Pid {
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
