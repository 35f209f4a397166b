package kube_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestChartRestrictedPodSecurity renders the chart with every optional
// object (PodDisruptionBudget, HorizontalPodAutoscaler) into a namespace
// that enforces the "restricted" Pod Security Standard: the API server
// accepts every object (server-side dry run), and a Pod made from the
// Deployment's template passes admission, while the same Pod without its
// seccomp profile is refused (the check is live).
func TestChartRestrictedPodSecurity(t *testing.T) {
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	helm := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("helm is not installed (%v); run scripts/setup.sh", err)
	}
	const ns = "restricted-test"
	kubectl(t, `apiVersion: v1
kind: Namespace
metadata:
  name: `+ns+`
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
`, "apply", "-f", "-")
	rendered, err := exec.Command(helm, "template", "lgr", filepath.Join(repoRoot, "deploy", "helm", "lambdagate"), "--namespace", ns,
		"--set", "autoscaling.enabled=true", "--set", "imagePullSecrets[0].name=regcred", "--set", "service.externalTrafficPolicy=Local").Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	kubectl(t, string(rendered), "apply", "--dry-run=server", "-n", ns, "-f", "-")

	var template map[string]any
	for _, doc := range strings.Split(string(rendered), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if obj["kind"] == "Deployment" {
			template = obj["spec"].(map[string]any)["template"].(map[string]any)
		}
	}
	if template == nil {
		t.Fatal("the chart renders no Deployment")
	}
	pod := func(mutate func(spec map[string]any)) string {
		spec := template["spec"].(map[string]any)
		b, _ := yaml.Marshal(spec)
		var c map[string]any
		_ = yaml.Unmarshal(b, &c)
		if mutate != nil {
			mutate(c)
		}
		out, _ := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": "lgr-pod", "namespace": ns}, "spec": c})
		return string(out)
	}
	// The Pod's service account must exist for its admission.
	kubectl(t, "", "create", "serviceaccount", "lgr-lambdagate", "-n", ns)
	kubectl(t, pod(nil), "apply", "--dry-run=server", "-f", "-")
	out, err := kubectlErr(pod(func(spec map[string]any) {
		delete(spec["securityContext"].(map[string]any), "seccompProfile")
		for _, c := range spec["containers"].([]any) {
			delete(c.(map[string]any)["securityContext"].(map[string]any), "seccompProfile")
		}
	}), "apply", "--dry-run=server", "-f", "-")
	if err == nil || !strings.Contains(out, "seccompProfile") {
		t.Errorf("a Pod without a seccomp profile was not refused (is Pod Security admission on?): %v\n%s", err, out)
	}
}
