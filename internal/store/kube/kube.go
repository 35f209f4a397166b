// Package kube is the Kubernetes resource store: a store.Store backed by the
// API server, with Upstream, VirtualService and Settings as custom resources
// (deploy/crds) and core/v1 Secrets. Reads for the gateway come from
// informer caches; writes go to the API server with its optimistic
// concurrency on resourceVersion; statuses use the status subresource.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// Defaults for the options.
const (
	DefaultSyncTimeout    = 30 * time.Second
	DefaultHealthInterval = 2 * time.Second
	DefaultRequestTimeout = 10 * time.Second
)

// Options configures New and Open.
type Options struct {
	// Namespace limits the store to one namespace. Default "": every
	// namespace (the gateway then needs cluster-wide read access).
	Namespace string
	// SyncTimeout bounds the wait for the informer caches on the first
	// Watch. Default 30s.
	SyncTimeout time.Duration
	// HealthInterval is how often the API server's /readyz is probed while
	// informers run, so that an unreachable API server makes List fail
	// (the gateway then reports not-ready and keeps its last snapshot).
	// Default 2s.
	HealthInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// StatusKey is the key of lambdagate's entry of status.statuses on
	// resources stored under Gloo's CRDs, which keep one status per
	// controller keyed by its namespace. Default: $POD_NAMESPACE, else
	// "lambdagate". Run lambdagate in a namespace of its own so that its
	// statuses never overwrite Gloo's.
	StatusKey string
}

// RESTConfig loads a client configuration: the kubeconfig file given, else
// $KUBECONFIG, else ~/.kube/config, else the in-cluster service account.
// kubeContext selects a context of the kubeconfig ("" is its current one).
func RESTConfig(kubeconfig, kubeContext string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the Kubernetes client configuration (--kubeconfig %q, --context %q): %w", kubeconfig, kubeContext, err)
	}
	return cfg, nil
}

