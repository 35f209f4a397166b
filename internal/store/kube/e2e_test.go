package kube_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/yaml"

	"github.com/lambdagate/lambdagate/internal/locallambda"
	"github.com/lambdagate/lambdagate/internal/server"
	"github.com/lambdagate/lambdagate/internal/store/kube"
)

// The walkthrough's curl body; the echo function returns it, so the
// gateway answers with its statusCode.
const walkthroughBody = `{"body": "gloo edge is inserting this body", "headers": {"test-header-key": "test-header-value"}, "statusCode": 201}`

// replica is one in-process gateway on its own Kubernetes store, as one
// pod of the Deployment would be.
type replica struct {
	id     string
	st     *kube.Store
	srv    *server.Server
	cancel context.CancelFunc
	done   chan error
	URL    string
	Admin  string
}

func startReplica(t *testing.T, id string, lambdaURL *url.URL) *replica {
	t.Helper()
	return startReplicaIn(t, id, "gloo-system", lambdaURL)
}

// startReplicaIn is startReplica with the discovery Lease in leaseNS.
func startReplicaIn(t *testing.T, id, leaseNS string, lambdaURL *url.URL) *replica {
	t.Helper()
	st := newStore(t, kube.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	log := slog.New(slog.NewTextHandler(&testWriter{t: t, prefix: id}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := server.New(server.Config{
		HTTPAddr:          "127.0.0.1:0",
		AdminAddr:         "127.0.0.1:0",
		LocalLambda:       lambdaURL,
		DiscoveryInterval: 300 * time.Millisecond,
		ShutdownGrace:     2 * time.Second,
		Logger:            log,
		DiscoveryGate: st.LeaderGate(kube.ElectionOptions{
			Namespace: leaseNS, Identity: id,
			LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond,
		}),
	}, st)
	ls, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{id: id, st: st, srv: srv, cancel: cancel, done: make(chan error, 1),
		URL: "http://" + srv.HTTPListenAddr.String(), Admin: "http://" + srv.AdminListenAddr.String()}
	go func() { r.done <- srv.Run(ctx, ls) }()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
	}
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.prefix, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// kubectl runs the kubectl built with kube-apiserver against envtest.
func kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := kubectlErr(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func kubectlErr(stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(assetsDir, "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// curl is the walkthrough's curl to url (base URL and path).
func curl(url, host string) (int, string, error) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(walkthroughBody))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if host != "" {
		req.Host = host
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// want201 checks the walkthrough's curl to base+path gives 201 and the
// function's body.
func want201(base, path string) error {
	code, body, err := curl(base+path, "")
	if err != nil {
		return err
	}
	if code != http.StatusCreated || body != "gloo edge is inserting this body" {
		return fmt.Errorf("status %d body %q", code, body)
	}
	return nil
}

func ready(admin string) (bool, string) {
	resp, err := http.Get(admin + "/readyz")
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK, string(b)
}

func leaseHolder(st *kube.Store) string {
	return leaseHolderIn(st, "gloo-system")
}

func leaseHolderIn(st *kube.Store, ns string) string {
	l, err := st.Clientset().CoordinationV1().Leases(ns).Get(context.Background(), "lambdagate-discovery", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func buildLambdagate(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lambdagate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/lambdagate")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building lambdagate: %v\n%s", err, out)
	}
	return bin
}

// TestWalkthroughOnKubernetes is the walkthrough against a real API server:
// the CLI and kubectl write the resources, two gateway replicas serve
// them, one at a time discovers functions, and an API server restart
// leaves traffic flowing.
func TestWalkthroughOnKubernetes(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is required for the walkthrough's Node.js echo function and was not found on PATH; run scripts/setup.sh")
	}
	ctx := context.Background()
	admin := newStore(t, kube.Options{})
	if _, err := admin.Clientset().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gloo-system"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	ll, err := locallambda.New(locallambda.Options{Dir: filepath.Join(repoRoot, "examples", "functions"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ll.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ll.Serve(ln) }()
	lambdaURL := &url.URL{Scheme: "http", Host: ln.Addr().String()}

	a := startReplica(t, "replica-a", lambdaURL)
	b := startReplica(t, "replica-b", lambdaURL)

	// Step 2 with the lambdagate CLI against the cluster (--store=kubernetes,
	// --kubeconfig): the same verbs as with the embedded store.
	bin := buildLambdagate(t)
	cli := exec.Command(bin, "--store=kubernetes", "--kubeconfig", kubeconfig, "create", "secret", "aws",
		"--name", "aws-creds", "--namespace", "gloo-system", "--access-key", "$ACCESS_KEY", "--secret-key", "$SECRET_KEY")
	if out, err := cli.CombinedOutput(); err != nil || !strings.Contains(string(out), "aws-creds") {
		t.Fatalf("lambdagate create secret aws: %v\n%s", err, out)
	}

	// Step 3: the walkthrough's manifests, unchanged, with kubectl.
	e2eData := filepath.Join(repoRoot, "test", "e2e", "testdata")
	kubectl(t, "", "apply", "-f", filepath.Join(e2eData, "upstream.yaml"))
	kubectl(t, "", "apply", "-f", filepath.Join(e2eData, "vs-apigateway.yaml"))

	t.Run("discovery fills lambdaFunctions", func(t *testing.T) {
		eventually(t, 30*time.Second, func() error {
			out, _ := kubectlErr("", "get", "upstream", "-n", "gloo-system", "aws-upstream", "-o", "yaml")
			if !strings.Contains(out, "lambdaFunctionName: echo") || !strings.Contains(out, "state: Accepted") {
				return fmt.Errorf("not discovered yet:\n%s", out)
			}
			return nil
		})
		// The CLI reads the same object.
		out, err := exec.Command(bin, "--store=kubernetes", "--kubeconfig", kubeconfig, "get", "upstream", "-n", "gloo-system", "aws-upstream", "-o", "yaml").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "lambdaFunctionName: echo") {
			t.Fatalf("lambdagate get upstream: %v\n%s", err, out)
		}
	})

	t.Run("both replicas serve the walkthrough's curl", func(t *testing.T) {
		for _, r := range []*replica{a, b} {
			eventually(t, 20*time.Second, func() error { return want201(r.URL, "/") })
		}
		eventually(t, 10*time.Second, func() error {
			out, _ := kubectlErr("", "get", "vs", "-n", "gloo-system", "aws-route", "-o", "yaml")
			if !strings.Contains(out, "state: Accepted") {
				return fmt.Errorf("vs not accepted:\n%s", out)
			}
			return nil
		})
	})

	t.Run("rejected virtual service shows its reason", func(t *testing.T) {
		// A domain listed twice is a fatal validation error: the whole
		// virtual service is Rejected.
		bad := `apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata:
  name: bad-route
  namespace: gloo-system
spec:
  virtualHost:
    domains:
    - bad.example.com
    - BAD.example.com
    routes:
    - matchers:
      - prefix: /
      routeAction:
        single:
          upstream:
            name: aws-upstream
            namespace: gloo-system
`
		kubectl(t, bad, "apply", "-f", "-")
		eventually(t, 20*time.Second, func() error {
			out, _ := kubectlErr("", "get", "vs", "-n", "gloo-system", "bad-route", "-o", "yaml")
			var vs struct {
				Status struct{ State, Reason string }
			}
			if err := yaml.Unmarshal([]byte(out), &vs); err != nil {
				return fmt.Errorf("%v:\n%s", err, out)
			}
			if vs.Status.State != "Rejected" || !strings.Contains(vs.Status.Reason, `duplicate value "BAD.example.com"`) {
				return fmt.Errorf("no rejection yet:\n%s", out)
			}
			return nil
		})
		// The good one keeps serving.
		if err := want201(a.URL, "/"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("API server restart", func(t *testing.T) {
		apiserver := testEnv.ControlPlane.GetAPIServer()
		// kube-apiserver drains for longer than its StopTimeout (set in
		// TestMain), after which envtest kills it: a crash, which is as
		// good a restart as a graceful one.
		if err := apiserver.Stop(); err != nil && !strings.Contains(err.Error(), "timeout waiting for process") {
			t.Fatalf("stopping kube-apiserver: %v", err)
		}
		restarted := false
		defer func() {
			if !restarted {
				_ = apiserver.Start()
			}
		}()
		// Traffic keeps flowing from the last snapshot; readiness says why.
		for _, r := range []*replica{a, b} {
			eventually(t, 20*time.Second, func() error {
				if ok, why := ready(r.Admin); ok || !strings.Contains(why, "store unavailable") {
					return fmt.Errorf("%s still ready: %s", r.id, why)
				}
				return nil
			})
			if err := want201(r.URL, "/"); err != nil {
				t.Fatalf("%s while the API server is down: %v", r.id, err)
			}
		}
		if err := apiserver.Start(); err != nil {
			t.Fatalf("restarting kube-apiserver: %v", err)
		}
		restarted = true
		for _, r := range []*replica{a, b} {
			eventually(t, 60*time.Second, func() error {
				if ok, why := ready(r.Admin); !ok {
					return fmt.Errorf("%s not ready: %s", r.id, why)
				}
				return nil
			})
		}
		// Resynced: a change made after the restart reaches both replicas.
		kubectl(t, strings.ReplaceAll(mustRead(t, filepath.Join(e2eData, "vs-apigateway.yaml")), "exact: /", "exact: /after-restart"), "apply", "-f", "-")
		for _, r := range []*replica{a, b} {
			eventually(t, 30*time.Second, func() error { return want201(r.URL, "/after-restart") })
		}
	})

	t.Run("killing the leader moves discovery", func(t *testing.T) {
		var leader, other *replica
		eventually(t, 20*time.Second, func() error {
			switch leaseHolder(admin) {
			case a.id:
				leader, other = a, b
			case b.id:
				leader, other = b, a
			default:
				return errors.New("no leader")
			}
			return nil
		})
		leader.stop()
		eventually(t, 20*time.Second, func() error {
			if h := leaseHolder(admin); h != other.id {
				return fmt.Errorf("lease held by %q", h)
			}
			return nil
		})
		// Only the remaining replica can discover this new upstream.
		up := strings.ReplaceAll(mustRead(t, filepath.Join(e2eData, "upstream.yaml")), "name: aws-upstream", "name: aws-upstream-2")
		kubectl(t, up, "apply", "-f", "-")
		eventually(t, 30*time.Second, func() error {
			out, _ := kubectlErr("", "get", "us", "-n", "gloo-system", "aws-upstream-2", "-o", "yaml")
			if !strings.Contains(out, "lambdaFunctionName: echo") {
				return fmt.Errorf("not discovered by %s:\n%s", other.id, out)
			}
			return nil
		})
		if err := want201(other.URL, "/after-restart"); err != nil {
			t.Fatal(err)
		}
	})
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(b)) + "\n"
}
