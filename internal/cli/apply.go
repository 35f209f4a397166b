package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// maxApplyAttempts bounds the get-then-update loop when another writer
// (discovery, the server's status writer, another CLI) keeps winning.
const maxApplyAttempts = 5

func newApplyCommand(g *globals) *cobra.Command {
	var files []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update resources from YAML or JSON manifests",
		Long: `Create or update resources from YAML or JSON manifests, as kubectl apply does.

-f takes a file, a directory (every *.yaml, *.yml and *.json in it, in name
order, not recursive) or "-" for standard input, and may be repeated. Every
document is decoded strictly and validated; invalid documents are reported
and skipped, the valid ones are still applied, and the exit code is 1 if any
failed. Resources are applied in dependency order: Settings, Secret,
Upstream, VirtualService.`,
		Example: `  lambdagate apply -f upstream.yaml
  lambdagate apply -f manifests/
  cat vs.yaml | lambdagate apply -f -`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return &usageError{errors.New("-f/--filename is required: a file, a directory or - for standard input")}
			}
			nsFlag := ""
			if cmd.Flags().Changed("namespace") {
				nsFlag = g.namespace
			}
			return runApply(cmd.Context(), g, files, dryRun, nsFlag)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "manifest file, directory or - (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate and show what would change without writing")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

// source is one input of apply.
type source struct {
	name string
	r    func() (io.ReadCloser, error)
}

// expandSources turns -f arguments into inputs: a directory contributes its
// manifest files in name order.
func expandSources(g *globals, args []string) ([]source, error) {
	var out []source
	for _, a := range args {
		if a == "-" {
			out = append(out, source{"-", func() (io.ReadCloser, error) { return io.NopCloser(g.stdin), nil }})
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, withHint(fmt.Errorf("reading -f %s: %w", a, err), "pass a manifest file, a directory of *.yaml/*.yml/*.json files, or - for standard input")
		}
		if !fi.IsDir() {
			out = append(out, fileSource(a))
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, fmt.Errorf("reading directory %s: %w", a, err)
		}
		n := 0
		for _, e := range entries { // ReadDir sorts by name
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".yaml", ".yml", ".json":
				if !e.IsDir() {
					out = append(out, fileSource(filepath.Join(a, e.Name())))
					n++
				}
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("reading directory %s: no *.yaml, *.yml or *.json files in it", a)
		}
	}
	return out, nil
}

func fileSource(path string) source {
	return source{path, func() (io.ReadCloser, error) { return os.Open(path) }}
}

// runApply decodes and validates every input, reports every problem, and
// applies the valid objects in dependency order.
//
// nsFlag is -n when given explicitly. As with kubectl, a manifest without a
// namespace goes into -n (default gloo-system), and one whose namespace
// differs from an explicit -n is refused.
func runApply(ctx context.Context, g *globals, files []string, dryRun bool, nsFlag string) error {
	sources, err := expandSources(g, files)
	if err != nil {
		return err
	}
	failed := 0
	report := func(err error) {
		failed++
		printError(g.stderr, nil, err)
	}
	var objs []resource.Object
	for _, src := range sources {
		rc, err := src.r()
		if err != nil {
			report(fmt.Errorf("reading %s: %w", src.name, err))
			continue
		}
		got, err := resource.DecodeAllIn(rc, src.name, g.namespace)
		rc.Close()
		var des resource.DecodeErrors
		switch {
		case errors.As(err, &des):
			for _, de := range des {
				report(de)
			}
		case err != nil:
			report(err)
		}
		objs = append(objs, got...)
	}
	var valid []resource.Object
	for _, o := range objs {
		if ns := o.GetMetadata().Namespace; nsFlag != "" && ns != nsFlag {
			report(withHint(fmt.Errorf("%s: the manifest's namespace %q does not match -n %q", resource.Ref(o), ns, nsFlag), "pass -n "+ns+" or remove metadata.namespace from the manifest"))
			continue
		}
		ps := resource.Validate(o)
		for _, w := range ps.Warnings() {
			fmt.Fprintf(g.stderr, "Warning: %s: %s\n", resource.Ref(o), w)
		}
		for _, w := range ps.Unserved() {
			fmt.Fprintf(g.stderr, "Warning: %s: %s (stored; Rejected, not served)\n", resource.Ref(o), w)
		}
		if err := resource.Check(o); err != nil {
			report(err)
			continue
		}
		valid = append(valid, o)
	}
	sortByKind(valid)
	if len(valid) == 0 && failed == 0 {
		return withHint(errors.New("no objects passed to apply"), "check that -f names manifests with apiVersion and kind")
	}

	if len(valid) > 0 {
		st, err := openForApply(ctx, g, dryRun)
		if err != nil {
			return err
		}
		if st != nil {
			defer st.Close()
		}
		for _, o := range valid {
			result, err := applyObject(ctx, st, o, dryRun)
			if err != nil {
				report(err)
				continue
			}
			if dryRun {
				result += " (dry run)"
			}
			fmt.Fprintf(g.stdout, "%s %s\n", objectName(o), result)
		}
	}
	if failed > 0 {
		return errReported
	}
	return nil
}

