package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// helperEnv names the database file when the test binary runs as the writer
// child of TestKill9.
const helperEnv = "LAMBDAGATE_STORE_HELPER_DB"

// TestHelperWriter is not a test: TestKill9 runs the test binary with this
// test selected as a writer process. It creates resources and bumps a
// counter in a loop, printing each write after its commit returned.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("only runs as the writer child of TestKill9")
	}
	round := os.Getenv("LAMBDAGATE_STORE_HELPER_ROUND")
	ctx := context.Background()
	s, err := Open(path, WithLogger(quiet))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := s.Create(ctx, upstream("", "counter", "us-east-1")); err != nil && !store.IsAlreadyExists(err) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Bounded so an orphaned child stops by itself.
	for i := range 100000 {
		name := fmt.Sprintf("r%s-%d", round, i)
		c, err := s.Create(ctx, upstream("", name, "us-east-1"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// One write(2) per line, so a kill leaves no half line that parses.
		fmt.Fprintf(os.Stdout, "C %s %s\n", name, c.GetMetadata().ResourceVersion)

		o, err := s.Get(ctx, resource.KindUpstream, "", "counter")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		n, _ := strconv.Atoi(o.GetMetadata().Annotations["n"])
		o.GetMetadata().Annotations = map[string]string{"n": strconv.Itoa(n + 1)}
		u, err := s.Update(ctx, o)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stdout, "U %d %s\n", n+1, u.GetMetadata().ResourceVersion)
	}
	s.Close()
}

// TestKill9 kills a writer process with SIGKILL at random moments and
// checks that the file stays intact and every write the writer saw commit
// is there.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	path := dbPath(t)
	created := map[string]string{} // name -> resourceVersion the writer saw
	lastCount := 0
	const rounds = 6
	for round := range rounds {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+path, "LAMBDAGATE_STORE_HELPER_ROUND="+strconv.Itoa(round))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			r := bufio.NewReader(out)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return // a line cut by the kill is not a reported commit
				}
				lines <- strings.TrimSuffix(l, "\n")
			}
		}()
		// Let it write for a while after its first commit, then kill it.
		first, ok := <-lines
		if !ok {
			cancel()
			cmd.Wait()
			t.Fatalf("round %d: the writer reported nothing; stderr: %s", round, stderr.String())
		}
		time.Sleep(time.Duration(rng.IntN(150)+5) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		reported := []string{first}
		for l := range lines {
			reported = append(reported, l)
		}
		werr := cmd.Wait()
		cancel()
		if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); !ok || !ws.Signaled() {
			t.Fatalf("round %d: the writer was not killed (%v); stderr: %s", round, werr, stderr.String())
		}
		for _, l := range reported {
			f := strings.Fields(l)
			switch {
			case len(f) == 3 && f[0] == "C":
				created[f[1]] = f[2]
			case len(f) == 3 && f[0] == "U":
				lastCount, _ = strconv.Atoi(f[1])
			}
		}
		verifyAfterCrash(t, round, path, created, lastCount)
		t.Logf("round %d: killed after %d reported writes", round, len(reported))
	}
}

func verifyAfterCrash(t *testing.T, round int, path string, created map[string]string, lastCount int) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(path, WithLogger(quiet))
	if err != nil {
		t.Fatalf("round %d: reopening after kill -9: %v", round, err)
	}
	defer s.Close()
	var check string
	if err := s.rdb.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
	}
	list, err := s.List(ctx, resource.KindUpstream, "")
	if err != nil {
		t.Fatalf("round %d: List: %v", round, err)
	}
	byName := map[string]resource.Object{}
	for _, o := range list {
		byName[o.GetMetadata().Name] = o
	}
	for name, rv := range created {
		o, ok := byName[name]
		if !ok {
			t.Fatalf("round %d: %s was reported committed but is missing", round, name)
		}
		if o.GetMetadata().ResourceVersion != rv {
			t.Errorf("round %d: %s has resourceVersion %s, the writer saw %s", round, name, o.GetMetadata().ResourceVersion, rv)
		}
	}
	// The counter may be one ahead of the last report (committed, killed
	// before printing), never behind.
	n, _ := strconv.Atoi(byName["counter"].GetMetadata().Annotations["n"])
	if n < lastCount || n > lastCount+1 {
		t.Errorf("round %d: counter = %d, the writer last reported %d", round, n, lastCount)
	}
	if s.CorruptRows() != 0 {
		t.Errorf("round %d: %d corrupt rows", round, s.CorruptRows())
	}
}