// Store is a store.Store on a Kubernetes API server.
type Store struct {
	cfg  *rest.Config
	dyn  dynamic.Interface
	kc   kubernetes.Interface
	opts Options
	log  *slog.Logger

	// Informers start on the first Watch (the gateway); the CLI's one-shot
	// commands read the API server directly.
	startMu  sync.Mutex
	started  bool
	synced   atomic.Bool
	informer map[resource.Kind][]cache.SharedIndexInformer // one per watched namespace
	healthy  atomic.Bool

	shapeMu sync.Mutex
	shapes  map[resource.Kind]statusShape
	secrets secretCache
	// watched are the namespaces of Settings watchNamespaces the informers
	// watch; nil for every namespace.
	watched []string
	meta    metadata.Interface

	mu       sync.Mutex
	watchers map[*watcher]struct{}
	closed   bool
	done     chan struct{}
	wg       sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// New returns a store using cfg. It does not contact the API server.
func New(cfg *rest.Config, o Options) (*Store, error) {
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = DefaultSyncTimeout
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = DefaultHealthInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.StatusKey == "" {
		o.StatusKey = os.Getenv("POD_NAMESPACE")
	}
	if o.StatusKey == "" {
		o.StatusKey = "lambdagate"
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "lambdagate"
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	s := &Store{cfg: cfg, dyn: dyn, kc: kc, meta: meta, opts: o, log: o.Logger,
		informer: map[resource.Kind][]cache.SharedIndexInformer{},
		secrets:  secretCache{content: map[string]*unstructured.Unstructured{}},
		shapes:   map[resource.Kind]statusShape{},
		watchers: map[*watcher]struct{}{}, done: make(chan struct{})}
	s.healthy.Store(true)
	return s, nil
}

// Open is New with the configuration RESTConfig loads.
func Open(kubeconfig, kubeContext string, o Options) (*Store, error) {
	cfg, err := RESTConfig(kubeconfig, kubeContext)
	if err != nil {
		return nil, err
	}
	return New(cfg, o)
}

// Clientset returns the typed client (leases, tests).
func (s *Store) Clientset() kubernetes.Interface { return s.kc }

// GVR returns the API resource of a kind.
func GVR(k resource.Kind) schema.GroupVersionResource {
	gv, _ := schema.ParseGroupVersion(resource.APIVersion(k))
	return gv.WithResource(resource.Plural(k))
}

func (s *Store) client(k resource.Kind, ns string) dynamic.ResourceInterface {
	return s.dyn.Resource(GVR(k)).Namespace(ns)
}

func checkKind(k resource.Kind) error {
	if _, err := resource.New(k); err != nil {
		return &store.Error{Code: store.Invalid, Kind: k, Detail: err.Error()}
	}
	return nil
}

// Get implements store.Store. It always reads the API server, so that a
// read-modify-write (discovery) starts from the current version.
func (s *Store) Get(ctx context.Context, kind resource.Kind, namespace, name string) (resource.Object, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	namespace = defaultNS(namespace)
	u, err := s.client(kind, namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, mapErr(err, kind, namespace, name)
	}
	return fromUnstructured(kind, u, s.opts.StatusKey)
}

// List implements store.Store. Once Watch started the informers, it reads
// their caches, and fails with Unavailable while the API server does not
// answer its health probe, so that the caller does not mistake a stale
// cache for the current configuration.
func (s *Store) List(ctx context.Context, kind resource.Kind, namespace string) ([]resource.Object, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	var items []*unstructured.Unstructured
	if infs := s.cachedInformers(kind); infs != nil {
		if !s.healthy.Load() {
			return nil, &store.Error{Code: store.Unavailable, Kind: kind, Namespace: namespace, Detail: "the Kubernetes API server is unreachable"}
		}
		if kind == resource.KindSecret {
			l, err := s.listSecrets(ctx, infs, namespace)
			if err != nil {
				return nil, err
			}
			items = l
		}
		for _, o := range listAll(infs) {
			u, ok := o.(*unstructured.Unstructured)
			if ok && (namespace == "" || u.GetNamespace() == namespace) {
				items = append(items, u)
			}
		}
	} else {
		l, err := s.client(kind, namespace).List(ctx, metav1.ListOptions{})
		if err != nil && apierrors.IsNotFound(err) && slices.Contains(addedKinds, kind) {
			// The kind's CRD is not installed (see addedKinds): none.
			return nil, nil
		}
		if err != nil {
			return nil, mapErr(err, kind, namespace, "")
		}
		for i := range l.Items {
			items = append(items, &l.Items[i])
		}
	}
	out := make([]resource.Object, 0, len(items))
	for _, u := range items {
		o, err := fromUnstructured(kind, u, s.opts.StatusKey)
		if err != nil {
			// One malformed object (an old CRD version, a hand edit) must
			// not hide the others.
			s.log.Error("skipping an object that cannot be decoded", "kind", string(kind), "namespace", u.GetNamespace(), "name", u.GetName(), "error", err.Error())
			continue
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].GetMetadata(), out[j].GetMetadata()
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out, nil
}

func (s *Store) cachedInformers(k resource.Kind) []cache.SharedIndexInformer {
	if !s.synced.Load() {
		return nil
	}
	s.startMu.Lock()
	defer s.startMu.Unlock()
	return s.informer[k]
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, obj resource.Object) (resource.Object, error) {
	c, err := normalize(obj)
	if err != nil {
		return nil, err
	}
	m := c.GetMetadata()
	u, err := toUnstructured(c)
	if err != nil {
		return nil, err
	}
	u.SetResourceVersion("")
	unstructured.RemoveNestedField(u.Object, "status")
	got, err := s.client(c.GetKind(), m.Namespace).Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		return nil, mapErr(err, c.GetKind(), m.Namespace, m.Name)
	}
	return fromUnstructured(c.GetKind(), got, s.opts.StatusKey)
}

// Update implements store.Store. It replaces labels, annotations and the
// kind's body (spec; a Secret's type and data) on the current object, so
// that metadata lambdagate does not model (finalizers, owner references,
// kubectl's last-applied annotation when sent back) is kept. With an empty
// resourceVersion it retries conflicts: the update is unconditional.
func (s *Store) Update(ctx context.Context, obj resource.Object) (resource.Object, error) {
	c, err := normalize(obj)
	if err != nil {
		return nil, err
	}
	m := c.GetMetadata()
	want, err := toUnstructured(c)
	if err != nil {
		return nil, err
	}
	kind := c.GetKind()
	return s.readModifyWrite(ctx, kind, m.Namespace, m.Name, m.ResourceVersion, false, func(cur *unstructured.Unstructured) {
		cur.SetLabels(m.Labels)
		cur.SetAnnotations(m.Annotations)
		for _, key := range bodyKeys(kind) {
			if v, ok := want.Object[key]; ok {
				cur.Object[key] = v
			} else {
				delete(cur.Object, key)
			}
		}
	})
}

// UpdateStatus implements store.Store, through the status subresource. A
// status equal to the stored one writes nothing.
func (s *Store) UpdateStatus(ctx context.Context, obj resource.Object) (resource.Object, error) {
	c, err := normalize(obj)
	if err != nil {
		return nil, err
	}
	m := c.GetMetadata()
	kind := c.GetKind()
	if !resource.HasStatus(kind) {
		return nil, &store.Error{Code: store.Invalid, Kind: kind, Namespace: m.Namespace, Name: m.Name, Detail: fmt.Sprintf("kind %s has no status", kind)}
	}
	var st map[string]any
	if cs := c.GetStatus(); cs != nil {
		if st, err = toMap(cs); err != nil {
			return nil, &store.Error{Code: store.Invalid, Kind: kind, Namespace: m.Namespace, Name: m.Name, Detail: fmt.Sprintf("encoding status: %v", err)}
		}
	}
	sh, err := s.shapeOf(ctx, kind)
	if err != nil {
		return nil, err
	}
	if !sh.subresource {
		return s.readModifyWrite(ctx, kind, m.Namespace, m.Name, m.ResourceVersion, false, func(cur *unstructured.Unstructured) {
			setNestedStatus(cur, s.opts.StatusKey, st)
		})
	}
	return s.readModifyWrite(ctx, kind, m.Namespace, m.Name, m.ResourceVersion, true, func(cur *unstructured.Unstructured) {
		if st == nil {
			delete(cur.Object, "status")
		} else {
			cur.Object["status"] = st
		}
	})
}

// DiscoveryFieldManager is the field manager of discovery's patches, so
// that managedFields show which fields discovery owns.
const DiscoveryFieldManager = "lambdagate-discovery"

// PatchLambdaFunctions implements store.Store with a JSON merge patch of
// spec.aws.lambdaFunctions and the annotations alone, so that fields
// lambdagate does not know (Gloo's CRDs keep them) are never written back.
// The patch carries the resourceVersion read: the API server refuses it
// with a conflict when the object changed meanwhile, and it can then never
// recreate a spec.aws removed in between.
func (s *Store) PatchLambdaFunctions(ctx context.Context, namespace, name, resourceVersion string, functions []gloo.LambdaFunctionSpec, annotations map[string]string) (resource.Object, error) {
	namespace = defaultNS(namespace)
	kind := resource.KindUpstream
	cl := s.client(kind, namespace)
	const attempts = 5
	for i := 0; ; i++ {
		rv := resourceVersion
		if rv == "" {
			cur, err := cl.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, mapErr(err, kind, namespace, name)
			}
			if _, ok, _ := unstructured.NestedMap(cur.Object, "spec", "aws"); !ok {
				return nil, &store.Error{Code: store.Invalid, Kind: kind, Namespace: namespace, Name: name, Detail: "spec.aws is not set"}
			}
			rv = cur.GetResourceVersion()
		}
		ann := map[string]any{}
		for k, v := range annotations {
			if v == "" {
				ann[k] = nil
			} else {
				ann[k] = v
			}
		}
		var fns any
		if len(functions) > 0 {
			fns = functions
		}
		meta := map[string]any{"resourceVersion": rv}
		if len(ann) > 0 {
			meta["annotations"] = ann
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": meta,
			"spec":     map[string]any{"aws": map[string]any{"lambdaFunctions": fns}},
		})
		if err != nil {
			return nil, &store.Error{Code: store.Invalid, Kind: kind, Namespace: namespace, Name: name, Detail: err.Error()}
		}
		got, err := cl.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: DiscoveryFieldManager})
		if err == nil {
			return fromUnstructured(kind, got, s.opts.StatusKey)
		}
		if resourceVersion == "" && apierrors.IsConflict(err) && i < attempts-1 {
			continue
		}
		return nil, mapErr(err, kind, namespace, name)
	}
}

