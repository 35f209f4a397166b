package cli

import (
	"context"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// kindWords are what completion offers for KIND: the plural and the short
// names users type.
func kindWords() []string {
	var out []string
	for _, k := range resource.Kinds {
		out = append(out, resource.Plural(k))
	}
	out = append(out, "upstream", "us", "virtualservice", "vs", "secret")
	sort.Strings(out)
	return out
}

// completeKindAndNames completes KIND, then names of that kind in the -n
// namespace. It never creates a store.
func (g *globals) completeKindAndNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return filterPrefix(kindWords(), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	k, err := resource.ParseKind(args[0])
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := g.storedNames(ctxOf(cmd), k)
	return filterPrefix(without(names, args[1:]), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeNamesOf completes names of one kind (for flags such as
// --aws-secret-name).
func (g *globals) completeNamesOf(k resource.Kind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return filterPrefix(g.storedNames(ctxOf(cmd), k), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNamespaces offers every namespace that holds a resource.
func (g *globals) completeNamespaces(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	st, err := g.openExistingStore(ctxOf(cmd))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer st.Close()
	seen := map[string]bool{}
	for _, k := range resource.Kinds {
		objs, err := st.List(ctxOf(cmd), k, "")
		if err != nil {
			continue
		}
		for _, o := range objs {
			seen[o.GetMetadata().Namespace] = true
		}
	}
	var out []string
	for ns := range seen {
		out = append(out, ns)
	}
	sort.Strings(out)
	return filterPrefix(out, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func (g *globals) storedNames(ctx context.Context, k resource.Kind) []string {
	st, err := g.openExistingStore(ctx)
	if err != nil {
		return nil
	}
	defer st.Close()
	return names(ctx, st, k, g.namespaceFor(""))
}

func names(ctx context.Context, st store.Store, k resource.Kind, ns string) []string {
	objs, err := st.List(ctx, k, ns)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetMetadata().Name)
	}
	return out
}

func ctxOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func filterPrefix(words []string, prefix string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}

func without(words, drop []string) []string {
	var out []string
	for _, w := range words {
		found := false
		for _, d := range drop {
			if w == d {
				found = true
				break
			}
		}
		if !found {
			out = append(out, w)
		}
	}
	return out
}
