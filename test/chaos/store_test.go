package chaos

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
	_ "modernc.org/sqlite" // the helper opens the store file as another process would
)

// helperEnv makes the test binary a helper process that damages the
// store: "lock PATH" holds a write transaction until stdin closes;
// "corrupt PATH KIND NS NAME" overwrites a resource's JSON with garbage.
const helperEnv = "CHAOS_STORE_HELPER"

func runHelper(spec string) int {
	f := strings.Fields(spec)
	if len(f) < 2 {
		fmt.Fprintln(os.Stderr, "helper: bad spec", spec)
		return 2
	}
	if f[0] == "maxrss" && len(f) >= 3 {
		// Runs "lambdagate DATADIR ARGS..." and prints its peak RSS: the
		// rusage of a child started from this small process is the
		// child's own (a child of the big test process would report the
		// test's high-water mark, inherited across fork).
		cmd := exec.Command(f[1], f[3:]...)
		cmd.Env = append(os.Environ(), "LAMBDAGATE_DATA_DIR="+f[2])
		out, err := cmd.CombinedOutput()
		fmt.Printf("%d\n%v\n%s", maxRSS(cmd.ProcessState), err, out)
		return 0
	}
	db, err := sql.Open("sqlite", "file:"+f[1]+"?_pragma=busy_timeout(10000)")
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	switch f[0] {
	case "lock":
		// BEGIN EXCLUSIVE plus a write: every other writer waits for the
		// lock, as with a stuck sqlite3 shell.
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			fmt.Fprintln(os.Stderr, "helper: begin:", err)
			return 1
		}
		if _, err := conn.ExecContext(ctx, "UPDATE revision SET rev = rev WHERE id = 1"); err != nil {
			fmt.Fprintln(os.Stderr, "helper: write:", err)
			return 1
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin)
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
		return 0
	case "corrupt":
		if len(f) != 5 {
			return 2
		}
		res, err := conn.ExecContext(ctx, "UPDATE resources SET spec_json = ? WHERE kind = ? AND namespace = ? AND name = ?",
			`{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "spec": {"virtualHost": {`, f[2], f[3], f[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper: corrupt:", err)
			return 1
		}
		if n, _ := res.RowsAffected(); n != 1 {
			fmt.Fprintln(os.Stderr, "helper: no such row")
			return 1
		}
		fmt.Println("corrupted")
		return 0
	}
	fmt.Fprintln(os.Stderr, "helper: unknown", f[0])
	return 2
}

// helper starts the test binary as a store-fault helper.
func helper(t testing.TB, spec string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+spec)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd, stdin, bufio.NewReader(stdout)
}

// storePlane is a gateway serving /good from a stub, with a second
// virtual service the tests damage.
type storePlane struct {
	g    *harness.Gateway
	stub *harness.LambdaStub
}

func setupStorePlane(t *testing.T) *storePlane {
	stub := harness.NewLambdaStub(t)
	stub.Accept(chaosKeyID, chaosSecret, chaosToken)
	stub.On("good-fn", harness.LambdaOK(`{"good":true}`))
	g := startGateway(t, harness.Options{})
	g.Apply(t,
		harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "good-fn", Name: "good-fn"}}, nil),
		harness.VirtualService("keep", []string{"*"}, nil, harness.Route{Exact: "/good", Upstream: "up", AWS: harness.Dest("good-fn")}),
	)
	if st, why := g.WaitState(t, "vs", harness.Namespace, "keep", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("virtual service keep: %s: %s", st, why)
	}
	return &storePlane{g: g, stub: stub}
}

func (p *storePlane) serving(t testing.TB) {
	t.Helper()
	resp := harness.Do(t, "GET", p.g.URL+"/good", nil, nil)
	if resp.StatusCode != 200 || string(resp.Body) != `{"good":true}` {
		t.Errorf("the last good route no longer serves: %d %s", resp.StatusCode, resp.Body)
	}
}

// TestStoreLocked: another process holds the store's write lock. The
// gateway keeps serving (WAL readers never wait), a CLI write fails after
// the busy timeout with a message naming the lock, status writes wait, and
// everything recovers when the lock goes.
func TestStoreLocked(t *testing.T) {
	t.Parallel()
	p := setupStorePlane(t)
	db := filepath.Join(p.g.DataDir, "lambdagate.db")
	cmd, stdin, out := helper(t, "lock "+db)
	line, err := out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("the lock helper did not take the lock: %q %v", line, err)
	}
	for range 20 {
		p.serving(t)
	}
	code, body, err := p.g.Readyz()
	record(t, "while locked: 20/20 requests served, /readyz %d %q (err %v)", code, body, err)

	start := time.Now()
	msg, err := p.g.Run(harness.Manifests(t, harness.VirtualService("added", []string{"added.example.com"}, nil,
		harness.Route{Exact: "/added", Upstream: "up", AWS: harness.Dest("good-fn")})), "apply", "-f", "-")
	took := time.Since(start)
	record(t, "apply while locked: failed=%v after %s: %s", err != nil, took.Round(100*time.Millisecond), firstLine(msg))
	if err == nil {
		t.Errorf("apply succeeded while another process held the write lock")
	} else if !strings.Contains(msg, "locked") {
		t.Errorf("the apply error does not say the store is locked: %s", msg)
	}

	stdin.Close() // the helper rolls back and exits
	_ = cmd.Wait()
	p.g.Apply(t, harness.VirtualService("added", []string{"added.example.com"}, nil, harness.Route{Exact: "/added", Upstream: "up", AWS: harness.Dest("good-fn")}))
	st, _ := p.g.WaitState(t, "vs", harness.Namespace, "added", "Accepted", "Warning", "Rejected")
	code, body, _ = p.g.Readyz()
	record(t, "after the lock went: apply works, new VS %s, /readyz %d %q", st, code, body)
	if st != "Accepted" || code != 200 {
		t.Errorf("no recovery after the lock went: VS %s, /readyz %d %s", st, code, body)
	}
	p.serving(t)
}

