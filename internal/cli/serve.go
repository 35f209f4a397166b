package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambdagate/lambdagate/internal/auth/jwks"
	"github.com/lambdagate/lambdagate/internal/datadir"
	"github.com/lambdagate/lambdagate/internal/gctune"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/locallambda"
	"github.com/lambdagate/lambdagate/internal/server"
	"github.com/lambdagate/lambdagate/internal/tracing"
)

// addServerCommands adds "serve" and "lambda serve".
func addServerCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newServeCommand(g), newLambdaCommand(g), newStatusCommand(g))
}

type serveOptions struct {
	cfg             server.Config
	localLambda     string
	localLambdaAddr string
	localLambdaKeys string
	logFormat       string
	logLevel        string
	accessLog       string
	accessLogFormat string
	otlpEndpoint    string
	gcMinHeapMiB    int
	h2c             bool
	election        electionFlags // --leader-* (kubestore.go)
}

func newServeCommand(g *globals) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway",
		Long: `Run the gateway: it serves the virtual services in the store, watches the store
for changes, and writes each resource's status. With --local-lambda DIR it also
runs a local Lambda service with the functions in DIR, and upstreams without
their own endpointUrl call it.`,
		Example: `  lambdagate serve --local-lambda examples/functions`,
		Args:    usageArgs(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, _ []string) error { return runServe(cmd, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.cfg.HTTPAddr, "http-addr", ":8080", "address of the HTTP listener (unused when a supervisor passes the socket: LISTEN_FDS, see docs/reliability.md)")
	f.StringVar(&o.cfg.HTTPSAddr, "https-addr", ":8443", `address of the HTTPS listener for virtual services with sslConfig ("" disables it)`)
	f.StringVar(&o.cfg.AdminAddr, "admin-addr", "127.0.0.1:9091", "address of the admin listener (health, readiness, /metrics, /config_dump, /debug/pprof, the dashboard); loopback unless you expose it")
	f.BoolVar(&o.cfg.AdminExposeAll, "admin-expose-all", false, "serve /config_dump, /debug/pprof and the dashboard to non-loopback clients of the admin listener too (default false: they get only /healthz, /readyz and /metrics)")
	f.DurationVar(&o.cfg.ShutdownGrace, "shutdown-grace", 0, "time in-flight requests get after SIGTERM (default 30s)")
	f.DurationVar(&o.cfg.ShutdownDelay, "shutdown-delay", 0, "time the gateway keeps serving after SIGTERM with /readyz already failing, before it stops accepting connections (default 0)")
	f.BoolVar(&o.cfg.ReusePort, "reuse-port", false, "set SO_REUSEPORT on the HTTP and HTTPS listeners, so a new gateway can start on the same port before the old one stops")
	f.DurationVar(&o.cfg.ReadHeaderTimeout, "read-header-timeout", 0, "time a client gets to send the request headers (default 10s)")
	f.StringSliceVar(&o.cfg.AdminHosts, "admin-hosts", nil, `host names the admin listener answers besides IP addresses, "localhost" and the host of --admin-addr (comma-separated; default none): any other Host header gets 403, which stops DNS-rebinding pages`)
	f.Int64Var(&o.cfg.BodyDiscard.Bytes, "body-discard-bytes", 0, "after an error answer to a request whose body was not read (over Lambda's size limit, no route), at most this many body bytes are read and dropped before the connection closes, so a client that writes its whole request first can read the answer (default 64 MiB; negative disables)")
	f.DurationVar(&o.cfg.BodyDiscard.Timeout, "body-discard-timeout", 0, "the longest time spent reading such a body (default 10s)")
	f.DurationVar(&o.cfg.Stream.IdleTimeout, "stream-idle-timeout", 0, "a streamed answer (responseTransferMode STREAM) is cut when the function sends nothing for this long (default 5m, as API Gateway for a regional endpoint)")
	f.DurationVar(&o.cfg.Stream.MaxDuration, "stream-max-duration", 0, "a streamed answer is cut when it lasts longer than this (default 15m, as API Gateway and Lambda)")
	f.BoolVar(&o.h2c, "h2c", true, "accept HTTP/2 with prior knowledge (h2c) on the HTTP and admin listeners besides HTTP/1.1")
	f.DurationVar(&o.cfg.DiscoveryInterval, "discovery-interval", 0, "how often each upstream's Lambda functions are discovered (default 5s; negative disables discovery)")
	f.StringVar(&o.localLambda, "local-lambda", "", "run a local Lambda service with the functions in this directory")
	f.StringVar(&o.localLambdaAddr, "local-lambda-addr", "127.0.0.1:9001", "address of the local Lambda service")
	f.StringVar(&o.localLambdaKeys, "local-lambda-credentials-file", "", credentialsFileUsage)
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.accessLog, "access-log", "stdout", "where the access log (one line per request) goes: stdout, stderr, off, or a file path (appended)")
	f.StringVar(&o.accessLogFormat, "access-log-format", "json", "access log format: json or text")
	f.StringVar(&o.cfg.LambdaClient, "lambda-client", lambda.ClientLambdagate, `HTTP client that calls Lambda: "lambdagate" (its own HTTP/1.1 client) or "net/http" (Go's, about twice the CPU per request; for comparison)`)
	f.IntVar(&o.cfg.ThrottleRetries, "throttle-retries", lambda.DefaultThrottleRetries, "times a throttled (429) Invoke is sent again before the client gets 429 (0: never)")
	f.DurationVar(&o.cfg.ThrottleRetryBudget, "throttle-retry-budget", lambda.DefaultThrottleRetryBudget, "time spent retrying after the first throttle at most, within the route timeout")
	f.IntVar(&o.gcMinHeapMiB, "gc-min-heap-mib", 64, "MiB the heap may grow past its live size before the Go garbage collector runs again, while the live heap is smaller than that (0: Go's default pacing; an explicit GOGC in the environment also turns it off); fewer collections mean less CPU and a shorter latency tail, at up to this much more memory")
	f.StringVar(&o.otlpEndpoint, "trace-otlp-endpoint", "", "export a span per request to this OpenTelemetry collector (OTLP/HTTP base URL, e.g. http://127.0.0.1:4318); default: none, trace context is only propagated")
	o.election.register(f)
	return cmd
}

