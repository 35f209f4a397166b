package kube_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store/kube"
)

// TestChartRBACSuffices installs the Helm chart's rendered manifests and
// does, as the chart's service account, everything a gateway replica does:
// watch every kind, update an upstream (discovery), write a status, hold
// the Lease. Anything more is refused.
func TestChartRBACSuffices(t *testing.T) {
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	helm := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("helm is not installed (%v); run scripts/setup.sh", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := newStore(t, kube.Options{})
	const ns = "rbac-test"
	kubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+ns+"\n", "apply", "-f", "-")
	rendered, err := exec.Command(helm, "template", "lg", filepath.Join(repoRoot, "deploy", "helm", "lambdagate"), "--namespace", ns).Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	// Server-side apply of every object the chart renders: the API server
	// validates them all.
	kubectl(t, string(rendered), "apply", "-n", ns, "-f", "-")

	if _, err := admin.Create(ctx, upstream(ns, "us", "us-east-1")); err != nil {
		t.Fatal(err)
	}

	cfg := rest.CopyConfig(testCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":lg-lambdagate"}
	st, err := kube.New(cfg, kube.Options{HealthInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	for _, tc := range []struct {
		name    string
		do      func() error
		allowed bool
	}{
		{"watch every kind", func() error { _, err := st.Watch(ctx); return err }, true},
		{"list secrets", func() error { _, err := st.List(ctx, resource.KindSecret, ""); return err }, true},
		{"patch lambdaFunctions (discovery)", func() error {
			_, err := st.PatchLambdaFunctions(ctx, ns, "us", "", []gloo.LambdaFunctionSpec{{LogicalName: "f", LambdaFunctionName: "f"}}, map[string]string{"lambdagate.io/discovered-functions": "f"})
			return err
		}, true},
		{"write status", func() error {
			o, err := st.Get(ctx, resource.KindUpstream, ns, "us")
			if err != nil {
				return err
			}
			o.SetStatus(&core.Status{State: core.StateAccepted, ReportedBy: "lambdagate"})
			_, err = st.UpdateStatus(ctx, o)
			return err
		}, true},
		{"hold the lease", func() error {
			got := make(chan struct{})
			lctx, lcancel := context.WithCancel(ctx)
			defer lcancel()
			go st.LeaderGate(kube.ElectionOptions{Namespace: ns, Identity: "rbac", RetryPeriod: 100 * time.Millisecond, LeaseDuration: 2 * time.Second, RenewDeadline: time.Second})(lctx, func(context.Context) { close(got) })
			select {
			case <-got:
				return nil
			case <-time.After(20 * time.Second):
				return context.DeadlineExceeded
			}
		}, true},
		{"create a virtual service", func() error {
			o, _ := resource.New(resource.KindVirtualService)
			o.GetMetadata().Name, o.GetMetadata().Namespace = "nope", ns
			_, err := st.Create(ctx, o)
			return err
		}, false},
		{"delete a secret", func() error { return st.Delete(ctx, resource.KindSecret, ns, "whatever") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			switch {
			case tc.allowed && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.allowed && (err == nil || !strings.Contains(err.Error(), "forbidden")):
				t.Fatalf("want forbidden, got %v", err)
			}
		})
	}
}