// TestStoreReadOnly: the database file made read-only (chmod 0400) while
// the gateway runs.
func TestStoreReadOnly(t *testing.T) {
	t.Parallel()
	p := setupStorePlane(t)
	db := filepath.Join(p.g.DataDir, "lambdagate.db")
	if err := os.Chmod(db, 0o400); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		p.serving(t)
	}
	code, body, _ := p.g.Readyz()
	msg, err := p.g.Run(harness.Manifests(t, harness.VirtualService("added", []string{"added.example.com"}, nil,
		harness.Route{Exact: "/added", Upstream: "up", AWS: harness.Dest("good-fn")})), "apply", "-f", "-")
	root := os.Geteuid() == 0
	record(t, "file mode 0400 while serving: 20/20 requests served, /readyz %d %q; apply failed=%v (running as root=%v, which ignores file modes): %s",
		code, body, err != nil, root, firstLine(msg))
	if code != 200 {
		t.Errorf("/readyz %d %q: the gateway still reads its store", code, body)
	}
	if !root && err == nil {
		t.Errorf("apply succeeded on a read-only store")
	}
	if err := os.Chmod(db, 0o600); err != nil {
		t.Fatal(err)
	}
	p.g.Apply(t, harness.VirtualService("added2", []string{"added2.example.com"}, nil, harness.Route{Exact: "/added", Upstream: "up", AWS: harness.Dest("good-fn")}))
	if st, why := p.g.WaitState(t, "vs", harness.Namespace, "added2", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Errorf("after chmod 0600: %s %s", st, why)
	}
	p.serving(t)
}

