package chaos

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// TestLocalLambdaFunctionFaults: with --local-lambda, a function process
// that exits mid-request gives 502 (Runtime.ExitError) and the next
// request gets a fresh process; one that never answers gives 504 when
// its function.yaml timeout passes, and the next request is served too.
func TestLocalLambdaFunctionFaults(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed; scripts/setup.sh installs it")
	}
	dir := t.TempDir()
	write := func(name, file, content string) {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("crasher", "index.js", `exports.handler = async (event) => {
  if (event.crash) { process.exit(1); }
  return { alive: true, pid: process.pid };
};
`)
	write("hanger", "index.js", `exports.handler = async (event) => {
  // A timer keeps the event loop busy: a hang, not an empty loop (on
  // which node would exit).
  if (event.hang) { return new Promise(() => { setInterval(() => {}, 100); }); }
  return { alive: true };
};
`)
	write("hanger", "function.yaml", "timeout: 1\n")

	g := startGateway(t, harness.Options{Args: []string{"--local-lambda", dir, "--local-lambda-addr", "127.0.0.1:0"}})
	up := harness.Upstream("local", "creds", "", []harness.Fn{{Logical: "crasher", Name: "crasher"}, {Logical: "hanger", Name: "hanger"}}, nil)
	delete(up["spec"].(harness.Obj)["aws"].(harness.Obj), "endpointUrl")
	g.Apply(t,
		harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken),
		up,
		harness.VirtualService("local", []string{"*"}, nil,
			harness.Route{Exact: "/crasher", Upstream: "local", AWS: harness.Dest("crasher"), Timeout: "20s"},
			harness.Route{Exact: "/hanger", Upstream: "local", AWS: harness.Dest("hanger"), Timeout: "20s"}),
	)
	g.WaitState(t, "vs", harness.Namespace, "local", "Accepted")

	post := func(path, body string) (*harness.RawResponse, time.Duration) {
		start := time.Now()
		r := harness.Do(t, "POST", g.URL+path, strings.NewReader(body), nil)
		return r, time.Since(start)
	}
	// Warm: the function answers.
	if r, _ := post("/crasher", `{}`); r.StatusCode != 200 {
		t.Fatalf("crasher before the crash: %d %s", r.StatusCode, r.Body)
	}
	r, took := post("/crasher", `{"crash":true}`)
	record(t, "process.exit(1) mid-request: %d %s (X-Amz-Function-Error %q) after %s", r.StatusCode, r.Body, r.Header.Get("X-Amz-Function-Error"), took.Round(time.Millisecond))
	if r.StatusCode != 502 || !strings.Contains(string(r.Body), "Runtime.ExitError") {
		t.Errorf("a crashing function gives %d %s, want 502 with Runtime.ExitError", r.StatusCode, r.Body)
	}
	r, took = post("/crasher", `{}`)
	record(t, "next request after the crash: %d after %s (a new process)", r.StatusCode, took.Round(time.Millisecond))
	if r.StatusCode != 200 {
		t.Errorf("after a crash the function no longer serves: %d %s", r.StatusCode, r.Body)
	}

	r, took = post("/hanger", `{"hang":true}`)
	record(t, "a handler that never resolves, function timeout 1s, route timeout 20s: %d %s after %s", r.StatusCode, r.Body, took.Round(time.Millisecond))
	if r.StatusCode != 504 || !strings.Contains(string(r.Body), "Task timed out") {
		t.Errorf("a hanging function gives %d %s, want 504 with the timeout message", r.StatusCode, r.Body)
	}
	if took > 10*time.Second {
		t.Errorf("the hanging function was answered after %s; its timeout is 1s", took)
	}
	r, took = post("/hanger", `{}`)
	record(t, "next request after the timeout: %d after %s", r.StatusCode, took.Round(time.Millisecond))
	if r.StatusCode != 200 {
		t.Errorf("after a timeout the function no longer serves: %d %s", r.StatusCode, r.Body)
	}
}
