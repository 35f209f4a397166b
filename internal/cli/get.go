package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/translate"
)

var outputFormats = []string{"yaml", "json", "wide", "name"}

type getOptions struct {
	output        string
	allNamespaces bool
	showSecrets   bool
}

func newGetCommand(g *globals) *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get KIND [NAME...]",
		Short: "Show resources as a table, YAML or JSON",
		Long: `Show resources as a table, YAML or JSON, as kubectl get does.

KIND is upstream (upstreams, us), virtualservice (virtualservices, vs), secret
(secrets) or settings. Secret values are shown as "` + redacted + `" unless
--show-secrets is given.`,
		Example: `  lambdagate get upstreams
  lambdagate get upstream -n gloo-system aws-upstream -o yaml
  lambdagate get vs -A
  lambdagate get secret aws-creds -o yaml --show-secrets`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return withHint(&usageError{errors.New("you must say which kind of resource to get")}, "lambdagate get upstreams (kinds: upstream/us, virtualservice/vs, secret, settings)")
			}
			return nil
		},
		ValidArgsFunction: g.completeKindAndNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGet(cmd.Context(), g, o, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output format: yaml, json, wide or name (default: a table)")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list resources in every namespace")
	f.BoolVar(&o.showSecrets, "show-secrets", false, "print secret values instead of "+redacted)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// parseKind resolves a user's kind with a hint listing the kinds.
func parseKind(s string) (resource.Kind, error) {
	k, err := resource.ParseKind(s)
	if err != nil {
		return "", withHint(err, "lambdagate get upstreams (kinds: upstream/us, virtualservice/vs, secret, settings)")
	}
	return k, nil
}

func runGet(ctx context.Context, g *globals, o getOptions, kindArg string, names []string) (err error) {
	// A corrupt record does not hide the readable ones: they are printed,
	// then the corruption is reported as the command's error.
	var corrupt error
	defer func() {
		if err == nil {
			err = corrupt
		}
	}()
	k, err := parseKind(kindArg)
	if err != nil {
		return err
	}
	switch o.output {
	case "", "yaml", "json", "wide", "name":
	default:
		return &usageError{fmt.Errorf("--output: unsupported value %q: must be one of %s", o.output, strings.Join(outputFormats, ", "))}
	}
	if o.allNamespaces && len(names) > 0 {
		return &usageError{errors.New("a resource cannot be retrieved by name across all namespaces: drop -A or the names")}
	}
	ns := g.namespaceFor("")
	listHint := fmt.Sprintf("lambdagate get %s -n %s", resource.Plural(k), ns)

	st, err := g.openExistingStore(ctx)
	if errors.Is(err, errNoStore) {
		st = nil
	} else if err != nil {
		return err
	}
	if st != nil {
		defer st.Close()
	}

	var objs []resource.Object
	if len(names) > 0 {
		for _, name := range names {
			if st == nil {
				return withHint(&store.Error{Code: store.NotFound, Kind: k, Namespace: ns, Name: name}, listHint)
			}
			obj, err := st.Get(ctx, k, ns, name)
			if store.IsNotFound(err) {
				return withHint(err, listHint)
			}
			if err != nil {
				return err
			}
			objs = append(objs, obj)
		}
	} else if st != nil {
		listNS := ns
		if o.allNamespaces {
			listNS = ""
		}
		objs, err = st.List(ctx, k, listNS)
		var ce *store.CorruptError
		if errors.As(err, &ce) {
			corrupt, err = err, nil
		}
		if err != nil {
			return err
		}
	}

	if len(objs) == 0 {
		if o.output == "yaml" || o.output == "json" {
			return printObjects(g.stdout, o.output, nil, false, o.showSecrets)
		}
		if o.allNamespaces {
			fmt.Fprintln(g.stderr, "No resources found")
		} else {
			fmt.Fprintf(g.stderr, "No resources found in %s namespace.\n", ns)
		}
		return nil
	}

	switch o.output {
	case "yaml", "json":
		return printObjects(g.stdout, o.output, objs, len(names) == 1, o.showSecrets)
	case "name":
		for _, obj := range objs {
			fmt.Fprintln(g.stdout, objectName(obj))
		}
		return nil
	}
	return printTable(g, k, objs, o.output == "wide", o.allNamespaces, time.Now())
}

