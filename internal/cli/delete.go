package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

func newDeleteCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete KIND NAME...",
		Short: "Delete resources by kind and name",
		Example: `  lambdagate delete vs aws-route
  lambdagate delete upstream aws-upstream -n gloo-system`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 {
				return withHint(&usageError{errors.New("you must give a kind and at least one name")}, "lambdagate delete upstream NAME -n NAMESPACE")
			}
			return nil
		},
		ValidArgsFunction: g.completeKindAndNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDelete(cmd.Context(), g, args[0], args[1:])
		},
	}
}

// runDelete deletes each name; like kubectl it goes on after a missing one
// and fails at the end.
func runDelete(ctx context.Context, g *globals, kindArg string, names []string) error {
	k, err := parseKind(kindArg)
	if err != nil {
		return err
	}
	ns := g.namespaceFor("")
	listHint := fmt.Sprintf("lambdagate get %s -n %s", resource.Plural(k), ns)
	st, err := g.openExistingStore(ctx)
	if errors.Is(err, errNoStore) {
		return withHint(&store.Error{Code: store.NotFound, Kind: k, Namespace: ns, Name: names[0]}, listHint)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	var last error
	failed := 0
	for _, name := range names {
		err := st.Delete(ctx, k, ns, name)
		if err != nil {
			if failed > 0 {
				printError(g.stderr, nil, last)
			}
			failed++
			last = err
			if store.IsNotFound(err) {
				last = withHint(err, listHint)
			}
			continue
		}
		fmt.Fprintf(g.stdout, "%s %q deleted\n", typeName(k), name)
	}
	return last
}
