package chaos

import (
	"net"
	"os"
	"testing"

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

	const rounds = 2 // A -> B -> C
	res := rollingRestart(t, addr, first, rounds, func() *harness.Gateway { return startGateway(t, opts) })
	record(t, "%d rolling restarts on one shared socket (socket activation, LISTEN_FDS=1, --shutdown-delay 1s): %d requests, %d failed (%d of them on new-connection-per-request clients)",
		rounds, res.sent, res.failed, res.newConnFailed)
	if res.failed > 0 {
		t.Errorf("%d of %d requests failed during rolling restarts on a shared socket; first ones: %q",
			res.failed, res.sent, res.failures[:min(len(res.failures), 5)])
	}
	if res.sent == res.failed {
		t.Errorf("no request succeeded")
	}
}
