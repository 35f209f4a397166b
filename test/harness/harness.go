// Package harness is what the end-to-end suites (test/e2e, test/dataplane,
// test/chaos) share: the lambdagate binary built once per test binary,
// "lambdagate serve" started and stopped on loopback, CLI commands against
// its data dir, a Lambda Invoke API stub that verifies SigV4 signatures
// with the AWS SDK signer, and builders for the manifests the tests apply.
package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Binary is the lambdagate binary that Start and CLI run. Main builds it
// unless the caller set it first (to test a binary built elsewhere).
var Binary string

// Poll is how long Eventually sleeps between tries; 50ms unless a suite
// sets it in TestMain.
var Poll = 50 * time.Millisecond

// Build compiles cmd/lambdagate into dir and returns the binary's path.
// The compiler's output goes to this process's stdout and stderr.
func Build(dir string) (string, error) {
	path := filepath.Join(dir, "lambdagate")
	cmd := exec.Command("go", "build", "-o", path, "github.com/lambdagate/lambdagate/cmd/lambdagate")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building lambdagate: %w", err)
	}
	return path, nil
}

// Main is a TestMain body: it builds Binary into a temporary directory
// (unless Binary is set), runs the tests, removes the directory and exits.
// after, when not nil, runs last and may turn the exit code into a failure.
func Main(m *testing.M, after func(code int) int) {
	dir, err := os.MkdirTemp("", "lambdagate-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if Binary == "" {
		if Binary, err = Build(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	if after != nil {
		code = after(code)
	}
	os.Exit(code)
}

// Eventually retries f every Poll until it returns nil, and fails the test
// with f's last error once timeout has passed.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
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
		time.Sleep(Poll)
	}
}

// LockedBuffer is a bytes.Buffer safe for concurrent writers, so a child's
// stdout and stderr can share one.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
