package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

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
	log.Debug("opening Kubernetes store", "kubeconfig", k.kubeconfig, "context", k.context)
	st, err := kube.Open(k.kubeconfig, k.context, kube.Options{Logger: log})
	if err != nil {
		return nil, withHint(err, "pass --kubeconfig FILE (or set $KUBECONFIG) and --context NAME")
	}
	return st, nil
}

// check validates --store.
func (k *kubeFlags) check() error {
	switch k.store {
	case storeSQLite, storeKubernetes:
		return nil
	}
	return &usageError{fmt.Errorf("--store %q: must be %s or %s", k.store, storeSQLite, storeKubernetes)}
}

// discoveryGate returns the leader-election runner for serve in
// Kubernetes mode, or nil for the embedded store.
func discoveryGate(st store.Store) func(context.Context, func(context.Context)) {
	ks, ok := st.(*kube.Store)
	if !ok {
		return nil
	}
	return ks.LeaderGate(kube.ElectionOptions{Namespace: os.Getenv("POD_NAMESPACE")})
}
