// Package locallambda is a local AWS Lambda service: an HTTP server speaking
// the Lambda API (Invoke, InvokeWithResponseStream, ListFunctions,
// GetFunction, ListVersionsByFunction, ListAliases) with SigV4 checks, that
// runs functions from a directory as real processes through the Lambda
// Runtime API (streaming responses included). Because it speaks the real
// API, the gateway reaches it through its normal AWS path with only the
// endpoint overridden, and the aws-sdk-go-v2 Lambda client works against it.
//
// Each folder of Options.Dir is one function (see Manifest). A function runs
// in warm instances: one process per instance, one invocation at a time per
// instance, instances reused between invocations and recycled when the
// folder changes.
package locallambda

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdagate/lambdagate/internal/locallambda/nodejs"
)

// Options configures a Server.
type Options struct {
	// Dir holds one folder per function. Required.
	Dir string
	// Region appears in ARNs and, when Credentials is set, must be the
	// signing region. Default: us-east-1.
	Region string
	// AccountID appears in ARNs. Default: 000000000000.
	AccountID string
	// Credentials maps access key IDs to secret keys. When set, every request
	// must be signed with one of them (checked by recomputing the SigV4
	// signature). Default: none, and any well-formed signature is accepted.
	Credentials map[string]string
	// SessionTokens maps an access key ID to the session token its requests
	// must carry in X-Amz-Security-Token. Default: none required.
	SessionTokens map[string]string
	// Logger receives the service's own logs. Default: slog.Default().
	Logger *slog.Logger
	// NodePath is the node executable for nodejs functions. Default: "node"
	// looked up on PATH.
	NodePath string
	// GoPath is the go executable used to build go functions that ship
	// source instead of a bootstrap. Default: "go" looked up on PATH.
	GoPath string
	// FunctionOutput, when set, receives the functions' stdout and stderr as
	// they write it. Default: discarded (it is still kept per invocation for
	// X-Amz-Log-Type: Tail).
	FunctionOutput io.Writer
	// PollInterval is how often Dir is rescanned for changes. Default: 1s.
	PollInterval time.Duration
	// STS, when set, also serves a local STS on the same address (see
	// STSOptions). Default: nil, no STS.
	STS *STSOptions
}

// Server is a local Lambda service. Create it with New, serve it with Serve
// (or mount Handler), and stop it with Close.
type Server struct {
	opts     Options
	log      *slog.Logger
	catalog  atomic.Pointer[catalog]
	pool     *pool
	cacheDir string // holds the Node bootstrap and go builds
	nodeBoot string

	reloadMu sync.Mutex
	builds   sync.Map  // function name -> *sync.Mutex, serialises go builds
	sts      *stsState // nil unless Options.STS is set

	ctx    context.Context // cancelled by Close; bounds background work
	cancel context.CancelFunc
	wg     sync.WaitGroup // poller and async invocations

	srvMu     sync.Mutex
	servers   []*http.Server
	closeOnce sync.Once
}

