package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// startStreaming runs the gateway with the local Lambda serving
// testdata/streaming and two routes to its streamer function: /stream
// (responseTransferMode STREAM) and /buffered (the default).
func startStreaming(t *testing.T) *harness.Gateway {
	t.Helper()
	requireNode(t)
	_, file, _, _ := runtime.Caller(0)
	fns := filepath.Join(filepath.Dir(file), "testdata", "streaming")
	g := harness.Start(t, harness.Options{Args: append([]string{"--local-lambda", fns, "--local-lambda-addr", "127.0.0.1:0"}, harness.NoDiscovery...)})
	g.Apply(t,
		harness.AWSSecret("aws-creds", "AKIDEXAMPLE", "secret", ""),
		harness.Upstream("local", "aws-creds", "", []harness.Fn{{Logical: "streamer", Name: "streamer"}}, nil),
		harness.VirtualService("vs", []string{"*"}, nil,
			harness.Route{Prefix: "/stream", Upstream: "local", AWS: harness.Dest("streamer", "responseTransferMode", "STREAM")},
			harness.Route{Prefix: "/buffered", Upstream: "local", AWS: harness.Dest("streamer")},
		))
	g.WaitState(t, "vs", harness.Namespace, "vs", "Accepted")
	// A first call starts the function, so the measurements below see a
	// warm instance.
	harness.Eventually(t, 20*time.Second, func() error {
		resp, err := http.Post(g.URL+"/stream", "application/json", strings.NewReader(`{"mode":"prelude"}`))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 201 || string(b) != "hello world" || resp.Header.Get("X-Mode") != "prelude" {
			return fmt.Errorf("warm-up: %d %q %v", resp.StatusCode, b, resp.Header)
		}
		return nil
	})
	return g
}

// tick is one line of the ticks mode: when the function wrote it and when
// the client read it, in Unix milliseconds of the same host clock.
type tick struct {
	wrote, read int64
	at          time.Time // read, exactly
}

func readTicks(t *testing.T, url string) (sent time.Time, ticks []tick) {
	t.Helper()
	sent = time.Now()
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"mode":"ticks"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		read := at.UnixMilli()
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("line %q", line)
		}
		wrote, _ := strconv.ParseInt(f[1], 10, 64)
		ticks = append(ticks, tick{wrote, read, at})
	}
	if len(ticks) != 10 {
		t.Fatalf("%d ticks, want 10", len(ticks))
	}
	return sent, ticks
}

