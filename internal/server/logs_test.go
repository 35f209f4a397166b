package server

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// waitLog waits (bounded) for a line of buf containing every part.
func waitLog(t *testing.T, buf *syncBuffer, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range strings.Split(buf.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", parts, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConfigurationChangesLogged: every accepted or rejected change is one
// INFO line naming the resource and, when rejected, the reason.
func TestConfigurationChangesLogged(t *testing.T) {
	logs := &syncBuffer{}
	o, _ := startObserved(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	waitLog(t, logs, "level=INFO", "configuration accepted", `resource="VirtualService gloo-system/vs"`, "generation=1")
	waitLog(t, logs, "level=INFO", "configuration accepted", `resource="Upstream gloo-system/up"`)

	o.apply(`
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    routes:
    - matchers: [{exact: /ok}]
      routeAction: {single: {upstream: {name: missing}, destinationSpec: {aws: {logicalName: echo}}}}
`)
	o.waitStatus(resource.KindVirtualService, "vs", func(s core.Status) bool { return s.State == core.StateRejected })
	line := waitLog(t, logs, "level=INFO", "configuration rejected", `resource="VirtualService gloo-system/vs"`, "generation=2", "reason=")
	if !strings.Contains(line, "missing") {
		t.Errorf("the rejection does not say why: %s", line)
	}
	if n := strings.Count(logs.String(), `msg="configuration rejected" resource="VirtualService gloo-system/vs" generation=2`); n != 1 {
		t.Errorf("the rejection is logged %d times, want once:\n%s", n, logs.String())
	}
}

// TestFailedRequestLoggedOnce: with an access log, a failed request is its
// access log line (with the error), not a second line in the application
// log; a request no route matches is not worth an INFO line.
func TestFailedRequestLoggedOnce(t *testing.T) {
	logs := &syncBuffer{}
	o, _ := startObserved(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	o.sendKnownTraffic()
	lines := accessLines(t, o.accessLg, 8)
	var failed int
	for _, l := range lines {
		if l["path"] == "/fail" {
			failed++
			if e, _ := l["error"].(string); e == "" {
				t.Errorf("the access log line of a failed request has no error: %v", l)
			}
		}
	}
	if failed != 2 {
		t.Errorf("%d access log lines for /fail, want 2", failed)
	}
	if strings.Contains(logs.String(), "request failed") {
		t.Errorf("failed requests are logged twice (access log and application log):\n%s", logs.String())
	}
}

// TestNoRouteNotInfo: without an access log the application log has each
// failed request once, and a 404 for an unknown path below INFO.
func TestNoRouteNotInfo(t *testing.T) {
	logs := &syncBuffer{}
	o, _ := startObserved(t, func(c *Config) {
		c.AccessLog = nil
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	o.sendKnownTraffic()
	waitLog(t, logs, "request failed", "path=/fail", "level=WARN")
	line := waitLog(t, logs, "request failed", "path=/nowhere")
	if !strings.Contains(line, "level=DEBUG") {
		t.Errorf("a NoRoute 404 is logged above DEBUG: %s", line)
	}
}