// New validates opts, scans Opts.Dir once and starts watching it.
func New(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("options: Dir is required")
	}
	st, err := os.Stat(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("options: Dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("options: Dir %q: not a directory", opts.Dir)
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if len(opts.AccountID) != 12 {
		return nil, fmt.Errorf("options: AccountID %q: must be 12 digits", opts.AccountID)
	}
	for _, c := range opts.AccountID {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("options: AccountID %q: must be 12 digits", opts.AccountID)
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.NodePath == "" {
		opts.NodePath = "node"
	}
	if opts.GoPath == "" {
		opts.GoPath = "go"
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	var sts *stsState
	if opts.STS != nil {
		if sts, err = newSTS(*opts.STS); err != nil {
			return nil, err
		}
	}
	cacheDir, err := os.MkdirTemp("", "lambdagate-locallambda-")
	if err != nil {
		return nil, fmt.Errorf("creating cache dir: %w", err)
	}
	nodeBoot := filepath.Join(cacheDir, "nodejs", "bootstrap.js")
	if err := os.MkdirAll(filepath.Dir(nodeBoot), 0o700); err != nil {
		os.RemoveAll(cacheDir)
		return nil, fmt.Errorf("creating cache dir: %w", err)
	}
	if err := os.WriteFile(nodeBoot, nodejs.Bootstrap, 0o600); err != nil {
		os.RemoveAll(cacheDir)
		return nil, fmt.Errorf("writing node bootstrap: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:     opts,
		log:      opts.Logger.With("component", "locallambda"),
		cacheDir: cacheDir,
		nodeBoot: nodeBoot,
		sts:      sts,
		ctx:      ctx,
		cancel:   cancel,
	}
	s.pool = newPool(s)
	if err := s.Reload(); err != nil {
		cancel()
		os.RemoveAll(cacheDir)
		return nil, err
	}
	s.wg.Add(1)
	go s.poll()
	return s, nil
}

// Handler returns the Lambda API handler, for mounting on a caller's server.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveAPI) }

// Serve answers the Lambda API on ln until Close is called. It returns nil
// after Close.
func (s *Server) Serve(ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.srvMu.Lock()
	if s.ctx.Err() != nil {
		s.srvMu.Unlock()
		ln.Close()
		return nil
	}
	s.servers = append(s.servers, hs)
	s.srvMu.Unlock()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving, ends every function process (whole process groups)
// and removes the cache directory. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.srvMu.Lock()
		s.cancel()
		servers := s.servers
		s.srvMu.Unlock()
		for _, hs := range servers {
			if e := hs.Close(); e != nil && err == nil {
				err = fmt.Errorf("closing api server: %w", e)
			}
		}
		s.pool.close()
		s.wg.Wait()
		if e := os.RemoveAll(s.cacheDir); e != nil && err == nil {
			err = fmt.Errorf("removing cache dir: %w", e)
		}
	})
	return err
}

// Reload rescans Dir now instead of waiting for the next poll. Functions
// whose files changed get their idle instances recycled; busy instances are
// recycled when their invocation ends.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	next, err := scanDir(s.opts.Dir)
	if err != nil {
		return err
	}
	prev := s.catalog.Load()
	for _, name := range next.names {
		fn := next.byName[name]
		if prev != nil {
			if old, ok := prev.byName[name]; ok && old.fingerprint == fn.fingerprint {
				fn.CodeSHA256 = old.CodeSHA256
				continue
			}
		}
		fn.CodeSHA256 = codeSHA256(fn)
		if prev != nil {
			s.log.Info("function loaded", "function", name, "runtime", fn.Runtime)
		}
	}
	for name, perr := range next.problems {
		if prev == nil || prev.problems[name] == nil || prev.problems[name].Error() != perr.Error() {
			s.log.Warn("function folder skipped", "folder", name, "error", perr)
		}
	}
	s.catalog.Store(next)
	if prev != nil {
		for _, name := range prev.names {
			if fn, ok := next.byName[name]; !ok || fn.fingerprint != prev.byName[name].fingerprint {
				s.pool.recycle(name, next.byName[name])
			}
		}
	}
	return nil
}

// Problems reports, per folder name, why a folder of Dir is not served.
func (s *Server) Problems() map[string]error {
	out := map[string]error{}
	for k, v := range s.catalog.Load().problems {
		out[k] = v
	}
	return out
}

func (s *Server) poll() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := s.Reload(); err != nil {
				s.log.Warn("rescanning functions dir", "error", err)
			}
		}
	}
}

// goBootstrap returns the executable for a go function: its prebuilt
// bootstrap, or a binary built from its source once per code version.
func (s *Server) goBootstrap(ctx context.Context, fn *function) (string, error) {
	if p := filepath.Join(fn.Dir, "bootstrap"); isExecutable(p) {
		return p, nil
	}
	muAny, _ := s.builds.LoadOrStore(fn.Name, &sync.Mutex{})
	mu := muAny.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	out := filepath.Join(s.cacheDir, "go", fn.Name+"-"+fn.fingerprint[:16], "bootstrap")
	if isExecutable(out) {
		return out, nil
	}
	src, err := filepath.EvalSymlinks(fn.Dir)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", fn.Dir, err)
	}
	// A build may fetch modules; it gets generous but finite time.
	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(bctx, s.opts.GoPath, "build", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %w: %s", src, err, tail(b, 2048))
	}
	return out, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
