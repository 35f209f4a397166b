package locallambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

const (
	// maxResponseBytes is the largest function response AWS returns for a
	// synchronous invocation.
	maxResponseBytes = 6*1024*1024 + 100
	// minInitTimeout bounds a cold start: AWS gives the init phase 10s
	// whatever the function timeout.
	minInitTimeout = 10 * time.Second
	// logKeepBytes is how much of one invocation's output is kept; Tail
	// returns the last 4 KB of it.
	logKeepBytes = 64 * 1024
	logTailBytes = 4 * 1024
	// minPollGrace is the least time an answered instance gets to ask for
	// its next invocation before it counts as stuck, even when its last
	// invocation's deadline has passed.
	minPollGrace = time.Second
)

// invocation is one request handed to an instance.
type invocation struct {
	id            string
	payload       []byte
	arn           string // invoked ARN as the runtime sees it
	version       string
	clientContext string
	traceID       string

	dispatched chan struct{} // closed when the runtime took it via /next
	deadline   time.Time     // set at dispatch
	result     chan invokeResult
	logs       *logBuffer
	once       sync.Once
	// stream is where an InvokeWithResponseStream call's output goes as
	// the function writes it; nil for Invoke.
	stream *streamSink
}

func newInvocation(payload []byte, arn, version string) *invocation {
	return &invocation{
		id:         uuid.NewString(),
		payload:    payload,
		arn:        arn,
		version:    version,
		traceID:    "Root=1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:24] + ";Sampled=0",
		dispatched: make(chan struct{}),
		result:     make(chan invokeResult, 1),
		logs:       &logBuffer{},
	}
}

func (inv *invocation) complete(r invokeResult) {
	inv.once.Do(func() { inv.result <- r })
}

// invokeResult is what an invocation produced.
type invokeResult struct {
	payload []byte
	// functionError is "" on success, else "Unhandled" (every error reported
	// through the Runtime API, and timeouts and crashes, as on AWS).
	functionError string
	errorType     string
}

func functionErrorResult(errorType, message string) invokeResult {
	b, _ := json.Marshal(map[string]string{"errorMessage": message, "errorType": errorType})
	return invokeResult{payload: b, functionError: "Unhandled", errorType: errorType}
}

// logBuffer keeps the end of one invocation's log.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > logKeepBytes {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-logKeepBytes:]...)
	}
	return len(p), nil
}

func (l *logBuffer) printf(format string, args ...any) { fmt.Fprintf(l, format, args...) }

// tailBase64 is X-Amz-Log-Result: base64 of the last 4 KB.
func (l *logBuffer) tailBase64() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return base64.StdEncoding.EncodeToString(tail(l.buf, logTailBytes))
}

// instance is one warm execution environment: a process plus the Runtime
// API endpoint it polls.
type instance struct {
	srv      *Server
	fn       *function
	version  string
	stream   string // AWS_LAMBDA_LOG_STREAM_NAME
	started  time.Time
	initDone time.Duration // time to the first /next, reported once

	cmd     *exec.Cmd
	hs      *http.Server
	out     *os.File // read end of the stdout/stderr pipe
	outDone chan struct{}

	pending chan *invocation // at most one invocation waiting for /next

	mu         sync.Mutex
	current    *invocation // dispatched, not yet answered
	sink       io.Writer   // current invocation's log
	initErr    []byte
	initFailed chan struct{}
	ready      chan struct{} // closed at the first /next
	// polled is closed when the runtime asks for its next invocation (GET
	// /next) and replaced when one is handed out; pollDeadline is the last
	// invocation's deadline.
	polled       chan struct{}
	pollClosed   bool
	pollDeadline time.Time
	readyOnce    sync.Once
	reportedInit bool

	killOnce sync.Once
	exited   chan struct{}
	exitErr  error
	broken   bool // must not be reused (timed out, crashed, init failed)
}