func (o *serveOptions) logger(g *globals) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, withHint(fmt.Errorf("--log-level %q: must be debug, info, warn or error", o.logLevel), "lambdagate serve --log-level info")
	}
	if g.verbose {
		lvl = slog.LevelDebug
	}
	ho := &slog.HandlerOptions{Level: lvl}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, ho)), nil
	}
	return nil, withHint(fmt.Errorf("--log-format %q: must be text or json", o.logFormat), "lambdagate serve --log-format json")
}

func runServe(cmd *cobra.Command, g *globals, o *serveOptions) error {
	ctx := cmd.Context()
	log, err := o.logger(g)
	if err != nil {
		return err
	}
	jwks.SetLogger(log)
	switch o.cfg.LambdaClient {
	case lambda.ClientLambdagate, lambda.ClientNetHTTP:
	default:
		return withHint(fmt.Errorf("--lambda-client %q: must be %s or %s", o.cfg.LambdaClient, lambda.ClientLambdagate, lambda.ClientNetHTTP), "lambdagate serve --lambda-client lambdagate")
	}
	switch {
	case o.cfg.ThrottleRetries == 0:
		o.cfg.ThrottleRetries = -1 // the flag's 0 means none; Config's 0 means the default
	case o.cfg.ThrottleRetries < 0:
		return withHint(fmt.Errorf("--throttle-retries %d: must be 0 or more", o.cfg.ThrottleRetries), "lambdagate serve --throttle-retries 3")
	}
	if o.cfg.ThrottleRetryBudget <= 0 {
		return withHint(fmt.Errorf("--throttle-retry-budget %v: must be positive", o.cfg.ThrottleRetryBudget), "lambdagate serve --throttle-retry-budget 1s")
	}
	// The data directory holds the embedded store and the address file of
	// 'lambdagate proxy url'; a Kubernetes replica uses neither, and may
	// run without $HOME.
	var dir string
	if !g.kube.enabled() {
		if dir, err = g.dataDir(); err != nil {
			return err
		}
	}
	st, err := g.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	if o.localLambda != "" {
		ll, llURL, err := startLocalLambda(o.localLambda, o.localLambdaAddr, o.localLambdaKeys, log)
		if err != nil {
			return err
		}
		defer ll.Close()
		o.cfg.LocalLambda = llURL
		log.Info("local Lambda serving", "dir", o.localLambda, "url", llURL.String())
	}
	o.cfg.Logger = log
	o.cfg.DisableH2C = !o.h2c
	if o.gcMinHeapMiB < 0 {
		return withHint(fmt.Errorf("--gc-min-heap-mib %d: must be 0 or more", o.gcMinHeapMiB), "lambdagate serve --gc-min-heap-mib 64")
	}
	defer gctune.Start(uint64(o.gcMinHeapMiB) << 20).Stop()
	// Kubernetes: one replica discovers.
	if o.cfg.DiscoveryGate, err = discoveryGate(st, o.election); err != nil {
		return err
	}
	accessLog, closeAccessLog, err := o.accessLogger(g)
	if err != nil {
		return err
	}
	defer closeAccessLog()
	o.cfg.AccessLog = accessLog
	if o.otlpEndpoint != "" {
		exp, err := tracing.New(tracing.Options{Endpoint: o.otlpEndpoint})
		if err != nil {
			return withHint(err, "lambdagate serve --trace-otlp-endpoint http://127.0.0.1:4318")
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = exp.Shutdown(ctx)
		}()
		o.cfg.Tracer = exp.Tracer()
	}
	// Socket activation: listeners passed by a supervisor (LISTEN_FDS)
	// replace --http-addr and friends; see internal/server/activation.go.
	if o.cfg.Inherited, err = server.InheritedListeners(); err != nil {
		return withHint(err, "unset LISTEN_FDS, or pass listening sockets from descriptor 3 on")
	}
	srv := server.New(o.cfg, st)
	ls, err := srv.Listen()
	if err != nil {
		return withHint(err, "pick another address with --http-addr, --https-addr or --admin-addr")
	}
	state := ServeState{PID: os.Getpid(), HTTPURL: "http://" + clientHost(srv.HTTPListenAddr)}
	if srv.AdminListenAddr != nil {
		state.AdminURL = "http://" + clientHost(srv.AdminListenAddr)
	}
	if srv.HTTPSListenAddr != nil {
		state.HTTPSURL = "https://" + clientHost(srv.HTTPSListenAddr)
	}
	// The URLs a user wants first, in one line, before the state file
	// that says the gateway is up.
	urls := []any{"gateway", state.HTTPURL}
	if state.HTTPSURL != "" {
		urls = append(urls, "https", state.HTTPSURL)
	}
	if state.AdminURL != "" {
		urls = append(urls, "admin", state.AdminURL, "dashboard", state.AdminURL+"/")
	}
	log.Info("lambdagate serving", urls...)
	if dir != "" {
		if err := WriteServeState(dir, state); err != nil {
			log.Warn("cannot record the gateway's address for 'lambdagate proxy url'", "error", err.Error())
		}
		defer RemoveServeState(dir)
		log.Info("data directory", "path", filepath.Join(dir, datadir.DBFile))
	}
	return srv.Run(ctx, ls)
}

