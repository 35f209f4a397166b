// Package cli implements the lambdagate command line: kubectl- and
// glooctl-shaped commands (apply, get, delete, create, proxy url, version)
// over the resource store, plus the hooks the server commands plug into.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/datadir"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// globals holds the global flags and the process's standard streams. Every
// command reaches the store through openStore, so that a later store
// backend (--store=kubernetes) is selected in one place.
type globals struct {
	// dataDirFlag is --data-dir as given; use dataDir() for the resolved path.
	dataDirFlag string
	// namespace is -n/--namespace. Default "gloo-system".
	namespace string
	// verbose is -v/--verbose: debug logging on stderr.
	verbose bool
	// kube holds --store, --kubeconfig and --context (kubestore.go).
	kube kubeFlags

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// dataDir resolves the data directory: --data-dir, else
// $LAMBDAGATE_DATA_DIR, else the XDG default (see datadir.Resolve).
func (g *globals) dataDir() (string, error) {
	return datadir.Resolve(g.dataDirFlag)
}

// logger returns a text logger on stderr, at debug level with -v and warn
// level otherwise, so commands stay quiet unless asked.
func (g *globals) logger() *slog.Logger {
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
}

// openStore opens the resource store for reading and writing, creating the
// data directory and the database when missing. The caller closes it.
func (g *globals) openStore(ctx context.Context) (store.Store, error) {
	if g.kube.enabled() {
		return g.openKube(ctx)
	}
	dir, err := g.dataDir()
	if err != nil {
		return nil, err
	}
	if err := datadir.Ensure(dir); err != nil {
		return nil, err
	}
	return g.openSQLite(ctx, dir)
}

// errNoStore is returned by openExistingStore when nothing was ever stored.
var errNoStore = errors.New("no store yet")

// openExistingStore opens the store only when it exists, and returns
// errNoStore otherwise, so that read-only commands (get, --dry-run,
// completion) never create a data directory or a database as a side effect.
func (g *globals) openExistingStore(ctx context.Context) (store.Store, error) {
	if g.kube.enabled() {
		return g.openKube(ctx)
	}
	dir, err := g.dataDir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, datadir.DBFile)); errors.Is(err, os.ErrNotExist) {
		return nil, errNoStore
	}
	return g.openSQLite(ctx, dir)
}

func (g *globals) openSQLite(_ context.Context, dir string) (store.Store, error) {
	path := filepath.Join(dir, datadir.DBFile)
	log := g.logger()
	log.Debug("opening store", "path", path)
	st, err := sqlite.Open(path, sqlite.WithLogger(log))
	if err != nil {
		return nil, withHint(err, "check --data-dir (or $"+datadir.EnvVar+"): "+dir)
	}
	return st, nil
}

// hintError carries a "Try:" line printed under the error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// withHint attaches a next step to err.
func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

// usageError marks a wrong invocation (unknown flag, wrong argument count):
// Execute follows it with a pointer to the command's help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// errReported means the command has already printed its errors (apply
// reports every failed document) and only the exit code is left to set.
var errReported = errors.New("errors reported")

// usageArgs wraps a cobra argument validator so its errors count as usage
// errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// newRootCommand builds the command tree around g.
func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "lambdagate",
		Short: "Route HTTP straight to AWS Lambda, configured with Gloo Edge resources",
		Long: `lambdagate is an edge gateway that routes HTTP requests straight to AWS Lambda
functions. It is configured with Gloo Edge's resources (Upstream, VirtualService,
Secret, Settings), kept in an embedded store in the data directory.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// No Args: cobra then checks the first word against the commands
		// before it parses flags, so "aply -f x" gets "Did you mean apply"
		// rather than an error about -f.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDirFlag, "data-dir", "", "data directory holding the store (default $"+datadir.EnvVar+", else $XDG_DATA_HOME/lambdagate or ~/.local/share/lambdagate)")
	pf.StringVarP(&g.namespace, "namespace", "n", core.DefaultNamespace, "namespace of the resources")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log debug details to stderr")
	_ = root.RegisterFlagCompletionFunc("namespace", g.completeNamespaces)
	g.kube.register(pf)

	root.AddCommand(
		newApplyCommand(g),
		newGetCommand(g),
		newDeleteCommand(g),
		newCreateCommand(g),
		newProxyCommand(g),
		newVersionCommand(g),
	)
	addServerCommands(root, g)
	return root
}

// Execute runs lambdagate with the process's arguments and streams and
// returns the exit code: 0 on success, 1 on any error.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// run is Execute with explicit arguments and streams, for tests.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCommand(g)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	printError(stderr, cmd, err)
	return 1
}

// printError is the one place errors reach the user: "Error: <message>"
// and, where a next step helps, "Try: <hint>".
func printError(w io.Writer, cmd *cobra.Command, err error) {
	if errors.Is(err, errReported) {
		return
	}
	fmt.Fprintf(w, "Error: %s\n", printableText(strings.TrimRight(err.Error(), "\n")))
	var he *hintError
	var ue *usageError
	switch {
	case errors.As(err, &he):
		fmt.Fprintf(w, "Try: %s\n", printableText(he.hint))
	case errors.As(err, &ue) || isCobraUsage(err):
		path := "lambdagate"
		if cmd != nil {
			path = cmd.CommandPath()
			if cmd.HasParent() {
				fmt.Fprintf(w, "Usage: %s\n", cmd.UseLine())
			}
		}
		fmt.Fprintf(w, "Try: %s --help\n", path)
	}
}

// groupCommand makes cmd a group of subcommands that, like the root, answers
// an unknown subcommand with cobra's suggestions (cobra makes them only for
// the root), whatever flags follow it.
func groupCommand(cmd *cobra.Command) *cobra.Command {
	cmd.FParseErrWhitelist.UnknownFlags = true // the flags of the subcommand meant
	cmd.SuggestionsMinimumDistance = 2         // cobra's default for the root
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return &usageError{errors.New(msg)}
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	return cmd
}

// isCobraUsage recognises the usage errors cobra returns without passing
// them through a hook (unknown subcommands).
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown shorthand flag") || strings.HasPrefix(s, "unknown flag")
}

// namespaceFor returns ns, or the -n namespace when ns is empty.
func (g *globals) namespaceFor(ns string) string {
	if ns != "" {
		return ns
	}
	if g.namespace != "" {
		return g.namespace
	}
	return core.DefaultNamespace
}
