package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

func newDeleteCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete KIND NAME...",
		Short: "Delete resources by kind and name",
		Long: `Delete resources by kind and name, as kubectl delete does.

An upstream that virtual services route to, or a secret that upstreams use,
is not deleted: the error names the resources that use it, as Gloo's
validation webhook refuses such a delete. Change those first, or pass --force
to delete it anyway (their routes are then dropped, and a warning names them).`,
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
			return runDelete(cmd.Context(), g, args[0], args[1:], force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete an upstream or secret even while other resources use it")
	return cmd
}

// runDelete deletes each name; like kubectl it goes on after a missing one
// and fails at the end.
func runDelete(ctx context.Context, g *globals, kindArg string, names []string, force bool) error {
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
		users, err := usersOf(ctx, st, k, ns, name)
		inUse := ""
		if err == nil && len(users) > 0 {
			inUse = fmt.Sprintf("%s %s/%s is used by %s", k, ns, name, strings.Join(users, " and "))
			if !force {
				err = withHint(errors.New(inUse), "change those first, or delete it anyway with --force")
			}
		}
		if err == nil {
			err = st.Delete(ctx, k, ns, name)
		}
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
		if inUse != "" {
			fmt.Fprintf(g.stderr, "Warning: %s: what uses it now fails (routes are dropped, upstreams Rejected)\n", inUse)
		}
	}
	return last
}

// usersOf names the resources that use the resource k ns/name:
// "VirtualService ns/vs (routes[0], routes[2])" for each virtual service or
// route table with routes referencing an upstream, upstream group or route
// table (by ref), "UpstreamGroup ns/g" for each group with an upstream,
// "Upstream ns/up" for each upstream using a secret. Other kinds have no
// users.
func usersOf(ctx context.Context, st store.Store, k resource.Kind, ns, name string) ([]string, error) {
	var users []string
	list := func(kind resource.Kind) ([]resource.Object, error) {
		l, err := st.List(ctx, kind, "")
		if err != nil && !errors.As(err, new(*store.CorruptError)) {
			return nil, err
		}
		return l, nil
	}
	switch k {
	case resource.KindUpstream, resource.KindUpstreamGroup, resource.KindRouteTable:
		for _, kind := range []resource.Kind{resource.KindVirtualService, resource.KindRouteTable} {
			objs, err := list(kind)
			if err != nil {
				return nil, err
			}
			for _, o := range objs {
				var routes []gateway.Route
				switch x := o.(type) {
				case *resource.VirtualService:
					if x.Spec.VirtualHost != nil {
						routes = x.Spec.VirtualHost.Routes
					}
				case *resource.RouteTable:
					routes = x.Spec.Routes
				}
				var using []string
				for i, r := range routes {
					for _, ref := range routeRefs(&r, k) {
						if ref.Name == name && cmpNamespace(ref.Namespace, o.GetMetadata().Namespace) == ns {
							using = append(using, fmt.Sprintf("routes[%d]", i))
							break
						}
					}
				}
				if len(using) > 0 {
					users = append(users, fmt.Sprintf("%s (%s)", resource.Ref(o), strings.Join(using, ", ")))
				}
			}
		}
		if k != resource.KindUpstream {
			break
		}
		groups, err := list(resource.KindUpstreamGroup)
		if err != nil {
			return nil, err
		}
		for _, o := range groups {
			for _, d := range o.(*resource.UpstreamGroup).Spec.Destinations {
				if ref := destUpstream(d.Destination); ref != nil && ref.Name == name && cmpNamespace(ref.Namespace, o.GetMetadata().Namespace) == ns {
					users = append(users, resource.Ref(o))
					break
				}
			}
		}
	case resource.KindAuthConfig:
		vss, err := st.List(ctx, resource.KindVirtualService, "")
		if err != nil && !errors.As(err, new(*store.CorruptError)) {
			return nil, err
		}
		for _, o := range vss {
			vs := o.(*resource.VirtualService)
			if where := authConfigUses(vs, ns, name); len(where) > 0 {
				users = append(users, fmt.Sprintf("%s (%s)", resource.Ref(vs), strings.Join(where, ", ")))
			}
		}
	case resource.KindSecret:
		ups, err := list(resource.KindUpstream)
		if err != nil {
			return nil, err
		}
		for _, o := range ups {
			up := o.(*resource.Upstream)
			if a := up.Spec.AWS; a != nil && a.SecretRef != nil && a.SecretRef.Name == name && cmpNamespace(a.SecretRef.Namespace, up.Metadata.Namespace) == ns {
				users = append(users, resource.Ref(up))
			}
		}
	}
	return users, nil
}

// routeRefs returns the references of kind k a route holds: its upstreams
// (single and multi), its upstream group, or the route table it
// delegates to by ref (a selector names none).
func routeRefs(r *gateway.Route, k resource.Kind) []*core.ResourceRef {
	var refs []*core.ResourceRef
	switch a := r.RouteAction; {
	case k == resource.KindUpstream && a != nil:
		refs = append(refs, destUpstream(a.Single))
		if a.Multi != nil {
			for _, d := range a.Multi.Destinations {
				refs = append(refs, destUpstream(d.Destination))
			}
		}
	case k == resource.KindUpstreamGroup && a != nil:
		refs = append(refs, a.UpstreamGroup)
	case k == resource.KindRouteTable && r.DelegateAction != nil:
		d := r.DelegateAction
		if d.Name != "" || d.Namespace != "" {
			refs = append(refs, &core.ResourceRef{Name: d.Name, Namespace: d.Namespace})
		} else {
			refs = append(refs, d.Ref)
		}
	}
	return slices.DeleteFunc(refs, func(r *core.ResourceRef) bool { return r == nil })
}

func destUpstream(d *gateway.Destination) *core.ResourceRef {
	if d == nil {
		return nil
	}
	return d.Upstream
}

// authConfigUses names where a virtual service refers to the AuthConfig
// ns/name: "virtualHost", "routes[2]".
func authConfigUses(vs *resource.VirtualService, ns, name string) []string {
	vh := vs.Spec.VirtualHost
	if vh == nil {
		return nil
	}
	refers := func(e *enterprise.ExtAuthExtension) bool {
		return e != nil && e.ConfigRef != nil && e.ConfigRef.Name == name && cmpNamespace(e.ConfigRef.Namespace, vs.Metadata.Namespace) == ns
	}
	var where []string
	if vh.Options != nil && refers(vh.Options.Extauth) {
		where = append(where, "virtualHost")
	}
	for i, r := range vh.Routes {
		if r.Options != nil && refers(r.Options.Extauth) {
			where = append(where, fmt.Sprintf("routes[%d]", i))
		}
	}
	return where
}

// cmpNamespace is a reference's namespace: its own, else the referrer's.
func cmpNamespace(ref, referrer string) string {
	if ref != "" {
		return ref
	}
	return referrer
}
