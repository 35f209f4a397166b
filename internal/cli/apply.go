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
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"

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
Upstream, VirtualService.

An existing resource is merged with the manifest as kubectl apply merges a
custom resource: what the manifest sets replaces the stored value (lists
whole), fields it never set are kept (the functions discovery adds to
spec.aws.lambdaFunctions, the status), and fields the previous apply set and
this manifest no longer does are removed. The configuration applied is
recorded in the annotation kubectl.kubernetes.io/last-applied-configuration
(for a Secret with its values blanked).`,
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
			fmt.Fprintf(g.stderr, "Warning: %s: %s\n", printable(resource.Ref(o)), printableText(w.String()))
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

// applyObject creates o or merges it into the stored object as kubectl
// apply does (see mergeApplied) and says which: "created", "configured" or
// "unchanged". A nil st (dry run without a store) means nothing exists yet.
func applyObject(ctx context.Context, st store.Store, o resource.Object, dryRun bool) (string, error) {
	m := o.GetMetadata()
	if st == nil {
		return "created", nil
	}
	applied, err := withLastApplied(o)
	if err != nil {
		return "", err
	}
	var lastErr error
	for range maxApplyAttempts {
		cur, err := st.Get(ctx, o.GetKind(), m.Namespace, m.Name)
		if store.IsNotFound(err) {
			if dryRun {
				return "created", nil
			}
			_, err := st.Create(ctx, applied)
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
			upd := resource.DeepCopy(applied)
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
		upd, err := mergeApplied(cur, applied)
		if err != nil {
			return "", err
		}
		same, err := sameContent(cur, upd, true)
		if err != nil {
			return "", err
		}
		if same {
			return "unchanged", nil
		}
		// An object that only lacks the record of this configuration (made
		// by create, or applied by an older lambdagate) is unchanged for
		// the user; the record is still written so that the next apply can
		// remove what this one set.
		result := "configured"
		if same, err = sameContent(cur, upd, false); err != nil {
			return "", err
		} else if same {
			result = "unchanged"
		}
		if dryRun {
			return result, nil
		}
		upd.GetMetadata().ResourceVersion = cur.GetMetadata().ResourceVersion
		_, err = st.Update(ctx, upd)
		if store.IsConflict(err) || store.IsNotFound(err) {
			lastErr = err // someone else wrote in between: read again
			continue
		}
		if err != nil {
			return "", fmt.Errorf("updating %s: %w", resource.Ref(o), err)
		}
		return result, nil
	}
	return "", withHint(fmt.Errorf("applying %s: gave up after %d attempts: %w", resource.Ref(o), maxApplyAttempts, lastErr), "run apply again")
}

// sameContent compares what apply controls: labels, annotations (the
// last-applied one only with record) and spec (for a Secret: type and data),
// ignoring store-owned metadata and status.
func sameContent(a, b resource.Object, record bool) (bool, error) {
	ja, err := contentJSON(a, record)
	if err != nil {
		return false, err
	}
	jb, err := contentJSON(b, record)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ja, jb), nil
}

func contentJSON(o resource.Object, record bool) ([]byte, error) {
	c := content(o)
	if !record {
		delete(c.GetMetadata().Annotations, lastAppliedAnnotation)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", resource.Ref(o), err)
	}
	return b, nil
}

// content is a defaulted copy of o without store-owned metadata and
// status: what a manifest sets.
func content(o resource.Object) resource.Object {
	c := resource.DeepCopy(o)
	resource.Default(c)
	m := c.GetMetadata()
	m.ResourceVersion, m.Generation, m.UID, m.CreationTimestamp = "", 0, "", nil
	c.SetStatus(nil)
	if len(m.Annotations) == 0 {
		m.Annotations = nil
	}
	return c
}

// lastAppliedAnnotation is where kubectl apply keeps the configuration it
// last applied; using the same key lets kubectl and lambdagate take turns
// on a cluster's resources.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// withLastApplied returns what apply writes for the manifest o: its content
// (no store-owned metadata, no status) with the last-applied annotation
// recording that content. A secret's recorded values are blanked: only its
// keys are needed to notice a removed key, and the annotation is printed by
// get without the redaction data gets.
func withLastApplied(o resource.Object) (resource.Object, error) {
	c := content(o)
	m := c.GetMetadata()
	delete(m.Annotations, lastAppliedAnnotation)
	record := c
	if sec, ok := c.(*resource.Secret); ok && len(sec.Data) > 0 {
		blank := resource.DeepCopy(sec).(*resource.Secret)
		for k := range blank.Data {
			blank.Data[k] = []byte{}
		}
		record = blank
	}
	b, err := json.Marshal(record)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", resource.Ref(o), err)
	}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[lastAppliedAnnotation] = string(b)
	return c, nil
}

// mergeApplied is kubectl apply's three-way merge for resources without a
// strategic-merge schema (custom resources): a JSON merge patch from the
// stored object to applied, keeping fields the manifest never set (the
// functions discovery adds, the status) and dropping the ones the last
// applied configuration set and applied no longer does. Lists are replaced
// whole. Without a last-applied configuration (an object made by create or
// by another tool) nothing is dropped.
func mergeApplied(cur, applied resource.Object) (resource.Object, error) {
	original := []byte(cur.GetMetadata().Annotations[lastAppliedAnnotation])
	if !json.Valid(original) {
		original = nil
	}
	modified, err := json.Marshal(applied)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", resource.Ref(applied), err)
	}
	current, err := json.Marshal(cur)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", resource.Ref(cur), err)
	}
	patch, err := jsonmergepatch.CreateThreeWayJSONMergePatch(original, modified, current)
	if err != nil {
		return nil, fmt.Errorf("merging %s with the stored object: %w", resource.Ref(applied), err)
	}
	merged, err := jsonpatch.MergePatch(current, patch)
	if err != nil {
		return nil, fmt.Errorf("merging %s with the stored object: %w", resource.Ref(applied), err)
	}
	out, err := resource.New(cur.GetKind())
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(merged, out); err != nil {
		return nil, fmt.Errorf("merging %s with the stored object: %w", resource.Ref(applied), err)
	}
	return out, nil
}
