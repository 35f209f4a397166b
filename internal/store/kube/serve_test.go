package kube_test

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServeWithoutHome runs `lambdagate serve --store=kubernetes` as a pod
// would, with no $HOME (distroless nonroot sets none): it serves, logs
// no data directory, and every line of its output, client-go's included,
// is JSON.
func TestServeWithoutHome(t *testing.T) {
	bin := buildLambdagate(t)
	cmd := exec.Command(bin, "serve", "--store=kubernetes", "--kubeconfig", kubeconfig,
		"--http-addr=127.0.0.1:0", "--https-addr=", "--admin-addr=127.0.0.1:0",
		"--discovery-interval=-1s", "--log-format=json", "--log-level=debug")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "POD_NAMESPACE=gloo-system"}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(60 * time.Second)
	for listening := false; !listening; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve exited before listening")
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Errorf("not a JSON log line: %q", l)
				continue
			}
			if strings.Contains(l, "data directory") || strings.Contains(l, "HOME") {
				t.Errorf("Kubernetes mode logs a data directory: %s", l)
			}
			listening = rec["msg"] == "gateway listening"
		case <-timeout:
			t.Fatal("serve did not listen within 60s")
		}
	}
}