// readModifyWrite gets the current object, checks resourceVersion (when
// given), applies change, and writes it back unless nothing changed. The
// API server checks the resourceVersion again on write, so a concurrent
// change in between is a conflict too. An empty resourceVersion retries
// conflicts a few times.
func (s *Store) readModifyWrite(ctx context.Context, kind resource.Kind, ns, name, rv string, status bool, change func(*unstructured.Unstructured)) (resource.Object, error) {
	cl := s.client(kind, ns)
	const attempts = 5
	for i := 0; ; i++ {
		cur, err := cl.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, mapErr(err, kind, ns, name)
		}
		if rv != "" && cur.GetResourceVersion() != rv {
			return nil, &store.Error{Code: store.Conflict, Kind: kind, Namespace: ns, Name: name,
				Detail: fmt.Sprintf("resourceVersion %q is stale, current is %q; get the resource again and retry", rv, cur.GetResourceVersion())}
		}
		next := cur.DeepCopy()
		change(next)
		if sameContent(cur, next, status, s.opts.StatusKey) {
			return fromUnstructured(kind, cur, s.opts.StatusKey)
		}
		var got *unstructured.Unstructured
		if status {
			got, err = cl.UpdateStatus(ctx, next, metav1.UpdateOptions{})
		} else {
			got, err = cl.Update(ctx, next, metav1.UpdateOptions{})
		}
		if err == nil {
			return fromUnstructured(kind, got, s.opts.StatusKey)
		}
		if rv == "" && apierrors.IsConflict(err) && i < attempts-1 {
			continue
		}
		return nil, mapErr(err, kind, ns, name)
	}
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, kind resource.Kind, namespace, name string) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	namespace = defaultNS(namespace)
	if err := s.client(kind, namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return mapErr(err, kind, namespace, name)
	}
	return nil
}