// clientHost turns a bound address into one a client on this machine can
// use: a wildcard bind becomes localhost, as glooctl proxy url prints.
func clientHost(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// credentialsFileUsage documents the local Lambda's credentials file flag.
const credentialsFileUsage = `YAML file of the access keys the local Lambda accepts ("region: us-east-1" and "accessKeys: [{accessKeyId, secretAccessKey, sessionToken}]"); requests signed otherwise get 403 (default: none, any well-formed signature is accepted)`

func startLocalLambda(dir, addr, credentialsFile string, log *slog.Logger) (*locallambda.Server, *url.URL, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, nil, withHint(fmt.Errorf("--local-lambda %q: not a directory of functions", dir), "lambdagate serve --local-lambda examples/functions")
	}
	// Functions' console output goes to stderr, as CloudWatch Logs would show it.
	opts := locallambda.Options{Dir: dir, Logger: log.With("component", "local-lambda"), FunctionOutput: os.Stderr}
	if credentialsFile != "" {
		if err := locallambda.LoadCredentialsFile(credentialsFile, &opts); err != nil {
			return nil, nil, withHint(err, "see 'lambdagate lambda serve --help' for the file's format")
		}
	}
	ll, err := locallambda.New(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("starting the local Lambda: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		ll.Close()
		return nil, nil, withHint(fmt.Errorf("listening on --local-lambda-addr %s: %w", addr, err), "pick another address with --local-lambda-addr 127.0.0.1:0")
	}
	go func() {
		if err := ll.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Error("local Lambda stopped", "error", err.Error())
		}
	}()
	return ll, &url.URL{Scheme: "http", Host: clientHost(ln.Addr())}, nil
}

func newLambdaCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lambda",
		Short: "Local Lambda service",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var dir, addr, logFormat, credentialsFile string
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run the local Lambda service alone",
		Long: `Run a local Lambda service: the AWS Lambda HTTP API on loopback, running the
functions in --dir as real processes through the Lambda Runtime API.`,
		Example: `  lambdagate lambda serve --dir examples/functions --addr 127.0.0.1:9001`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := &serveOptions{logFormat: logFormat, logLevel: "info"}
			log, err := o.logger(g)
			if err != nil {
				return err
			}
			ll, u, err := startLocalLambda(dir, addr, credentialsFile, log)
			if err != nil {
				return err
			}
			defer ll.Close()
			fmt.Fprintf(g.stdout, "local Lambda listening on %s (functions in %s)\n", u, dir)
			<-cmd.Context().Done()
			return nil
		},
	}
	f := serve.Flags()
	f.StringVar(&dir, "dir", "", "directory with one folder per function (required)")
	f.StringVar(&addr, "addr", "127.0.0.1:9001", "listen address")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&credentialsFile, "credentials-file", "", credentialsFileUsage)
	_ = serve.MarkFlagRequired("dir")
	cmd.AddCommand(serve)
	return cmd
}
