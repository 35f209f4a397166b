package cli

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/datadir"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the expected files inside testdata/script/*.txtar")

// TestMain lets the test binary act as the lambdagate command inside
// scripts, so scripts run the real CLI in a child process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"lambdagate": func() { os.Exit(Execute()) },
	})
}

// deadPID is above Linux's largest possible pid (2^22), so no process has it.
const deadPID = 1<<22 + 1

// TestScripts runs testdata/script/*.txtar. Each script gets its own data
// directory ($WORK/data) and no real AWS configuration.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("LAMBDAGATE_DATA_DIR", filepath.Join(env.WorkDir, "data"))
			// Keep the user's real ~/.aws and environment out of the tests.
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(env.WorkDir, "home", ".aws", "credentials"))
			env.Setenv("AWS_CONFIG_FILE", filepath.Join(env.WorkDir, "home", ".aws", "config"))
			env.Setenv("AWS_PROFILE", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"maskvolatile":    cmdMaskVolatile,
			"writeservestate": cmdWriteServeState,
			"discover":        cmdDiscover,
			"waitservestate":  cmdWaitServeState,
		},
	})
}

var volatileRe = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?m)^(\s*)(uid|creationTimestamp|resourceVersion): .*$`), `${1}${2}: MASKED`},
	{regexp.MustCompile(`"(uid|creationTimestamp|resourceVersion)": "[^"]*"`), `"${1}": "MASKED"`},
}

// cmdMaskVolatile rewrites FILE in place, replacing the values the store
// assigns (uid, creationTimestamp, resourceVersion) with MASKED so output
// can be compared with cmp.
func cmdMaskVolatile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: maskvolatile FILE")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	for _, v := range volatileRe {
		b = v.re.ReplaceAll(b, []byte(v.repl))
	}
	ts.Check(os.WriteFile(path, b, 0o644))
}

// cmdWriteServeState writes serve.json into $LAMBDAGATE_DATA_DIR as a
// running server would. "alive" uses the test process's pid (running for
// the whole script), "dead" one no process can have.
func cmdWriteServeState(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: writeservestate alive|dead HTTP_URL [HTTPS_URL]")
	}
	pid := os.Getpid()
	switch args[0] {
	case "alive":
	case "dead":
		pid = deadPID
	default:
		ts.Fatalf("writeservestate: first argument must be alive or dead, got %q", args[0])
	}
	s := ServeState{PID: pid, HTTPURL: args[1], AdminURL: "http://127.0.0.1:9091"}
	if len(args) == 3 {
		s.HTTPSURL = args[2]
	}
	dir := ts.Getenv("LAMBDAGATE_DATA_DIR")
	ts.Check(os.MkdirAll(dir, 0o700))
	ts.Check(WriteServeState(dir, s))
	ts.Setenv("SERVE_PID", strconv.Itoa(pid))
}

// cmdDiscover adds a function to a stored upstream's lambdaFunctions as
// discovery does: a writer other than apply.
func cmdDiscover(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: discover UPSTREAM LOGICAL_NAME")
	}
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(ts.Getenv("LAMBDAGATE_DATA_DIR"), datadir.DBFile))
	ts.Check(err)
	defer st.Close()
	obj, err := st.Get(ctx, resource.KindUpstream, "gloo-system", args[0])
	ts.Check(err)
	us := obj.(*resource.Upstream)
	us.Spec.AWS.LambdaFunctions = append(us.Spec.AWS.LambdaFunctions, gloo.LambdaFunctionSpec{LogicalName: args[1], LambdaFunctionName: args[1]})
	_, err = st.Update(ctx, us)
	ts.Check(err)
}

// cmdWaitServeState waits (at most 30 s) until a serve started in the
// background has recorded its listeners in $LAMBDAGATE_DATA_DIR.
func cmdWaitServeState(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: waitservestate")
	}
	path := ServeStatePath(ts.Getenv("LAMBDAGATE_DATA_DIR"))
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	ts.Fatalf("%s did not appear within 30s", path)
}
