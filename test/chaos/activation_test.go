package chaos

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// TestRollingRestartSocketActivation: the test plays the supervisor (as
// systemd socket activation does): it creates ONE listening socket and
// passes it to every gateway as descriptor 3 with LISTEN_FDS=1. Each round
// starts the new gateway on the same socket, waits for its readiness, then
// SIGTERMs the old one (with --shutdown-delay) and waits for it to exit.
// Closing the old gateway's copy of the socket leaves the connections
// queued in the kernel for the new one, so no request may fail, on
// keep-alive clients or on clients opening a connection per request.
func TestRollingRestartSocketActivation(t *testing.T) {
	// Not parallel: it counts every connection error as a drop.
	stub := harness.NewLambdaStub(t)
	stub.Accept(chaosKeyID, chaosSecret, chaosToken)
	stub.On("roll-fn", harness.Echo)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sock, err := ln.(*net.TCPListener).File() // a second descriptor of the same socket
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	// The supervisor holds the socket but never accepts; the gateways do.
	ln.Close()
	defer sock.Close()

	dataDir := t.TempDir()
	// LISTEN_PID stays unset: exec.Cmd cannot know the child's pid before
	// it starts.
	opts := harness.Options{
		DataDir:    dataDir,
		ExtraFiles: []*os.File{sock},
		Env:        []string{"LISTEN_FDS=1"},
		Args:       []string{"--shutdown-delay", "1s", "--shutdown-grace", "10s", "--log-level", "info"},
	}
	first := startGateway(t, opts)
	if first.Addr != addr {
		t.Fatalf("gateway serves %s, not the inherited socket %s", first.Addr, addr)
	}
	first.Apply(t,
		harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "roll-fn", Name: "roll-fn"}}, nil),
		harness.VirtualService("roll", []string{"*"}, nil, harness.Route{Prefix: "/", Upstream: "up", AWS: harness.Dest("roll-fn")}),
	)
	first.WaitState(t, "vs", harness.Namespace, "roll", "Accepted")

	var sent, failed, newConnFailed atomic.Int64
	var mu sync.Mutex
	var failures []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	worker := func(w int, fresh bool) {
		defer wg.Done()
		tr := &http.Transport{Proxy: nil, DisableKeepAlives: fresh}
		defer tr.CloseIdleConnections()
		c := &http.Client{Timeout: 20 * time.Second, Transport: tr}
		for i := 0; ctx.Err() == nil; i++ {
			sent.Add(1)
			body := fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)
			// Keep-alive clients send GET, which clients retry when a
			// server closes an idle connection (RFC 9112 9.3.1);
			// new-connection clients send POST, never retried.
			method := "GET"
			if fresh {
				method = "POST"
			}
			req, _ := http.NewRequestWithContext(context.Background(), method, "http://"+addr+"/roll", strings.NewReader(body))
			resp, err := c.Do(req)
			if err != nil {
				failed.Add(1)
				if fresh {
					newConnFailed.Add(1)
				}
				mu.Lock()
				failures = append(failures, time.Now().Format("15:04:05.000000")+" "+err.Error())
				mu.Unlock()
				continue
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(got) != body {
				failed.Add(1)
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%d %q %v", resp.StatusCode, got, err))
				mu.Unlock()
			}
		}
	}
	for w := range 4 {
		wg.Add(1)
		go worker(w, false)
	}
	for w := 4; w < 8; w++ {
		wg.Add(1)
		go worker(w, true)
	}

	old := first
	const rounds = 2 // A -> B -> C
	for r := range rounds {
		time.Sleep(500 * time.Millisecond)
		next := startGateway(t, opts)
		harness.Eventually(t, 10*time.Second, func() error {
			if c, b, err := next.Readyz(); c != 200 {
				return fmt.Errorf("new gateway /readyz %d %q %v", c, b, err)
			}
			return nil
		})
		t.Logf("EVENT %s next ready; SIGTERM old", time.Now().Format("15:04:05.000000"))
		if err := old.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- old.Cmd.Wait() }()
		select {
		case err := <-done:
			t.Logf("EVENT %s old exited", time.Now().Format("15:04:05.000000"))
			if err != nil {
				t.Errorf("round %d: old gateway exit: %v", r, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: the old gateway did not exit", r)
		}
		old = next
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	record(t, "%d rolling restarts on one shared socket (socket activation, LISTEN_FDS=1, --shutdown-delay 1s): %d requests, %d failed (%d of them on new-connection-per-request clients)",
		rounds, sent.Load(), failed.Load(), newConnFailed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed during rolling restarts on a shared socket; first ones: %q",
			failed.Load(), sent.Load(), failures[:min(len(failures), 5)])
	}
	if sent.Load() == failed.Load() {
		t.Errorf("no request succeeded")
	}
}