// startInstance launches a process for fn. The process is not waited for:
// the first invocation waits for its /next.
func (s *Server) startInstance(ctx context.Context, fn *function, version string) (*instance, error) {
	var argv []string
	switch fn.Runtime {
	case RuntimeNode:
		node, err := exec.LookPath(s.opts.NodePath)
		if err != nil {
			return nil, fmt.Errorf("finding node executable %q: %w", s.opts.NodePath, err)
		}
		argv = []string{node, s.nodeBoot}
	case RuntimeProvided:
		argv = []string{fn.Dir + "/bootstrap"}
	case RuntimeGo:
		p, err := s.goBootstrap(ctx, fn)
		if err != nil {
			return nil, err
		}
		argv = []string{p}
	default:
		return nil, fmt.Errorf("runtime %q: not supported", fn.Runtime)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for runtime api: %w", err)
	}
	now := time.Now()
	in := &instance{
		srv:        s,
		fn:         fn,
		version:    version,
		stream:     now.UTC().Format("2006/01/02") + "/[" + version + "]" + strings.ReplaceAll(uuid.NewString(), "-", ""),
		started:    now,
		pending:    make(chan *invocation, 1),
		initFailed: make(chan struct{}),
		ready:      make(chan struct{}),
		polled:     make(chan struct{}),
		exited:     make(chan struct{}),
		outDone:    make(chan struct{}),
	}
	in.hs = &http.Server{Handler: http.HandlerFunc(in.serveRuntimeAPI), ReadHeaderTimeout: 10 * time.Second}
	go in.hs.Serve(ln)

	pr, pw, err := os.Pipe()
	if err != nil {
		in.hs.Close()
		return nil, fmt.Errorf("creating output pipe: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = fn.Dir
	cmd.Env = s.functionEnv(fn, version, ln.Addr().String(), in.stream)
	cmd.Stdout = pw
	cmd.Stderr = pw
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		in.hs.Close()
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	pw.Close()
	in.cmd = cmd
	in.out = pr
	go in.copyOutput()
	go func() {
		err := cmd.Wait()
		in.mu.Lock()
		in.exitErr = err
		in.broken = true
		in.mu.Unlock()
		close(in.exited)
	}()
	return in, nil
}

// functionEnv is the runtime environment contract. The gateway's own
// environment (and so its AWS credentials) is not passed on: only PATH and
// a few locale variables are, plus placeholder credentials standing in for
// the execution role.
func (s *Server) functionEnv(fn *function, version, runtimeAPI, stream string) []string {
	env := map[string]string{
		"PATH":                            os.Getenv("PATH"),
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"HOME":                            os.TempDir(),
		"_HANDLER":                        fn.Handler,
		"LAMBDA_TASK_ROOT":                fn.Dir,
		"LAMBDA_RUNTIME_DIR":              s.cacheDir,
		"AWS_LAMBDA_RUNTIME_API":          runtimeAPI,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      s.opts.Region,
		"AWS_DEFAULT_REGION":              s.opts.Region,
		"AWS_EXECUTION_ENV":               "AWS_Lambda_" + runtimeID(fn),
		"AWS_ACCESS_KEY_ID":               "ASIALOCALLAMBDAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":           "local-lambda-placeholder-secret",
		"AWS_SESSION_TOKEN":               "local-lambda-placeholder-token",
	}
	if fn.Runtime == RuntimeNode {
		env["NODE_PATH"] = fn.Dir + "/node_modules"
	}
	for k, v := range fn.Environment {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// copyOutput feeds the process output to the current invocation's log and
// to Options.FunctionOutput.
func (in *instance) copyOutput() {
	defer close(in.outDone)
	buf := make([]byte, 32*1024)
	for {
		n, err := in.out.Read(buf)
		if n > 0 {
			in.mu.Lock()
			if in.sink != nil {
				in.sink.Write(buf[:n])
			}
			in.mu.Unlock()
			if w := in.srv.opts.FunctionOutput; w != nil {
				w.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

// flushOutput waits (briefly, bounded) until output the process wrote before
// answering has been read, so Tail logs include it.
func (in *instance) flushOutput() {
	deadline := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(deadline) {
		n, ok := pendingBytes(in.out)
		if !ok || n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	// Take the lock once so a chunk being copied right now lands first.
	in.mu.Lock()
	_ = in.out // the lock is the point: it waits for an in-progress copy
	in.mu.Unlock()
}

// kill ends the whole process group and the runtime API server. Later
// calls wait for the first to finish.
func (in *instance) kill() { in.killOnce.Do(in.doKill) }

func (in *instance) doKill() {
	in.mu.Lock()
	in.broken = true
	in.mu.Unlock()
	if in.cmd != nil && in.cmd.Process != nil {
		killProcessGroup(in.cmd)
	}
	in.hs.Close()
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
		in.srv.log.Warn("function process did not exit after SIGKILL", "function", in.fn.Name, "pid", in.cmd.Process.Pid)
	}
	// The pipe reaches EOF once every process holding it is gone.
	select {
	case <-in.outDone:
	case <-time.After(time.Second):
	}
	in.out.Close()
}

func (in *instance) isBroken() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.broken
}

// awaitPoll reports whether the instance may take another invocation: its
// runtime asked for one (GET /next), as on AWS where an environment takes
// new work only once its runtime calls /next. A runtime that posted its
// answer and then exits (a Node.js process ending after an uncaught
// exception) never asks, and gets false once its process is gone; so does
// one that has not asked by its last invocation's deadline.
func (in *instance) awaitPoll(ctx context.Context) bool {
	in.mu.Lock()
	polled, broken, limit := in.polled, in.broken, time.Until(in.pollDeadline)
	in.mu.Unlock()
	if broken {
		return false
	}
	t := time.NewTimer(max(limit, minPollGrace))
	defer t.Stop()
	select {
	case <-polled:
		return !in.isBroken()
	case <-in.exited:
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// invoke runs inv on this instance and returns its result. It never waits
// longer than the init bound plus the function timeout.
func (in *instance) invoke(ctx context.Context, inv *invocation) invokeResult {
	fn := in.fn
	inv.logs.printf("START RequestId: %s Version: %s\n", inv.id, inv.version)
	in.mu.Lock()
	in.sink = inv.logs
	in.mu.Unlock()
	start := time.Now()
	in.pending <- inv // capacity 1 and one invocation per instance: never blocks

	initTimeout := max(fn.Timeout, minInitTimeout)
	initTimer := time.NewTimer(initTimeout)
	defer initTimer.Stop()
	dispatched := inv.dispatched
	var res invokeResult
	var timedOut bool
wait:
	for {
		select {
		case res = <-inv.result:
			break wait
		case <-dispatched:
			dispatched = nil // a nil channel blocks: handled once
			initTimer.Stop()
			d := time.Until(inv.deadline)
			initTimer = time.NewTimer(d)
		case <-initTimer.C:
			if dispatched != nil {
				res = functionErrorResult("Runtime.InitTimeout", fmt.Sprintf("RequestId: %s Error: Runtime did not become ready within %s", inv.id, initTimeout))
			} else {
				timedOut = true
				elapsed := time.Since(start).Seconds()
				msg := fmt.Sprintf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, elapsed)
				res = functionErrorResult("Sandbox.Timedout", msg)
			}
			in.kill()
			break wait
		case <-in.initFailed:
			in.mu.Lock()
			body := in.initErr
			in.mu.Unlock()
			res = invokeResult{payload: body, functionError: "Unhandled", errorType: errorTypeOf(body)}
			in.kill()
			break wait
		case <-in.exited:
			// The result may have been posted just before the exit.
			select {
			case res = <-inv.result:
				break wait
			default:
			}
			in.mu.Lock()
			exitErr := in.exitErr
			in.mu.Unlock()
			reason := "Runtime exited without providing a reason"
			if exitErr != nil {
				reason = "Runtime exited with error: " + exitErr.Error()
			}
			res = functionErrorResult("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: %s", inv.id, reason))
			in.kill()
			break wait
		case <-ctx.Done():
			res = functionErrorResult("Runtime.Cancelled", fmt.Sprintf("RequestId: %s Error: local lambda service is shutting down", inv.id))
			in.kill()
			break wait
		}
	}
	in.flushOutput()
	in.mu.Lock()
	in.current = nil
	in.sink = nil
	initDur := time.Duration(0)
	if !in.reportedInit && in.initDone > 0 {
		in.reportedInit = true
		initDur = in.initDone
	}
	in.mu.Unlock()
	if res.functionError != "" && !timedOut {
		var e struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		if json.Unmarshal(res.payload, &e) == nil && strings.HasPrefix(e.ErrorType, "Runtime.") && strings.HasPrefix(e.ErrorMessage, "RequestId:") {
			inv.logs.printf("%s\n%s\n", e.ErrorMessage, e.ErrorType)
		}
	}
	dur := time.Since(start)
	if timedOut {
		var e struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(res.payload, &e)
		inv.logs.printf("%s\n", e.ErrorMessage)
	}
	inv.logs.printf("END RequestId: %s\n", inv.id)
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		inv.id, float64(dur.Microseconds())/1000, int64(dur/time.Millisecond)+1, fn.MemoryMB, in.maxMemoryMB())
	if initDur > 0 {
		report += fmt.Sprintf("Init Duration: %.2f ms\t", float64(initDur.Microseconds())/1000)
	}
	if timedOut {
		report += "Status: timeout"
	}
	inv.logs.printf("%s\n", report)
	return res
}

func (in *instance) maxMemoryMB() int {
	if in.cmd == nil || in.cmd.Process == nil {
		return 0
	}
	return peakRSSMB(in.cmd.Process.Pid)
}

func errorTypeOf(body []byte) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(body, &e)
	return e.ErrorType
}

// serveRuntimeAPI implements the Lambda Runtime API (2018-06-01) for the one
// process of this instance.
func (in *instance) serveRuntimeAPI(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	p, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		runtimeError(w, http.StatusNotFound, "UnknownOperation", "unknown runtime api path "+r.URL.Path)
		return
	}
	switch {
	case p == "invocation/next" && r.Method == http.MethodGet:
		in.next(w, r)
	case p == "init/error" && r.Method == http.MethodPost:
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes))
		in.mu.Lock()
		if in.initErr == nil {
			in.initErr = normalizeErrorBody(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
			close(in.initFailed)
		}
		in.mu.Unlock()
		runtimeAccepted(w)
	case strings.HasPrefix(p, "invocation/") && r.Method == http.MethodPost:
		id, kind, ok := strings.Cut(strings.TrimPrefix(p, "invocation/"), "/")
		if !ok || (kind != "response" && kind != "error") {
			runtimeError(w, http.StatusNotFound, "UnknownOperation", "unknown runtime api path "+r.URL.Path)
			return
		}
		in.answer(w, r, id, kind == "error")
	default:
		runtimeError(w, http.StatusNotFound, "UnknownOperation", "unknown runtime api path "+r.URL.Path)
	}
}

func (in *instance) next(w http.ResponseWriter, r *http.Request) {
	in.readyOnce.Do(func() {
		in.mu.Lock()
		in.initDone = time.Since(in.started)
		in.mu.Unlock()
		close(in.ready)
	})
	in.mu.Lock()
	if !in.pollClosed {
		in.pollClosed = true
		close(in.polled)
	}
	in.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-in.pending:
	case <-r.Context().Done():
		return
	case <-in.srv.ctx.Done():
		runtimeError(w, http.StatusInternalServerError, "ServiceShutdown", "local lambda service is shutting down")
		return
	}
	inv.deadline = time.Now().Add(in.fn.Timeout)
	in.mu.Lock()
	in.current = inv
	in.polled, in.pollClosed, in.pollDeadline = make(chan struct{}), false, inv.deadline
	in.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
	h.Set("Lambda-Runtime-Trace-Id", inv.traceID)
	if inv.clientContext != "" {
		h.Set("Lambda-Runtime-Client-Context", inv.clientContext)
	}
	close(inv.dispatched)
	w.WriteHeader(http.StatusOK)
	w.Write(inv.payload)
}

func (in *instance) answer(w http.ResponseWriter, r *http.Request, id string, isError bool) {
	in.mu.Lock()
	inv := in.current
	in.mu.Unlock()
	if inv == nil || inv.id != id {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	if inv.stream != nil && !isError {
		in.mu.Lock()
		if in.current == inv {
			in.current = nil
		}
		in.mu.Unlock()
		in.relay(w, r, inv)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidPayload", "reading body: "+err.Error())
		return
	}
	in.mu.Lock()
	if in.current == inv {
		in.current = nil
	}
	in.mu.Unlock()
	// aws-lambda-go reports a failure while streaming a response in trailers.
	if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" && !isError {
		errBody, _ := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		inv.complete(invokeResult{payload: normalizeErrorBody(errBody, t), functionError: "Unhandled", errorType: t})
		runtimeAccepted(w)
		return
	}
	switch {
	case len(body) > maxResponseBytes:
		inv.complete(functionErrorResult("Function.ResponseSizeTooLarge", fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)))
		runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", maxResponseBytes))
		return
	case isError:
		nb := normalizeErrorBody(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
		inv.complete(invokeResult{payload: nb, functionError: "Unhandled", errorType: errorTypeOf(nb)})
	default:
		inv.complete(invokeResult{payload: body})
	}
	runtimeAccepted(w)
}

// normalizeErrorBody returns body when it is a JSON object, else an AWS
// shaped error object built from it.
func normalizeErrorBody(body []byte, errType string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) == nil && obj != nil {
		return body
	}
	if errType == "" {
		errType = "Runtime.Unknown"
	}
	b, _ := json.Marshal(map[string]string{"errorMessage": string(body), "errorType": errType})
	return b
}

func runtimeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func runtimeError(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": errType})
	w.Write(b)
}
