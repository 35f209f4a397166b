// Package chaos is lambdagate's reliability and security suite: the real
// "lambdagate serve" binary on loopback, in front of Lambda stubs that fail
// in every way the network and Lambda can fail, fed bad input, churned
// configuration, a broken store and signals. Each case records the figures
// it measured; with CHAOS_FIGURES=path (make chaos) they are written there
// for docs/reliability.md. CHAOS_LONG=1 runs the long variants.
package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// long is CHAOS_LONG=1: the long variants (more requests, more changes).
var long = os.Getenv("CHAOS_LONG") == "1"

func TestMain(m *testing.M) {
	// The test binary doubles as the store-fault helper process.
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h))
	}
	// CHAOS_BINARY runs the suite against a binary built elsewhere (an
	// older release, a race-enabled build).
	harness.Binary = os.Getenv("CHAOS_BINARY")
	harness.Poll = 20 * time.Millisecond
	// Every CLI output (bar --show-secrets) and response body is grepped
	// for secrets at the end.
	harness.Seen = func(args []string, out []byte) {
		if !slices.Contains(args, "--show-secrets") {
			keepOutput(&harness.LockedBuffer{}).Write(out)
		}
	}
	harness.Main(m, func(code int) int {
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
		return code
	})
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
	all []*harness.LockedBuffer
}

func keepOutput(b *harness.LockedBuffer) *harness.LockedBuffer {
	outputs.mu.Lock()
	defer outputs.mu.Unlock()
	outputs.all = append(outputs.all, b)
	return b
}

func newOutput() *harness.LockedBuffer { return keepOutput(&harness.LockedBuffer{}) }

// startGateway runs "lambdagate serve" with discovery off so hand-written
// lambdaFunctions stay as they are, its logs kept for the secret grep.
func startGateway(t testing.TB, o harness.Options) *harness.Gateway {
	t.Helper()
	o.Logs = newOutput()
	o.Args = append(slices.Clone(harness.NoDiscovery), o.Args...)
	return harness.Start(t, o)
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

// stats reads the gateway's resident set, threads and fds from /proc and
// its goroutines from the admin listener.
func stats(t testing.TB, g *harness.Gateway) procStats {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.PID()))
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
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", g.PID())); err == nil {
		p.FDs = len(ents)
	}
	p.Goroutines = -1
	if resp, err := harness.Client.Get(g.AdminURL + "/debug/pprof/goroutine?debug=1"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// First line: "goroutine profile: total N".
		if first, _, _ := strings.Cut(string(body), "\n"); resp.StatusCode == 200 && strings.HasPrefix(first, "goroutine profile: total ") {
			p.Goroutines, _ = strconv.Atoi(strings.TrimPrefix(first, "goroutine profile: total "))
		}
	}
	return p
}

// errorBody is the gateway's JSON error.
type errorBody struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	RequestID string `json:"requestId"`
}

func gatewayError(t testing.TB, resp *harness.RawResponse) errorBody {
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
