package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/store/kube"
)

// Store backends for --store.
const (
	storeSQLite     = "sqlite"
	storeKubernetes = "kubernetes"
)

// kubeFlags are the global flags that select the Kubernetes store.
type kubeFlags struct {
	// store is --store: "sqlite" (default) or "kubernetes".
	store string
	// kubeconfig is --kubeconfig. Default $KUBECONFIG, else ~/.kube/config,
	// else the in-cluster service account.
	kubeconfig string
	// context is --context. Default the kubeconfig's current context.
	context string
}

func (k *kubeFlags) register(pf *pflag.FlagSet) {
	pf.StringVar(&k.store, "store", storeSQLite, `resource store: "sqlite" (the embedded store in the data directory) or "kubernetes" (the cluster's API server; Gloo's CRDs must be installed)`)
	pf.StringVar(&k.kubeconfig, "kubeconfig", "", "with --store=kubernetes: kubeconfig file (default $KUBECONFIG, else ~/.kube/config, else the in-cluster service account)")
	pf.StringVar(&k.context, "context", "", "with --store=kubernetes: kubeconfig context (default the current context)")
}

// enabled reports whether --store selects anything but the embedded
// store; openKube then rejects values other than "kubernetes".
func (k *kubeFlags) enabled() bool { return k.store != storeSQLite && k.store != "" }

// openKube opens the Kubernetes store, or reports a bad --store value.
func (g *globals) openKube(_ context.Context) (store.Store, error) {
	if err := g.kube.check(); err != nil {
		return nil, err
	}
	st, err := openKubeStore(g.kube, g.logger())
	if err != nil {
		return nil, err
	}
	return st, nil
}

func openKubeStore(k kubeFlags, log *slog.Logger) (*kube.Store, error) {
	routeKlog(log)
	log.Debug("opening Kubernetes store", "kubeconfig", k.kubeconfig, "context", k.context)
	st, err := kube.Open(k.kubeconfig, k.context, kube.Options{Logger: log})
	if err != nil {
		return nil, withHint(err, "pass --kubeconfig FILE (or set $KUBECONFIG) and --context NAME")
	}
	return st, nil
}

// routeKlog sends client-go's own log lines (klog: leader election,
// reflector and throttling messages) through the command's logger, so that
// they share its format (JSON with --log-format json) and level.
func routeKlog(log *slog.Logger) {
	klog.SetSlogLogger(log.With("component", "client-go"))
}

// check validates --store.
func (k *kubeFlags) check() error {
	switch k.store {
	case storeSQLite, storeKubernetes:
		return nil
	}
	return &usageError{fmt.Errorf("--store %q: must be %s or %s", k.store, storeSQLite, storeKubernetes)}
}

// electionFlags are serve's leader-election timings in Kubernetes mode.
// Zero means kube.ElectionOptions' default.
type electionFlags struct {
	// leaseDuration is --leader-lease-duration. Default 15s.
	leaseDuration time.Duration
	// renewDeadline is --leader-renew-deadline. Default 10s.
	renewDeadline time.Duration
	// retryPeriod is --leader-retry-period. Default 2s.
	retryPeriod time.Duration
}

func (e *electionFlags) register(f *pflag.FlagSet) {
	f.DurationVar(&e.leaseDuration, "leader-lease-duration", 0, "with --store=kubernetes: how long the discovery Lease stays valid without renewal, the longest discovery pauses after the leader dies without releasing it (default 15s)")
	f.DurationVar(&e.renewDeadline, "leader-renew-deadline", 0, "with --store=kubernetes: how long the leader keeps trying to renew the Lease before it stops discovering; less than --leader-lease-duration (default 10s)")
	f.DurationVar(&e.retryPeriod, "leader-retry-period", 0, "with --store=kubernetes: interval between Lease acquire and renew attempts (default 2s)")
}

// discoveryGate returns the leader-election runner for serve in
// Kubernetes mode, or nil for the embedded store.
func discoveryGate(st store.Store, e electionFlags) (func(context.Context, func(context.Context)), error) {
	ks, ok := st.(*kube.Store)
	if !ok {
		return nil, nil
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	return ks.LeaderGate(kube.ElectionOptions{
		Namespace:     os.Getenv("POD_NAMESPACE"),
		LeaseDuration: e.leaseDuration,
		RenewDeadline: e.renewDeadline,
		RetryPeriod:   e.retryPeriod,
	}), nil
}

// check rejects timings client-go's leader election refuses, which would
// otherwise only be logged while discovery silently never runs.
func (e electionFlags) check() error {
	or := func(d, def time.Duration) time.Duration {
		if d == 0 {
			return def
		}
		return d
	}
	lease, renew, retry := or(e.leaseDuration, 15*time.Second), or(e.renewDeadline, 10*time.Second), or(e.retryPeriod, 2*time.Second)
	hint := "lambdagate serve --store=kubernetes --leader-lease-duration 15s --leader-renew-deadline 10s --leader-retry-period 2s"
	switch {
	case e.leaseDuration < 0 || e.renewDeadline < 0 || e.retryPeriod < 0:
		return withHint(&usageError{errors.New("--leader-lease-duration, --leader-renew-deadline and --leader-retry-period: must be positive")}, hint)
	case lease <= renew:
		return withHint(&usageError{fmt.Errorf("--leader-lease-duration %s: must be longer than --leader-renew-deadline (%s)", lease, renew)}, hint)
	case renew <= retry*6/5:
		// client-go requires renewDeadline > 1.2 × retryPeriod (its jitter).
		return withHint(&usageError{fmt.Errorf("--leader-renew-deadline %s: must be longer than 1.2 × --leader-retry-period (%s)", renew, retry)}, hint)
	}
	return nil
}