// openForApply opens the store; a dry run against a data directory that
// has no store yet needs none (everything would be created) and must not
// create one, so it gets a nil store.
func openForApply(ctx context.Context, g *globals, dryRun bool) (store.Store, error) {
	if !dryRun {
		return g.openStore(ctx)
	}
	st, err := g.openExistingStore(ctx)
	if errors.Is(err, errNoStore) {
		return nil, nil
	}
	return st, err
}

// sortByKind orders objects as resource.Kinds, keeping the input order
// within a kind.
func sortByKind(objs []resource.Object) {
	rank := func(o resource.Object) int { return slices.Index(resource.Kinds, o.GetKind()) }
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
}

// applyObject creates o or updates the stored object to match it and says
// which: "created", "configured" or "unchanged". A nil st (dry run without
// a store) means nothing exists yet.
func applyObject(ctx context.Context, st store.Store, o resource.Object, dryRun bool) (string, error) {
	m := o.GetMetadata()
	if st == nil {
		return "created", nil
	}
	var lastErr error
	for range maxApplyAttempts {
		cur, err := st.Get(ctx, o.GetKind(), m.Namespace, m.Name)
		if store.IsNotFound(err) {
			if dryRun {
				return "created", nil
			}
			_, err := st.Create(ctx, o)
			if store.IsAlreadyExists(err) {
				lastErr = err // created meanwhile: update it instead
				continue
			}
			if err != nil {
				return "", fmt.Errorf("creating %s: %w", resource.Ref(o), err)
			}
			return "created", nil
		}
		if errors.Is(err, &store.Error{Code: store.Invalid}) {
			// The stored record is corrupt: replacing it unconditionally
			// is the repair the store documents.
			if dryRun {
				return "configured", nil
			}
			upd := resource.DeepCopy(o)
			upd.GetMetadata().ResourceVersion = ""
			if _, err := st.Update(ctx, upd); err != nil {
				return "", fmt.Errorf("repairing %s: %w", resource.Ref(o), err)
			}
			return "configured", nil
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", resource.Ref(o), err)
		}
		// A manifest that names a resourceVersion asks for exactly that
		// version to be replaced, as with kubectl; it is not retried.
		if rv := m.ResourceVersion; rv != "" && rv != cur.GetMetadata().ResourceVersion {
			return "", withHint(fmt.Errorf("applying %s: the manifest has resourceVersion %q but the stored object is at %q: it was changed since the manifest was read",
				resource.Ref(o), rv, cur.GetMetadata().ResourceVersion), "remove metadata.resourceVersion from the manifest, or get the object again and edit that")
		}
		same, err := sameContent(cur, o)
		if err != nil {
			return "", err
		}
		if same {
			return "unchanged", nil
		}
		if dryRun {
			return "configured", nil
		}
		upd := resource.DeepCopy(o)
		upd.GetMetadata().ResourceVersion = cur.GetMetadata().ResourceVersion
		_, err = st.Update(ctx, upd)
		if store.IsConflict(err) || store.IsNotFound(err) {
			lastErr = err // someone else wrote in between: read again
			continue
		}
		if err != nil {
			return "", fmt.Errorf("updating %s: %w", resource.Ref(o), err)
		}
		return "configured", nil
	}
	return "", withHint(fmt.Errorf("applying %s: gave up after %d attempts: %w", resource.Ref(o), maxApplyAttempts, lastErr), "run apply again")
}

// sameContent compares what apply controls: labels, annotations and spec
// (for a Secret: type and data), ignoring store-owned metadata and status.
func sameContent(a, b resource.Object) (bool, error) {
	ja, err := contentJSON(a)
	if err != nil {
		return false, err
	}
	jb, err := contentJSON(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ja, jb), nil
}

func contentJSON(o resource.Object) ([]byte, error) {
	c := resource.DeepCopy(o)
	resource.Default(c)
	m := c.GetMetadata()
	m.ResourceVersion, m.Generation, m.UID, m.CreationTimestamp = "", 0, "", nil
	c.SetStatus(nil)
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", resource.Ref(o), err)
	}
	return b, nil
}
