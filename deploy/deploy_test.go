// Package deploy holds the Kubernetes deployment files (CRDs, Helm chart);
// its tests check them with the real tools: controller-gen regenerates the
// CRDs, helm lints and renders the chart.
package deploy

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// tool finds a binary scripts/setup.sh installs with go install.
func tool(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s is not installed; run scripts/setup.sh (it installs it with go install)", name)
	return ""
}

func TestCRDsUpToDate(t *testing.T) {
	cg := tool(t, "controller-gen")
	out := t.TempDir()
	cmd := exec.Command(filepath.Join("..", "scripts", "gen-crds.sh"), out)
	cmd.Env = append(os.Environ(), "CONTROLLER_GEN="+cg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/gen-crds.sh: %v\n%s", err, b)
	}
	gen, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	if len(gen) != 4 {
		t.Fatalf("generated %d CRDs, want 4 (Upstream, Settings, VirtualService, AuthConfig): %v", len(gen), gen)
	}
	for _, f := range gen {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, _ := os.ReadFile(f)
			for _, dir := range []string{"crds", filepath.Join("helm", "lambdagate", "crds")} {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s is not what controller-gen generates from the Go types (%v); run scripts/gen-crds.sh", filepath.Join(dir, name), err)
				}
			}
		})
	}
}

func TestHelmLint(t *testing.T) {
	helm := tool(t, "helm")
	out, err := exec.Command(helm, "lint", "--strict", filepath.Join("helm", "lambdagate")).CombinedOutput()
	if err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

func TestHelmTemplate(t *testing.T) {
	helm := tool(t, "helm")
	for _, tc := range []struct {
		name string
		set  []string
	}{
		{"default", nil},
		{"aws", []string{"replicaCount=3", "aws.region=us-east-1", "aws.roleArn=arn:aws:iam::123456789012:role/lambdagate", "aws.credentialsSecret=aws-creds", "service.type=ClusterIP"}},
		{"production", []string{"autoscaling.enabled=true", "imagePullSecrets[0].name=regcred", "service.loadBalancerIP=203.0.113.10",
			"service.externalTrafficPolicy=Local", "service.loadBalancerSourceRanges[0]=203.0.113.0/24", "service.annotations.example\\.com/lb=internal"}},
		{"single", []string{"replicaCount=1", "shutdownDelaySeconds=0", "topologySpread.enabled=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", "lambdagate", filepath.Join("helm", "lambdagate"), "--namespace", "gloo-system"}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			out, err := exec.Command(helm, args...).Output()
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			golden := filepath.Join("testdata", "helm-template-"+tc.name+".yaml")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./deploy -update)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("helm template output differs from %s (run go test ./deploy -update and review the diff):\n%s", golden, out)
			}
			// The probes reach the admin port from outside the pod; the
			// rest of the admin API stays loopback-only.
			if !bytes.Contains(out, []byte("--admin-addr=0.0.0.0:9091")) {
				t.Errorf("the admin listener must bind 0.0.0.0 in the pod")
			}
			if bytes.Contains(out, []byte("--admin-expose-all")) {
				t.Errorf("the chart exposes the whole admin API by default")
			}
		})
	}
}
