package discovery_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/server"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// startServer runs the real gateway on loopback with discovery every
// 200ms, and stops it when the test ends.
func startServer(t *testing.T, st *sqlite.Store, local *url.URL) *server.Server {
	t.Helper()
	srv := server.New(server.Config{
		HTTPAddr:          "127.0.0.1:0",
		HTTPSAddr:         "",
		AdminAddr:         "127.0.0.1:0",
		DiscoveryInterval: 200 * time.Millisecond,
		ShutdownGrace:     5 * time.Second,
		LocalLambda:       local,
		Logger:            quiet(),
	}, st)
	l, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("server did not stop within 20s")
		}
	})
	return srv
}

func TestServerStatus(t *testing.T) {
	st := openStore(t)
	_, local := lambdaWith(t, "echo")
	createSecret(t, st)
	startServer(t, st, local)
	createUpstream(t, st, "dead", withEndpoint(closedURL(t)))
	createUpstream(t, st, "healthy")

	eventually(t, "the dead upstream's status to report the discovery failure", func() bool {
		s := getUpstream(t, st, "dead").Status
		return s != nil && s.State == core.StateWarning && strings.Contains(s.Reason, "function discovery failed") && strings.Contains(s.Reason, "connection refused")
	})
	eventually(t, "the healthy upstream to be Accepted with echo discovered", func() bool {
		u := getUpstream(t, st, "healthy")
		return u.Status != nil && u.Status.State == core.StateAccepted &&
			len(u.Spec.AWS.LambdaFunctions) == 1 && u.Spec.AWS.LambdaFunctions[0] == fn("echo", "echo", "$LATEST")
	})
}

// TestDiscoveryDoesNotBlockServing: while one upstream's Lambda endpoint
// hangs, a route to another upstream is served, and that other upstream is
// still discovered.
func TestDiscoveryDoesNotBlockServing(t *testing.T) {
	st := openStore(t)
	_, local := lambdaWith(t, "echo", "other")
	hang := newFront(t, http.NotFoundHandler())
	hang.mode.Store(modeHang)
	createSecret(t, st)
	srv := startServer(t, st, local)
	createUpstream(t, st, "stuck", withEndpoint(hang.srv.URL))
	eventually(t, "discovery to call the hanging endpoint", func() bool { return hang.requests.Load() > 0 })

	createUpstream(t, st, "healthy", withFunctions(fn("echo", "echo", "$LATEST")))
	vs := &resource.VirtualService{}
	vs.Metadata = core.ObjectMeta{Name: "route", Namespace: ns}
	vs.Spec.VirtualHost = &gateway.VirtualHost{
		Domains: []string{"*"},
		Routes: []gateway.Route{{
			Matchers: []gateway.Matcher{{Exact: "/echo"}},
			RouteAction: &gateway.RouteAction{Single: &gateway.Destination{
				Upstream:        &core.ResourceRef{Name: "healthy", Namespace: ns},
				DestinationSpec: &gateway.DestinationSpec{AWS: &gloo.AWSDestinationSpec{LogicalName: "echo"}},
			}},
		}},
	}
	if _, err := st.Create(context.Background(), vs); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	target := "http://" + srv.HTTPListenAddr.String() + "/echo"
	eventually(t, "the route to the healthy upstream to answer 200 while discovery hangs", func() bool {
		resp, err := client.Post(target, "application/json", strings.NewReader(`{"hello":"world"}`))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(b), "world")
	})

	// Discovery of the healthy upstream must not wait for the hung one
	// (the SDK call has a 30s timeout, so 15s of polling tells them apart).
	eventually(t, "the healthy upstream to be discovered while another upstream hangs", func() bool {
		for _, f := range getUpstream(t, st, "healthy").Spec.AWS.LambdaFunctions {
			if f.LogicalName == "other" {
				return true
			}
		}
		return false
	})
}