// Close implements store.Store: it stops the informers and closes every
// watch channel.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// mapErr turns an API error into a store.Error with the matching code.
func mapErr(err error, kind resource.Kind, ns, name string) error {
	e := &store.Error{Kind: kind, Namespace: ns, Name: name}
	var status apierrors.APIStatus
	switch {
	case apierrors.IsNotFound(err):
		e.Code = store.NotFound
		// A 404 that names no object means the resource type is missing:
		// the CRDs are not installed.
		if !errors.As(err, &status) || status.Status().Details == nil || status.Status().Details.Name == "" {
			e.Detail = fmt.Sprintf("%v (are the CRDs of deploy/crds installed?)", err)
			if name == "" {
				e.Code = store.Unavailable
			}
		}
	case apierrors.IsAlreadyExists(err):
		e.Code = store.AlreadyExists
	case apierrors.IsConflict(err):
		e.Code = store.Conflict
		e.Detail = err.Error()
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		e.Code = store.Invalid
		e.Detail = err.Error()
	default:
		// Unreachable, forbidden, timeouts, server errors: the caller may
		// retry; the detail says which.
		e.Code = store.Unavailable
		e.Detail = err.Error()
	}
	return e
}

func defaultNS(ns string) string {
	if ns == "" {
		return core.DefaultNamespace
	}
	return ns
}
