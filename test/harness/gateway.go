package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Seen, when set, is given every CLI output and every response body the
// harness reads; args are the CLI's arguments, nil for a response body.
// The chaos suite keeps them all to grep for leaked secrets.
var Seen func(args []string, out []byte)

// NoDiscovery are serve flags for tests that write lambdaFunctions by hand:
// discovery off, so they stay as written, and debug logs.
var NoDiscovery = []string{"--discovery-interval", "-1ns", "--log-level", "debug"}

// Options say how Start runs "lambdagate serve".
type Options struct {
	TLS      bool          // also open the HTTPS listener on 127.0.0.1:0; default off
	DataDir  string        // default: a new temporary directory
	Args     []string      // serve flags after the harness's own; later flags win
	HTTPAddr string        // default 127.0.0.1:0
	Logs     *LockedBuffer // where the gateway's stdout and stderr go; default a new buffer
	// ExtraFiles become descriptors 3, 4, ... of the gateway (socket
	// activation); default none.
	ExtraFiles []*os.File
	Env        []string // added to the environment, e.g. LISTEN_FDS=1; default none
}

// Gateway is a running "lambdagate serve" with its own data dir.
type Gateway struct {
	t       testing.TB
	DataDir string
	Cmd     *exec.Cmd
	Logs    *LockedBuffer
	// Addr and TLSAddr are host:port of the HTTP and HTTPS listeners.
	Addr, TLSAddr string
	URL, AdminURL string
}

type serveState struct {
	PID      int    `json:"pid"`
	HTTPURL  string `json:"httpURL"`
	HTTPSURL string `json:"httpsURL"`
	AdminURL string `json:"adminURL"`
}

// Start runs "lambdagate serve" on loopback ports chosen by the kernel
// (admin included), waits until it has written its serve.json, and stops it
// when the test ends.
func Start(t testing.TB, o Options) *Gateway {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:0"
	}
	if o.Logs == nil {
		o.Logs = &LockedBuffer{}
	}
	g := &Gateway{t: t, DataDir: o.DataDir, Logs: o.Logs}
	https := ""
	if o.TLS {
		https = "127.0.0.1:0"
	}
	args := append([]string{"serve", "--http-addr", o.HTTPAddr, "--https-addr", https, "--admin-addr", "127.0.0.1:0",
		"--shutdown-grace", "5s"}, o.Args...)
	g.Cmd = exec.Command(Binary, args...)
	g.Cmd.Env = append(append(os.Environ(), "LAMBDAGATE_DATA_DIR="+g.DataDir), o.Env...)
	g.Cmd.ExtraFiles = o.ExtraFiles
	g.Cmd.Stdout, g.Cmd.Stderr = g.Logs, g.Logs
	// serve.json of a previous gateway on the same data dir must not be
	// mistaken for ours.
	_ = os.Remove(filepath.Join(g.DataDir, "serve.json"))
	if err := g.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(g.DataDir, "serve.json"))
		if err != nil {
			return err
		}
		var st serveState
		if err := json.Unmarshal(b, &st); err != nil {
			return err
		}
		if st.PID != g.Cmd.Process.Pid {
			return fmt.Errorf("serve.json is another process's: %s", b)
		}
		if st.HTTPURL == "" || (o.TLS && st.HTTPSURL == "") {
			return fmt.Errorf("serve.json incomplete: %s", b)
		}
		g.URL = st.HTTPURL
		g.AdminURL = st.AdminURL
		g.Addr = strings.TrimPrefix(st.HTTPURL, "http://")
		g.TLSAddr = strings.TrimPrefix(st.HTTPSURL, "https://")
		return nil
	})
	return g
}

// PID is the gateway's process id.
func (g *Gateway) PID() int { return g.Cmd.Process.Pid }

// Stop sends SIGINT and waits; a gateway still running 10s later is killed
// and the test fails. The logs are printed when the test failed.
func (g *Gateway) Stop() {
	if g.Cmd.Process == nil || g.Cmd.ProcessState != nil {
		return
	}
	_ = g.Cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- g.Cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = g.Cmd.Process.Kill()
		<-done
		g.t.Errorf("gateway did not stop within 10s of SIGINT")
	}
	if g.t.Failed() {
		g.t.Logf("gateway logs:\n%s", g.Logs.String())
	}
}

// Run runs a lambdagate CLI command against the gateway's data dir.
func (g *Gateway) Run(stdin string, args ...string) (string, error) {
	return CLI(g.DataDir, stdin, args...)
}

// MustRun is Run without stdin, failing the test when the command fails.
func (g *Gateway) MustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := g.Run("", args...)
	if err != nil {
		t.Fatalf("lambdagate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// CLI runs a lambdagate CLI command against dataDir and returns its
// combined output.
func CLI(dataDir, stdin string, args ...string) (string, error) {
	cmd := exec.Command(Binary, args...)
	cmd.Env = append(os.Environ(), "LAMBDAGATE_DATA_DIR="+dataDir)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if Seen != nil {
		Seen(slices.Clone(args), out)
	}
	return string(out), err
}

// Manifests renders objects as a YAML stream of JSON documents.
func Manifests(t testing.TB, docs ...any) string {
	t.Helper()
	var b strings.Builder
	for _, d := range docs {
		j, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(j)
		b.WriteString("\n")
	}
	return b.String()
}

// Apply applies manifests through "lambdagate apply -f -".
func (g *Gateway) Apply(t testing.TB, docs ...any) {
	t.Helper()
	m := Manifests(t, docs...)
	if out, err := g.Run(m, "apply", "-f", "-"); err != nil {
		t.Fatalf("lambdagate apply: %v\n%s\nmanifests:\n%s", err, out, m)
	}
}

// resourceStatus is what "get -o json" prints of a resource's state.
type resourceStatus struct {
	Metadata struct {
		Generation int64 `json:"generation"`
	} `json:"metadata"`
	Status *struct {
		State              string `json:"state"`
		Reason             string `json:"reason"`
		ObservedGeneration int64  `json:"observedGeneration"`
	} `json:"status"`
}

// Status returns the state the gateway reported for the current generation
// of a resource, "" while it has not reported on it yet.
func (g *Gateway) Status(kind, ns, name string) (state, reason string, err error) {
	out, err := g.Run("", "get", kind, name, "-n", ns, "-o", "json")
	if err != nil {
		return "", "", fmt.Errorf("lambdagate get %s %s: %v: %s", kind, name, err, out)
	}
	var rs resourceStatus
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		return "", "", fmt.Errorf("get -o json output: %v: %s", err, out)
	}
	if rs.Status == nil || rs.Status.ObservedGeneration != rs.Metadata.Generation {
		return "", "", nil
	}
	return rs.Status.State, rs.Status.Reason, nil
}

// WaitState waits until the gateway reports one of states for the current
// generation of the resource; once a status is written the snapshot built
// from that generation is already serving.
func (g *Gateway) WaitState(t testing.TB, kind, ns, name string, states ...string) (state, reason string) {
	t.Helper()
	Eventually(t, 15*time.Second, func() error {
		var err error
		state, reason, err = g.Status(kind, ns, name)
		if err != nil {
			return err
		}
		if slices.Contains(states, state) {
			return nil
		}
		return fmt.Errorf("%s %s/%s: state %q (reason %q), want one of %v", kind, ns, name, state, reason, states)
	})
	return state, reason
}

// Readyz returns the admin /readyz status and body.
func (g *Gateway) Readyz() (int, string, error) {
	resp, err := Client.Get(g.AdminURL + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
