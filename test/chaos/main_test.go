// Package chaos is lambdagate's reliability and security suite: the real
// "lambdagate serve" binary on loopback, in front of Lambda stubs that fail
// in every way the network and Lambda can fail, fed bad input, churned
// configuration, a broken store and signals. Each case records the figures
// it measured; with CHAOS_FIGURES=path (make chaos) they are written there
// for docs/reliability.md. CHAOS_LONG=1 runs the long variants.
package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary string

// long is CHAOS_LONG=1: the long variants (more requests, more changes).
var long = os.Getenv("CHAOS_LONG") == "1"

func TestMain(m *testing.M) {
	// The test binary doubles as the store-fault helper process.
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h))
	}
	dir, err := os.MkdirTemp("", "lambdagate-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// CHAOS_BINARY runs the suite against a binary built elsewhere (an
	// older release, a race-enabled build).
	binary = os.Getenv("CHAOS_BINARY")
	if binary == "" {
		binary = filepath.Join(dir, "lambdagate")
		build := exec.Command("go", "build", "-o", binary, "../../cmd/lambdagate")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building lambdagate:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	// The secret check covers every output of every case, so it runs
	// after all of them.
	scanned, leaks := scanOutputs()
	figures.mu.Lock()
	if figures.rows == nil {
		figures.rows = map[string][]string{}
	}
	figures.rows["TestMain/secret grep"] = []string{fmt.Sprintf("%d bytes of logs, CLI output and response bodies grepped for %d secret markers: %d leaks", scanned, len(secretMarkers), len(leaks))}
	figures.mu.Unlock()
	fmt.Printf("secret grep: %d bytes scanned, %d leaks\n", scanned, len(leaks))
	if len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: secrets leaked into the suite's outputs:\n%s\n", strings.Join(leaks, "\n"))
		code = 1
	}
	if p := os.Getenv("CHAOS_FIGURES"); p != "" {
		if err := writeFigures(p); err != nil {
			fmt.Fprintln(os.Stderr, "writing figures:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Figures: each case records what it measured, for docs/reliability.md.

var figures struct {
	mu   sync.Mutex
	rows map[string][]string
}

// record logs a measured figure and keeps it for CHAOS_FIGURES.
func record(t testing.TB, format string, args ...any) {
	t.Helper()
	s := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	t.Logf("FIGURE %s", s)
	figures.mu.Lock()
	defer figures.mu.Unlock()
	if figures.rows == nil {
		figures.rows = map[string][]string{}
	}
	figures.rows[t.Name()] = append(figures.rows[t.Name()], s)
}

func writeFigures(path string) error {
	figures.mu.Lock()
	defer figures.mu.Unlock()
	var names []string
	for n := range figures.rows {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "# lambdagate chaos figures, %s, GOMAXPROCS of the test %s, CHAOS_LONG=%v\n", time.Now().UTC().Format(time.RFC3339), os.Getenv("GOMAXPROCS"), long)
	for _, n := range names {
		for _, r := range figures.rows[n] {
			fmt.Fprintf(&b, "%s\t%s\n", n, r)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// Every byte the gateway and the CLI printed, and every response body, is
// kept here so that TestSecretsNeverPrinted can grep it at the end.
var outputs struct {
	mu  sync.Mutex
	all []*lockedBuffer
}

func keepOutput(b *lockedBuffer) *lockedBuffer {
	outputs.mu.Lock()
	defer outputs.mu.Unlock()
	outputs.all = append(outputs.all, b)
	return b
}

func newOutput() *lockedBuffer { return keepOutput(&lockedBuffer{}) }

// gateway is a running "lambdagate serve" with its own data dir.
type gateway struct {
	t       testing.TB
	dataDir string
	cmd     *exec.Cmd
	logs    *lockedBuffer
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

type gwOpts struct {
	tls     bool
	dataDir string   // default: a new temporary directory
	args    []string // extra serve flags; later flags win
	httpAdr string   // default 127.0.0.1:0
}

// startGateway runs "lambdagate serve" on loopback ports chosen by the
// kernel, with discovery off so hand-written lambdaFunctions stay as they
// are.
func startGateway(t testing.TB, o gwOpts) *gateway {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.httpAdr == "" {
		o.httpAdr = "127.0.0.1:0"
	}
	g := &gateway{t: t, dataDir: o.dataDir, logs: newOutput()}
	https := ""
	if o.tls {
		https = "127.0.0.1:0"
	}
	args := append([]string{"serve", "--http-addr", o.httpAdr, "--https-addr", https, "--admin-addr", "127.0.0.1:0",
		"--discovery-interval", "-1ns", "--shutdown-grace", "5s", "--log-level", "debug"}, o.args...)
	g.cmd = exec.Command(binary, args...)
	g.cmd.Env = append(os.Environ(), "LAMBDAGATE_DATA_DIR="+g.dataDir)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	// serve.json of a previous gateway on the same data dir must not be
	// mistaken for ours.
	_ = os.Remove(filepath.Join(g.dataDir, "serve.json"))
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.stop)
	eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(g.dataDir, "serve.json"))
		if err != nil {
			return err
		}
		var st serveState
		if err := json.Unmarshal(b, &st); err != nil {
			return err
		}
		if st.PID != g.cmd.Process.Pid {
			return fmt.Errorf("serve.json is another process's: %s", b)
		}
		if st.HTTPURL == "" || (o.tls && st.HTTPSURL == "") {
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

func (g *gateway) pid() int { return g.cmd.Process.Pid }

// stop sends SIGINT and waits; a gateway still running 10s later is killed
// and the test fails.
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
		g.t.Logf("gateway logs:\n%s", g.logs.String())
	}
}

// run runs a lambdagate CLI command against the gateway's data dir.
func (g *gateway) run(stdin string, args ...string) (string, error) {
	return runCLI(g.dataDir, stdin, args...)
}

func runCLI(dataDir, stdin string, args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "LAMBDAGATE_DATA_DIR="+dataDir)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if !containsArg(args, "--show-secrets") {
		keepOutput(&lockedBuffer{}).Write(out)
	}
	return string(out), err
}

func containsArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// manifests renders objects as a YAML stream of JSON documents.
func manifests(t testing.TB, docs ...any) string {
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

// apply applies manifests through "lambdagate apply -f -".
func (g *gateway) apply(t testing.TB, docs ...any) {
	t.Helper()
	m := manifests(t, docs...)
	if out, err := g.run(m, "apply", "-f", "-"); err != nil {
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

// status returns the state the gateway reported for the current generation
// of a resource, "" while it has not reported on it yet.
func (g *gateway) status(kind, ns, name string) (state, reason string, err error) {
	out, err := g.run("", "get", kind, name, "-n", ns, "-o", "json")
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

// waitState waits until the gateway reports one of states for the current
// generation of the resource.
func (g *gateway) waitState(t testing.TB, kind, ns, name string, states ...string) (state, reason string) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		var err error
		state, reason, err = g.status(kind, ns, name)
		if err != nil {
			return err
		}
		for _, s := range states {
			if state == s {
				return nil
			}
		}
		return fmt.Errorf("%s %s/%s: state %q (reason %q), want one of %v", kind, ns, name, state, reason, states)
	})
	return state, reason
}

// readyz returns the admin /readyz status and body.
func (g *gateway) readyz() (int, string, error) {
	resp, err := client.Get(g.AdminURL + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// procStats is what the kernel says about a process.
type procStats struct {
	RSSKiB, Threads, FDs int
	Goroutines           int // from /debug/pprof/goroutine when the admin server has it, else -1
}

func (p procStats) String() string {
	g := "n/a (no /debug/pprof on the admin listener)"
	if p.Goroutines >= 0 {
		g = strconv.Itoa(p.Goroutines)
	}
	return fmt.Sprintf("RSS %d KiB, %d threads, %d open fds, goroutines %s", p.RSSKiB, p.Threads, p.FDs, g)
}

func (g *gateway) stats(t testing.TB) procStats {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.pid()))
	if err != nil {
		t.Fatalf("reading the gateway's /proc status: %v", err)
	}
	var p procStats
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		switch k {
		case "VmRSS":
			p.RSSKiB = n
		case "Threads":
			p.Threads = n
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", g.pid())); err == nil {
		p.FDs = len(ents)
	}
	p.Goroutines = -1
	if resp, err := client.Get(g.AdminURL + "/debug/pprof/goroutine?debug=1"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// First line: "goroutine profile: total N".
		if first, _, _ := strings.Cut(string(body), "\n"); resp.StatusCode == 200 && strings.HasPrefix(first, "goroutine profile: total ") {
			p.Goroutines, _ = strconv.Atoi(strings.TrimPrefix(first, "goroutine profile: total "))
		}
	}
	return p
}

// eventually retries f until it returns nil or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
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
		time.Sleep(20 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rawResponse is a response read off the wire, with its body.
type rawResponse struct {
	*http.Response
	Body []byte
}

// rawExchange writes req byte for byte on a new connection to addr and
// reads one response (nil when the server closed the connection without
// one), so the gateway sees exactly these bytes.
func rawExchange(t testing.TB, addr, req string) (*rawResponse, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	keepOutput(&lockedBuffer{}).Write(body)
	return &rawResponse{Response: resp, Body: body}, nil
}

var client = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 64},
}

// do sends a request with Go's client and reads the whole response.
func do(t testing.TB, method, url string, body io.Reader, hdr map[string]string) *rawResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of %s %s: %v", method, url, err)
	}
	keepOutput(&lockedBuffer{}).Write(b)
	return &rawResponse{Response: resp, Body: b}
}

// errorBody is the gateway's JSON error.
type errorBody struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	RequestID string `json:"requestId"`
}

func gatewayError(t testing.TB, resp *rawResponse) errorBody {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(resp.Body, &b); err != nil {
		t.Errorf("the error body is not the gateway's JSON error: %v: %q", err, resp.Body)
	}
	return b
}

// maxRSS returns the peak resident set of a finished child, in KiB.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss // KiB on Linux
	}
	return -1
}
