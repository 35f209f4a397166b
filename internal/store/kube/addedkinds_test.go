package kube_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store/kube"
)

// An installation upgraded with helm keeps the CRDs it was installed with
// (helm installs crds/ on install only): without the UpstreamGroup and
// RouteTable CRDs the store still syncs and serves the other kinds, lists
// none of those, and says which CRD is missing.
func TestWithoutAddedCRDs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"gloo.solo.io_upstreams.yaml", "gloo.solo.io_settings.yaml", "gateway.solo.io_virtualservices.yaml"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "crds", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{dir}, ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assetsDir}
	env.ControlPlane.GetAPIServer().StopTimeout = 5 * time.Second
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting an envtest without the added CRDs: %v", err)
	}
	defer func() { _ = env.Stop() }()
	logs := &lockedWriter{w: &strings.Builder{}}
	st, err := kube.New(cfg, kube.Options{SyncTimeout: 20 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Before the informers run (the CLI's reads) and after (the gateway's).
	for _, phase := range []string{"direct", "cached"} {
		if phase == "cached" {
			if _, err := st.Watch(ctx); err != nil {
				t.Fatalf("watch: %v", err)
			}
		}
		for _, k := range resource.Kinds {
			l, err := st.List(ctx, k, "")
			if err != nil || len(l) != 0 {
				t.Errorf("%s: List(%s) = %d objects, %v; want none, no error", phase, k, len(l), err)
			}
		}
	}
	for _, crd := range []string{"upstreamgroups.gloo.solo.io", "routetables.gateway.solo.io"} {
		if !strings.Contains(logs.String(), "a CRD of deploy/crds is not installed") || !strings.Contains(logs.String(), "crd="+crd) {
			t.Errorf("no warning names %s:\n%s", crd, logs.String())
		}
	}
}
