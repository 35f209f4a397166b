// Package dataplane tests the data plane end to end: the real
// "lambdagate serve" binary on loopback, configured with the CLI, in front
// of a Lambda API test server that verifies every SigV4 signature with the
// AWS SDK signer and answers with canned responses.
package dataplane

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
	"strings"
	"sync"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdagate-dataplane-")
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

// gateway is a running "lambdagate serve" with its own data dir.
type gateway struct {
	t       *testing.T
	dataDir string
	cmd     *exec.Cmd
	logs    *lockedBuffer
	// Addr and TLSAddr are host:port of the HTTP and HTTPS listeners.
	Addr, TLSAddr string
	URL           string
}

type serveState struct {
	HTTPURL  string `json:"httpURL"`
	HTTPSURL string `json:"httpsURL"`
}

// startGateway runs "lambdagate serve" on loopback ports chosen by the
// kernel, with discovery off so hand-written lambdaFunctions stay as they
// are. withTLS also opens the HTTPS listener.
func startGateway(t *testing.T, withTLS bool) *gateway {
	t.Helper()
	g := &gateway{t: t, dataDir: t.TempDir(), logs: &lockedBuffer{}}
	https := ""
	if withTLS {
		https = "127.0.0.1:0"
	}
	g.cmd = exec.Command(binary, "serve", "--http-addr", "127.0.0.1:0", "--https-addr", https, "--admin-addr", "127.0.0.1:0",
		"--discovery-interval", "-1ns", "--shutdown-grace", "5s", "--log-level", "debug")
	g.cmd.Env = append(os.Environ(), "LAMBDAGATE_DATA_DIR="+g.dataDir)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
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
		if st.HTTPURL == "" || (withTLS && st.HTTPSURL == "") {
			return fmt.Errorf("serve.json incomplete: %s", b)
		}
		g.URL = st.HTTPURL
		g.Addr = strings.TrimPrefix(st.HTTPURL, "http://")
		g.TLSAddr = strings.TrimPrefix(st.HTTPSURL, "https://")
		return nil
	})
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
		g.t.Logf("gateway logs:\n%s", g.logs.String())
	}
}

// run runs a lambdagate CLI command against the gateway's data dir.
func (g *gateway) run(stdin string, args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "LAMBDAGATE_DATA_DIR="+g.dataDir)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// apply applies manifests (JSON documents, which are YAML) through
// "lambdagate apply -f -".
func (g *gateway) apply(t testing.TB, docs ...any) {
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
	if out, err := g.run(b.String(), "apply", "-f", "-"); err != nil {
		t.Fatalf("lambdagate apply: %v\n%s\nmanifests:\n%s", err, out, b.String())
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
// generation of the resource; once a status is written the snapshot built
// from that generation is already serving.
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
		time.Sleep(50 * time.Millisecond)
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

// rawRequest writes req byte for byte on a new connection to addr and
// reads one response, so the gateway sees exactly these headers (Go's
// client would add its own).
func rawRequest(t testing.TB, addr, req string) *rawResponse {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return &rawResponse{Response: resp, Body: body}
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
	return &rawResponse{Response: resp, Body: b}
}

// headerDump prints a header set in a stable order for messages, without
// Date, which changes every second.
func headerDump(h http.Header) string {
	var lines []string
	for k, vs := range h {
		if k == "Date" {
			continue
		}
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// checkHeaders asserts that the response headers are exactly want, apart
// from Date (which must be there).
func checkHeaders(t testing.TB, got http.Header, want http.Header) {
	t.Helper()
	if len(got.Values("Date")) != 1 {
		t.Errorf("Date header: %q, want one", got.Values("Date"))
	}
	w := http.Header{}
	for k, v := range want {
		w[http.CanonicalHeaderKey(k)] = v
	}
	if a, b := headerDump(got), headerDump(w); a != b {
		t.Errorf("response headers:\n%s\nwant:\n%s", a, b)
	}
}
