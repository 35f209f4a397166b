package controller

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// TestTriggerRewritesStatusesWithoutARebuild: a runtime condition (a
// route's warning) reaches the stored status and the served snapshot's
// statuses on Trigger, without translating again (the snapshot version
// stays), and leaves them when it clears.
func TestTriggerRewritesStatusesWithoutARebuild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "lambdagate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	objs, err := resource.DecodeAll(strings.NewReader(`
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: secret}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up}
spec: {aws: {region: us-east-1, secretRef: {name: creds}, lambdaFunctions: [{logicalName: fn, lambdaFunctionName: fn}]}}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    routes:
    - name: r
      routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: fn}}}}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if _, err := st.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	var warning atomic.Value
	warning.Store("")
	h := &snapshot.Holder{}
	c := New(Config{Debounce: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RouteWarning: func(vsKey, route string) string {
			if vsKey == "gloo-system/vs" && route == "r" {
				return warning.Load().(string)
			}
			return ""
		}}, st, h, awscreds.NewResolver())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	const ref = "VirtualService gloo-system/vs"
	waitStored := func(want core.State, reason string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			o, err := st.Get(ctx, resource.KindVirtualService, "gloo-system", "vs")
			if err != nil {
				t.Fatal(err)
			}
			if s := o.GetStatus(); s != nil && s.State == want && s.Reason == reason {
				if got := h.Load().Statuses[ref]; got.State != want || got.Reason != reason {
					t.Fatalf("served status %+v, stored %+v", got, *s)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("stored status %+v, want %s %q", o.GetStatus(), want, reason)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitStored(core.StateAccepted, "")
	version := h.Load().Version

	warning.Store("Lambda answered 404")
	c.Trigger()
	waitStored(core.StateWarning, "spec.virtualHost.routes[0]: Lambda answered 404")
	warning.Store("")
	c.Trigger()
	waitStored(core.StateAccepted, "")
	if v := h.Load().Version; v != version {
		t.Errorf("snapshot version %d after the triggers, want %d: they rebuilt", v, version)
	}
}