// printTable writes kubectl-style columns per kind.
func printTable(g *globals, k resource.Kind, objs []resource.Object, wide, allNS bool, now time.Time) error {
	var header []string
	if allNS {
		header = append(header, "NAMESPACE")
	}
	header = append(header, "NAME")
	switch k {
	case resource.KindUpstream:
		header = append(header, "STATUS", "REGION", "FUNCTIONS", "SECRET")
	case resource.KindVirtualService:
		header = append(header, "STATUS", "DOMAINS", "ROUTES")
	case resource.KindSecret:
		header = append(header, "TYPE", "KEYS")
	case resource.KindSettings:
		header = append(header, "STATUS")
	case resource.KindUpstreamGroup:
		header = append(header, "STATUS", "DESTINATIONS")
	case resource.KindRouteTable:
		header = append(header, "STATUS", "ROUTES", "WEIGHT")
	case resource.KindAuthConfig:
		header = append(header, "STATUS", "CONFIGS")
	}
	header = append(header, "AGE")
	if wide && resource.HasStatus(k) {
		header = append(header, "REASON")
	}
	t := newTable(g.stdout, header...)
	for _, obj := range objs {
		m := obj.GetMetadata()
		var row []string
		if allNS {
			row = append(row, m.Namespace)
		}
		row = append(row, m.Name)
		switch x := obj.(type) {
		case *resource.Upstream:
			row = append(row, state(obj))
			var region, secret, fns string
			if a := x.Spec.AWS; a != nil {
				region = a.Region
				if a.SecretRef != nil {
					secret = a.SecretRef.Namespace
					if secret == "" {
						secret = m.Namespace
					}
					secret += "/" + a.SecretRef.Name
				}
				if wide {
					// gloo#5211: show which version each function is.
					var l []string
					for _, f := range a.LambdaFunctions {
						q := f.Qualifier
						if q == "" {
							q = "$LATEST"
						}
						l = append(l, f.LambdaFunctionName+":"+q)
					}
					fns = strings.Join(l, ",")
				} else {
					fns = strconv.Itoa(len(a.LambdaFunctions))
				}
			}
			if !wide && fns == "" {
				fns = "0"
			}
			row = append(row, region, fns, secret)
		case *resource.VirtualService:
			row = append(row, state(obj))
			var domains []string
			routes := 0
			if vh := x.Spec.VirtualHost; vh != nil {
				domains = vh.Domains
				routes = len(vh.Routes)
			}
			if len(domains) == 0 {
				domains = []string{"*"} // the documented default
			}
			// Routes served, when the gateway's status describes this
			// generation; the dropped ones apart.
			col := strconv.Itoa(routes)
			if st := x.Status; st != nil && st.ObservedGeneration == m.Generation {
				if d := translate.DroppedRoutes(st.Reason); d > 0 {
					col = fmt.Sprintf("%d (%d dropped)", routes-d, d)
				}
			}
			row = append(row, strings.Join(domains, ","), col)
		case *resource.Secret:
			keys := make([]string, 0, len(x.Data))
			for key := range x.Data {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			row = append(row, x.Type, strings.Join(keys, ","))
		case *resource.Settings:
			row = append(row, state(obj))
		case *resource.UpstreamGroup:
			row = append(row, state(obj), strconv.Itoa(len(x.Spec.Destinations)))
		case *resource.RouteTable:
			w := int32(0) // Gloo's default weight
			if x.Spec.Weight != nil {
				w = *x.Spec.Weight
			}
			row = append(row, state(obj), strconv.Itoa(len(x.Spec.Routes)), strconv.Itoa(int(w)))
		case *resource.AuthConfig:
			row = append(row, state(obj), authConfigTypes(x))
		}
		row = append(row, age(m.CreationTimestamp, now))
		if wide && resource.HasStatus(k) {
			reason := ""
			if s := obj.GetStatus(); s != nil {
				reason = strings.ReplaceAll(s.Reason, "\n", " ")
			}
			row = append(row, reason)
		}
		t.row(row...)
	}
	return t.flush()
}

// state is the Gloo status state; an object no controller has looked at
// yet is Pending, as glooctl shows it.
func state(o resource.Object) string {
	if s := o.GetStatus(); s != nil && s.State != "" {
		return string(s.State)
	}
	return string(core.StatePending)
}

// authConfigTypes lists an AuthConfig's config types in order
// ("apiKeyAuth,lambdaAuthorizer").
func authConfigTypes(ac *resource.AuthConfig) string {
	var types []string
	for _, c := range ac.Spec.Configs {
		switch {
		case c.ApiKeyAuth != nil:
			types = append(types, "apiKeyAuth")
		case c.LambdaAuthorizer != nil:
			types = append(types, "lambdaAuthorizer")
		default:
			types = append(types, c.Unimplemented.Names()...)
		}
	}
	return strings.Join(types, ",")
}
