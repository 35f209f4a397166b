package controller

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// TestLastGoodKeepsItsDomain: a virtual service whose new generation is
// rejected serves its last good generation, domains included, so a newer
// virtual service claiming one of them meanwhile is Rejected for the
// conflict rather than reported Accepted while not served.
func TestLastGoodKeepsItsDomain(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "lambdagate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	decode := func(y string) []resource.Object {
		t.Helper()
		objs, err := resource.DecodeAll(strings.NewReader(y), "test")
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	// a-older sorts first by name too, should the creation times tie.
	for _, o := range decode(`
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: secret}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up}
spec: {aws: {region: us-east-1, secretRef: {name: creds}, lambdaFunctions: [{logicalName: a, lambdaFunctionName: fn-a}, {logicalName: b, lambdaFunctionName: fn-b}]}}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: a-older}
spec:
  virtualHost:
    domains: [api.example.com]
    routes:
    - routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: a}}}}
`) {
		if _, err := st.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	h := &snapshot.Holder{}
	c := New(Config{Debounce: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st, h, awscreds.NewResolver())
	c.Rebuild(ctx)

	cur, err := st.Get(ctx, resource.KindVirtualService, "gloo-system", "a-older")
	if err != nil {
		t.Fatal(err)
	}
	bad := decode(`
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: a-older}
spec:
  sslConfig: {secretRef: {name: no-such-tls-secret}}
  virtualHost:
    domains: [api.example.com]
    routes:
    - routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: a}}}}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: b-newer}
spec:
  virtualHost:
    domains: [api.example.com]
    routes:
    - routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: b}}}}
`)
	bad[0].GetMetadata().ResourceVersion = cur.GetMetadata().ResourceVersion
	if _, err := st.Update(ctx, bad[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(ctx, bad[1]); err != nil {
		t.Fatal(err)
	}
	c.Rebuild(ctx)

	snap := h.Load()
	if vh := snap.HTTP.Host("api.example.com"); vh == nil || vh.Name != "gloo-system/a-older" {
		t.Fatalf("api.example.com served by %+v, want the last good gloo-system/a-older", vh)
	}
	for name, want := range map[string]string{
		"a-older": "(still serving generation 1, the last accepted)",
		"b-newer": `domain "api.example.com" is already served by VirtualService gloo-system/a-older`,
	} {
		o, err := st.Get(ctx, resource.KindVirtualService, "gloo-system", name)
		if err != nil {
			t.Fatal(err)
		}
		if s := o.GetStatus(); s == nil || s.State != core.StateRejected || !strings.Contains(s.Reason, want) {
			t.Errorf("%s: stored status %+v, want Rejected containing %q", name, s, want)
		}
	}
}