// TestStoreCorruptRecord: a virtual service's row holds JSON that cannot
// be decoded. The gateway must keep serving the last good version of it,
// say what is wrong (log and readiness), and take the repaired version.
func TestStoreCorruptRecord(t *testing.T) {
	t.Parallel()
	p := setupStorePlane(t)
	db := filepath.Join(p.g.DataDir, "lambdagate.db")
	cmd, _, out := helper(t, "corrupt "+db+" VirtualService "+harness.Namespace+" keep")
	line, _ := out.ReadString('\n')
	_ = cmd.Wait()
	if strings.TrimSpace(line) != "corrupted" {
		t.Fatalf("the corrupt helper failed: %q", line)
	}
	// Any change makes the gateway re-read the store.
	p.g.Apply(t, harness.AWSSecret("unrelated", "AKIDUNRELATED00000", "x", ""))
	time.Sleep(time.Second) // a rebuild is debounced; there is no status to wait for
	resp := harness.Do(t, "GET", p.g.URL+"/good", nil, nil)
	code, body, _ := p.g.Readyz()
	logged := strings.Contains(p.g.Logs.String(), "corrupt resource record")
	getOut, _ := p.g.Run("", "get", "vs", "-n", harness.Namespace)
	record(t, "after corrupting VirtualService keep: /good %d, /readyz %d %q, logged=%v, get says %q",
		resp.StatusCode, code, body, logged, lastLine(getOut))
	if resp.StatusCode != 200 {
		t.Errorf("a corrupt record took its route away (%d %s): the gateway must keep serving the last good version of the resource", resp.StatusCode, resp.Body)
	}
	if !logged {
		t.Errorf("the gateway did not log the corrupt record")
	}
	if code == 200 {
		t.Errorf("/readyz says %q while a resource cannot be read", body)
	}
	// Repair: the error message says to update the resource without a
	// resourceVersion, which is what apply does.
	good := harness.Manifests(t, harness.VirtualService("keep", []string{"*"}, nil, harness.Route{Exact: "/good", Upstream: "up", AWS: harness.Dest("good-fn")}))
	if msg, err := p.g.Run(good, "apply", "-f", "-"); err != nil {
		record(t, "apply over the corrupt record fails: %s", lastLine(msg))
		t.Errorf("apply cannot repair a corrupt record, although the store's message says an update without resourceVersion repairs it: %s", msg)
		if msg, err := p.g.Run("", "delete", "vs", "keep", "-n", harness.Namespace); err != nil {
			t.Fatalf("delete of the corrupt record: %v %s", err, msg)
		}
		p.g.Apply(t, harness.VirtualService("keep", []string{"*"}, nil, harness.Route{Exact: "/good", Upstream: "up", AWS: harness.Dest("good-fn")}))
		record(t, "delete then apply repairs it")
	}
	p.g.WaitState(t, "vs", harness.Namespace, "keep", "Accepted")
	harness.Eventually(t, 10*time.Second, func() error {
		if c, b, _ := p.g.Readyz(); c != 200 {
			return fmt.Errorf("/readyz %d %s", c, b)
		}
		return nil
	})
	p.serving(t)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// measuredRun runs the lambdagate CLI through the helper and returns its
// peak RSS in KiB, its output and whether it failed.
func measuredRun(t testing.TB, dataDir string, args ...string) (int64, string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=maxrss "+harness.Binary+" "+dataDir+" "+strings.Join(args, " "))
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("the maxrss helper: %v", err)
	}
	rssLine, rest, _ := strings.Cut(string(b), "\n")
	errLine, out, _ := strings.Cut(rest, "\n")
	keepOutput(&harness.LockedBuffer{}).Write([]byte(out))
	var rss int64
	fmt.Sscan(rssLine, &rss)
	var runErr error
	if errLine != "<nil>" {
		runErr = fmt.Errorf("%s", errLine)
	}
	return rss, out, runErr
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// TestStoreImmutable: the database made truly read-only as root, where
// file modes do not stop writes: chattr +i on the database and its WAL. The
// gateway keeps serving, writes fail with a clear error, and everything
// recovers once the attribute is gone. As non-root TestStoreReadOnly covers
// the case with file modes.
func TestStoreImmutable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chattr +i needs root; TestStoreReadOnly covers non-root with file modes")
	}
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Fatalf("chattr (e2fsprogs) not found: it is needed to make the store read-only as root")
	}
	t.Parallel()
	p := setupStorePlane(t)
	files := []string{filepath.Join(p.g.DataDir, "lambdagate.db"), filepath.Join(p.g.DataDir, "lambdagate.db-wal")}
	set := func(flag string) error {
		for _, f := range files {
			if out, err := exec.Command(chattr, flag, f).CombinedOutput(); err != nil {
				return fmt.Errorf("chattr %s %s: %v: %s", flag, f, err, out)
			}
		}
		return nil
	}
	if err := set("+i"); err != nil {
		t.Fatalf("%v (the filesystem may not support immutable files)", err)
	}
	t.Cleanup(func() { _ = set("-i") })
	for range 20 {
		p.serving(t)
	}
	msg, err := p.g.Run(harness.Manifests(t, harness.VirtualService("ro-added", []string{"ro-added.example.com"}, nil,
		harness.Route{Exact: "/added", Upstream: "up", AWS: harness.Dest("good-fn")})), "apply", "-f", "-")
	code, body, _ := p.g.Readyz()
	record(t, "immutable store (chattr +i, as root): 20/20 requests served, apply failed=%v: %s; /readyz %d %q",
		err != nil, firstLine(msg), code, body)
	if err == nil {
		t.Errorf("apply succeeded on an immutable store")
	} else if !strings.Contains(msg, "Error:") {
		t.Errorf("apply on an immutable store: want a clear Error: line, got %q", msg)
	}
	p.serving(t)
	if err := set("-i"); err != nil {
		t.Fatal(err)
	}
	p.g.Apply(t, harness.VirtualService("ro-added2", []string{"ro-added2.example.com"}, nil, harness.Route{Exact: "/added", Upstream: "up", AWS: harness.Dest("good-fn")}))
	if st, why := p.g.WaitState(t, "vs", harness.Namespace, "ro-added2", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Errorf("after chattr -i: %s %s", st, why)
	}
	p.serving(t)
}

// TestStoreEmptyFile: an existing zero-length lambdagate.db (truncated, or
// emptied by a bad copy) is not a new store: serve and the CLI refuse it,
// naming the file and the fix, and leave it as it is.
func TestStoreEmptyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "lambdagate.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, harness.Binary, "serve", "--http-addr", "127.0.0.1:0", "--https-addr", "", "--admin-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "LAMBDAGATE_DATA_DIR="+dir)
	out, err := cmd.CombinedOutput()
	record(t, "serve on an empty lambdagate.db: exit error %v after %s: %s", err, time.Since(start).Round(time.Millisecond), lastLine(string(out)))
	if err == nil || ctx.Err() != nil {
		t.Fatalf("serve did not refuse the empty store (exit %v, timed out %v): %s", err, ctx.Err() != nil, out)
	}
	for _, want := range []string{db, "empty", "restore it from a backup, or delete it"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("serve's error does not say %q: %s", want, out)
		}
	}
	msg, err := harness.CLI(dir, "", "get", "virtualservices")
	if err == nil || !strings.Contains(msg, db) {
		t.Errorf("get on the empty store: %v %s", err, msg)
	}
	if fi, err := os.Stat(db); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file was changed: %v", err)
	}
}
