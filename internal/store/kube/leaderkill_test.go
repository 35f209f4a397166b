package kube_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lambdagate/lambdagate/internal/locallambda"
	"github.com/lambdagate/lambdagate/internal/store/kube"
)

// TestKilledLeaderLeaseExpires kills the discovery leader hard: a real
// "lambdagate serve --store=kubernetes" process gets SIGKILL, so it never
// releases the Lease (TestWalkthroughOnKubernetes covers the graceful stop
// that does). The other replica must wait for the Lease to expire, then
// take it and discover a new upstream's functions.
func TestKilledLeaderLeaseExpires(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is required for the Node.js echo function that discovery lists and was not found on PATH; run scripts/setup.sh")
	}
	const (
		// A namespace of its own, so the walkthrough's Lease in
		// gloo-system does not matter.
		leaseNS       = "lease-hardkill"
		leaseName     = "lambdagate-discovery"
		leaseDuration = 3 * time.Second
	)
	ctx := context.Background()
	admin := newStore(t, kube.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, ns := range []string{"gloo-system", leaseNS} {
		if _, err := admin.Clientset().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	getLease := func() (*coordinationv1.Lease, error) {
		return admin.Clientset().CoordinationV1().Leases(leaseNS).Get(ctx, leaseName, metav1.GetOptions{})
	}

	bin := buildLambdagate(t)
	if out, err := exec.Command(bin, "--store=kubernetes", "--kubeconfig", kubeconfig, "create", "secret", "aws",
		"--name", "hardkill-creds", "--namespace", "gloo-system", "--access-key", "$ACCESS_KEY", "--secret-key", "$SECRET_KEY").CombinedOutput(); err != nil {
		t.Fatalf("lambdagate create secret aws: %v\n%s", err, out)
	}
	upstreamTmpl := mustRead(t, filepath.Join(repoRoot, "test", "e2e", "testdata", "upstream.yaml"))
	applyUpstream := func(name string) {
		t.Helper()
		up := strings.ReplaceAll(upstreamTmpl, "name: aws-upstream", "name: "+name)
		kubectl(t, strings.ReplaceAll(up, "name: aws-creds", "name: hardkill-creds"), "apply", "-f", "-")
	}
	discovered := func(name string) error {
		out, _ := kubectlErr("", "get", "us", "-n", "gloo-system", name, "-o", "yaml")
		if !strings.Contains(out, "lambdaFunctionName: echo") {
			return fmt.Errorf("%s not discovered:\n%s", name, out)
		}
		return nil
	}

	// The leader: the real binary, with its own local Lambda and short
	// Lease timings from the --leader-* flags. POD_NAME is the prefix of
	// its identity (LeaderGate appends a random suffix).
	logPath := filepath.Join(t.TempDir(), "leader.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	proc := exec.Command(bin, "serve", "--store=kubernetes", "--kubeconfig", kubeconfig, "--data-dir", t.TempDir(),
		"--local-lambda", filepath.Join(repoRoot, "examples", "functions"), "--local-lambda-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--https-addr", "", "--access-log", "off",
		"--discovery-interval", "300ms",
		"--leader-lease-duration", leaseDuration.String(), "--leader-renew-deadline", "2s", "--leader-retry-period", "500ms")
	proc.Env = append(os.Environ(), "POD_NAMESPACE="+leaseNS, "POD_NAME=killed-leader")
	// Files, not pipes: Wait then never waits on a descendant holding them.
	proc.Stdout, proc.Stderr = logFile, logFile
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()
	t.Cleanup(func() {
		_ = proc.Process.Kill()
		<-exited
	})
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("leader process output:\n%s", b)
		}
	}()

	var leaderID string
	eventually(t, 30*time.Second, func() error {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("the leader process exited: %v", err)
		default:
		}
		if h := leaseHolderIn(admin, leaseNS); strings.HasPrefix(h, "killed-leader_") {
			leaderID = h
			return nil
		}
		return errors.New("the process does not hold the Lease yet")
	})
	// Only the process runs yet, so this proves it is the one discovering.
	applyUpstream("hardkill-before")
	eventually(t, 30*time.Second, func() error { return discovered("hardkill-before") })

	// The survivor: an in-process replica standing for the same Lease.
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
	survivor := startReplicaIn(t, "survivor", leaseNS, &url.URL{Scheme: "http", Host: ln.Addr().String()})
	// It has seen the lease (several retry periods) and not taken it.
	time.Sleep(time.Second)
	if h := leaseHolderIn(admin, leaseNS); h != leaderID {
		t.Fatalf("lease held by %q before the kill, want the process %q", h, leaderID)
	}

	if err := proc.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	err = <-exited
	exited <- err
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 || !strings.Contains(ee.Error(), "killed") {
		t.Fatalf("the leader process did not die by SIGKILL: %v", err)
	}
	// Not released: a graceful stop would have cleared holderIdentity.
	l, err := getLease()
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != leaderID || l.Spec.RenewTime == nil {
		t.Fatalf("after SIGKILL the lease is held by %q (renewTime %v), want it still held by %q", leaseHolderIn(admin, leaseNS), l.Spec.RenewTime, leaderID)
	}
	lastRenew := l.Spec.RenewTime.Time

	// Taken over within the lease duration plus a generous margin.
	eventually(t, leaseDuration+15*time.Second, func() error {
		if h := leaseHolderIn(admin, leaseNS); h != survivor.id {
			return fmt.Errorf("lease held by %q", h)
		}
		return nil
	})
	took := time.Since(killedAt)
	if l, err = getLease(); err != nil {
		t.Fatal(err)
	}
	// client-go only takes a lease it has seen unchanged for its whole
	// duration. It compares records with their times in whole seconds, so
	// "unchanged" starts at the first renewal within the dead leader's last
	// renewal second: the takeover cannot come before that second plus the
	// lease duration (less 1ms for microsecond rounding). A released lease
	// would be taken within a retry period.
	if l.Spec.AcquireTime == nil {
		t.Fatalf("lease held by %q has no acquireTime", leaseHolderIn(admin, leaseNS))
	}
	if earliest := lastRenew.Truncate(time.Second).Add(leaseDuration - time.Millisecond); l.Spec.AcquireTime.Time.Before(earliest) {
		t.Fatalf("survivor acquired the lease at %s, %s after the dead leader's last renewal at %s: before it expired (%s)",
			l.Spec.AcquireTime.Format(time.StampMicro), l.Spec.AcquireTime.Sub(lastRenew), lastRenew.Format(time.StampMicro), leaseDuration)
	}
	t.Logf("SIGKILL to takeover: %s; last renewal to takeover: %s (lease duration %s)", took.Round(time.Millisecond), l.Spec.AcquireTime.Sub(lastRenew).Round(time.Millisecond), leaseDuration)

	// Only the survivor runs now, so only it can discover this one.
	applyUpstream("hardkill-after")
	eventually(t, 30*time.Second, func() error { return discovered("hardkill-after") })
}