// TestStreamingEndToEnd is the streaming route with the real binary and a
// Node.js function on the local Lambda.
func TestStreamingEndToEnd(t *testing.T) {
	g := startStreaming(t)

	t.Run("first byte when the function writes it", func(t *testing.T) {
		// Each tick carries the time the function wrote it; the client
		// notes when it read it. Streamed, the first arrives within 50ms of
		// being written; buffered, only after the function's last write.
		_, ticks := readTicks(t, g.URL+"/stream")
		lag := make([]int64, len(ticks))
		for i, tk := range ticks {
			lag[i] = tk.read - tk.wrote
		}
		t.Logf("streamed: each tick read this many ms after it was written: %v", lag)
		if lag[0] > 50 {
			t.Errorf("first byte %dms after the function wrote it (lags %v), want within 50ms", lag[0], lag)
		}
		if spread := ticks[9].read - ticks[0].read; spread < 800 {
			t.Errorf("first to last tick read %dms apart, want about 900ms: the stream was buffered", spread)
		}
		// The access log records the stream and its time to first byte.
		harness.Eventually(t, 5*time.Second, func() error {
			for _, line := range strings.Split(g.Logs.String(), "\n") {
				if strings.Contains(line, `"path":"/stream"`) && strings.Contains(line, `"streamed":true`) && strings.Contains(line, `"ttfb_ms":`) && strings.Contains(line, `"bytes_out":`) {
					return nil
				}
			}
			return fmt.Errorf("no access log line with streamed and ttfb_ms for /stream")
		})
		sent, ticks := readTicks(t, g.URL+"/buffered")
		t.Logf("buffered: first tick read %dms after it was written", ticks[0].read-ticks[0].wrote)
		if first := ticks[0].read - ticks[0].wrote; first < 800 {
			t.Errorf("buffered route: first byte %dms after the function's first write, want over 800ms", first)
		}
		if d := ticks[0].at.Sub(sent); d < time.Second {
			t.Errorf("buffered route: first byte %s after the request, want over 1s", d)
		}
	})

	t.Run("100 MiB with bounded memory", func(t *testing.T) {
		const mib = 100
		before := vmRSS(t, g.PID())
		var peak int64
		var mu sync.Mutex
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if v, err := readRSS(g.PID()); err == nil {
					mu.Lock()
					peak = max(peak, v)
					mu.Unlock()
				}
			}
		}()
		start := time.Now()
		resp, err := http.Post(g.URL+"/stream", "application/json", strings.NewReader(fmt.Sprintf(`{"mode":"big","mib":%d}`, mib)))
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		close(stop)
		<-done
		if err != nil || n != mib<<20 {
			t.Fatalf("read %d bytes, error %v; want %d", n, err, mib<<20)
		}
		mu.Lock()
		growth := peak - before
		mu.Unlock()
		t.Logf("%d MiB in %s (%.0f MiB/s); gateway RSS %d KiB before, peak %d KiB, growth %d KiB", mib, took, float64(mib)/took.Seconds(), before>>10, peak>>10, growth>>10)
		if growth > 20<<20 {
			t.Errorf("gateway RSS grew by %d KiB while streaming %d MiB, want under 20 MiB", growth>>10, mib)
		}
	})

	t.Run("error before the first byte", func(t *testing.T) {
		resp, err := http.Post(g.URL+"/stream", "application/json", strings.NewReader(`{"mode":"fail-before"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// As on a buffered passthrough route: 502 with the function's
		// error object.
		if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" ||
			string(b) != `{"errorMessage":"failed before writing","errorType":"TypeError"}` {
			t.Errorf("status %d %v body %s, want 502 with the function's error object", resp.StatusCode, resp.Header, b)
		}
	})

	t.Run("error after the first byte", func(t *testing.T) {
		resp, err := http.Post(g.URL+"/stream", "application/json", strings.NewReader(`{"mode":"fail-after"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "partial;" || err != io.ErrUnexpectedEOF {
			t.Errorf("status %d body %q error %v: want 200, the partial body, then a cut stream (io.ErrUnexpectedEOF)", resp.StatusCode, b, err)
		}
		harness.Eventually(t, 5*time.Second, func() error {
			if !strings.Contains(g.Logs.String(), `"stream_cut":true`) {
				return fmt.Errorf("no access log line with stream_cut")
			}
			return nil
		})
	})

	t.Run("HTTP/2", func(t *testing.T) {
		protocols := new(http.Protocols)
		protocols.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: protocols}
		defer tr.CloseIdleConnections()
		h2 := &http.Client{Transport: tr}
		resp, err := h2.Post(g.URL+"/stream", "application/json", strings.NewReader(`{"mode":"prelude"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 201 || string(b) != "hello world" {
			t.Errorf("%s %d %q", resp.Proto, resp.StatusCode, b)
		}
		// A stream cut after its first byte is reset (RST_STREAM): the
		// client sees an error, not a short answer.
		resp, err = h2.Post(g.URL+"/stream", "application/json", strings.NewReader(`{"mode":"fail-after"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || string(b) != "partial;" || err == nil || !strings.Contains(err.Error(), "stream error") {
			t.Errorf("%s body %q error %v: want the partial body, then a stream error", resp.Proto, b, err)
		}
	})

	t.Run("client disconnect cancels the invocation", func(t *testing.T) {
		c, err := net.Dial("tcp", g.Addr)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"mode":"long"}`
		fmt.Fprintf(c, "POST /stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		br := bufio.NewReader(c)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "tick 0\n" {
			t.Fatalf("first chunk %q %v", line, err)
		}
		closed := time.Now()
		c.Close()
		// The gateway ends its call to Lambda at once: the local Lambda
		// sees its client leave, logs it, and (as AWS does) lets the
		// function run on with its output dropped.
		harness.Eventually(t, 5*time.Second, func() error {
			logs := g.Logs.String()
			if !strings.Contains(logs, "response stream client went away") {
				return fmt.Errorf("the local Lambda did not see the gateway leave")
			}
			if !strings.Contains(logs, `"error_kind":"ClientCanceled"`) {
				return fmt.Errorf("no access log line with error_kind ClientCanceled")
			}
			return nil
		})
		if d := time.Since(closed); d > 2*time.Second {
			t.Errorf("the invocation ended %s after the client left, want at once", d)
		}
	})
}

// vmRSS is the resident set of process pid, in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	v, err := readRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// TestStreamingExample runs examples/streaming.yaml with the quickstart's
// upstream and the sse function of examples/functions, as the README shows
// it with curl -N: the events arrive as the function writes them.
func TestStreamingExample(t *testing.T) {
	requireNode(t)
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	g := startGateway(t, filepath.Join(root, "examples", "functions"))
	g.MustRun(t, "create", "secret", "aws", "--name", "aws-creds", "--namespace", "gloo-system", "--access-key", "AKIDEXAMPLE", "--secret-key", "secret")
	g.MustRun(t, "apply", "-f", "testdata/upstream.yaml")
	g.MustRun(t, "apply", "-f", filepath.Join(root, "examples", "streaming.yaml"))
	var arrivals []time.Time
	var events []string
	harness.Eventually(t, 20*time.Second, func() error {
		req, _ := http.NewRequest("GET", g.URL+"/events?count=3", nil)
		req.Host = "stream.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		arrivals, events = nil, nil
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if strings.HasPrefix(line, "data: ") {
				events = append(events, line)
				arrivals = append(arrivals, time.Now())
			}
		}
	})
	if len(events) != 3 {
		t.Fatalf("events %q, want 3", events)
	}
	if d := arrivals[2].Sub(arrivals[0]); d < 800*time.Millisecond {
		t.Errorf("first and last event %s apart, want about 1s (500ms between writes): buffered", d)
	}
}
