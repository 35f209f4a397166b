package kube

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// maxQueue bounds the events a watcher may fall behind by; past it they
// are dropped for one Resync, as the store contract allows.
const maxQueue = 10000

// Watch implements store.Store. The first call starts one informer per
// kind and waits for their caches (Options.SyncTimeout); later calls share
// them. It fails with Unavailable while the API server is unreachable.
func (s *Store) Watch(ctx context.Context) (<-chan store.Event, error) {
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	if !s.healthy.Load() {
		return nil, &store.Error{Code: store.Unavailable, Detail: "the Kubernetes API server is unreachable"}
	}
	w := &watcher{notify: make(chan struct{}, 1), out: make(chan store.Event, 64)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, &store.Error{Code: store.Unavailable, Detail: "store closed"}
	}
	s.watchers[w] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		w.run(ctx, s.done)
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	}()
	return w.out, nil
}

// start starts the informers once and waits until their caches are
// synced. A call that times out leaves them running; the next call waits
// again.
func (s *Store) start(ctx context.Context) error {
	s.startMu.Lock()
	if !s.started {
		s.started = true
		s.detectShapes(ctx)
		absent := s.absentKinds(ctx)
		stop := make(chan struct{})
		var shutdown []func()
		for _, ns := range s.watchNamespaces(ctx) {
			f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(s.dyn, 0, ns, nil)
			mf := metadatainformer.NewFilteredSharedInformerFactory(s.meta, 0, ns, nil)
			for _, k := range resource.Kinds {
				if absent[k] {
					continue
				}
				var inf cache.SharedIndexInformer
				if k == resource.KindSecret {
					inf = mf.ForResource(GVR(k)).Informer()
					_ = inf.SetTransform(stripSecretMeta)
					_, _ = inf.AddEventHandler(s.secretHandler())
				} else {
					inf = f.ForResource(GVR(k)).Informer()
					_, _ = inf.AddEventHandler(s.handler(k))
				}
				_ = inf.SetWatchErrorHandler(s.watchErrorHandler(k))
				s.informer[k] = append(s.informer[k], inf)
			}
			f.Start(stop)
			mf.Start(stop)
			shutdown = append(shutdown, f.Shutdown, mf.Shutdown)
		}
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			<-s.done
			close(stop)
			for _, f := range shutdown {
				f()
			}
		}()
		go func() { defer s.wg.Done(); s.probeLoop() }()
	}
	var infs []cache.SharedIndexInformer
	for _, l := range s.informer {
		infs = append(infs, l...)
	}
	s.startMu.Unlock()
	if s.synced.Load() {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, s.opts.SyncTimeout)
	defer cancel()
	syncs := make([]cache.InformerSynced, len(infs))
	for i, inf := range infs {
		syncs[i] = inf.HasSynced
	}
	if !cache.WaitForCacheSync(sctx.Done(), syncs...) {
		return &store.Error{Code: store.Unavailable, Detail: fmt.Sprintf("the Kubernetes caches did not sync within %s: is the API server reachable and are the CRDs of deploy/crds installed?", s.opts.SyncTimeout)}
	}
	s.synced.Store(true)
	return nil
}

// watchErrorHandler logs list and watch failures. Reachability itself is
// judged by the probe: client-go retries refused connections without
// calling this handler.
func (s *Store) watchErrorHandler(k resource.Kind) cache.WatchErrorHandler {
	return func(_ *cache.Reflector, err error) {
		s.log.Warn("watching the Kubernetes API failed; retrying", "kind", string(k), "error", err.Error())
	}
}

// probeLoop asks the API server's /readyz every HealthInterval and keeps
// healthy up to date; when it comes back, watchers get a Resync.
func (s *Store) probeLoop() {
	t := time.NewTicker(s.opts.HealthInterval)
	defer t.Stop()
	// Two failures in a row, so that one slow answer on a busy node does
	// not flip readiness.
	const threshold = 2
	failures := 0
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(s.opts.HealthInterval, 5*time.Second))
		_, err := s.kc.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		cancel()
		if err != nil {
			failures++
		} else {
			failures = 0
		}
		switch was := s.healthy.Load(); {
		case failures >= threshold && was:
			s.healthy.Store(false)
			s.log.Warn("the Kubernetes API server is unreachable; serving the last configuration", "error", err.Error())
			// Wakes the watchers: their next List fails, so the gateway
			// reports not-ready while it keeps the last snapshot.
			s.broadcast(store.Event{Type: store.Resync})
		case err == nil && !was:
			s.healthy.Store(true)
			s.log.Info("the Kubernetes API server is reachable again; resyncing")
			s.broadcast(store.Event{Type: store.Resync})
		}
	}
}

// Healthy reports whether the API server answered the last probe.
func (s *Store) Healthy() bool { return s.healthy.Load() }

func (s *Store) handler(k resource.Kind) cache.ResourceEventHandler {
	emit := func(typ store.EventType, obj any) {
		if !s.synced.Load() {
			// The initial list is the state, not a change.
			return
		}
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		o, err := fromUnstructured(k, u, s.opts.StatusKey)
		if err != nil {
			s.log.Error("skipping an event whose object cannot be decoded", "kind", string(k), "namespace", u.GetNamespace(), "name", u.GetName(), "error", err.Error())
			return
		}
		if set, ok := o.(*resource.Settings); ok && typ != store.Deleted {
			s.checkWatchNamespaces(set)
		}
		s.broadcast(store.Event{Type: typ, Object: o})
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { emit(store.Added, obj) },
		UpdateFunc: func(old, obj any) {
			ou, ok1 := old.(*unstructured.Unstructured)
			nu, ok2 := obj.(*unstructured.Unstructured)
			if ok1 && ok2 && ou.GetResourceVersion() == nu.GetResourceVersion() {
				return // a relist that changed nothing
			}
			emit(store.Modified, obj)
		},
		DeleteFunc: func(obj any) { emit(store.Deleted, obj) },
	}
}

func (s *Store) broadcast(e store.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watchers {
		w.push(e)
	}
}

// watcher queues events for one Watch caller, so that a slow reader never
// blocks the informers.
type watcher struct {
	mu     sync.Mutex
	queue  []store.Event
	notify chan struct{}
	out    chan store.Event
}

func (w *watcher) push(e store.Event) {
	w.mu.Lock()
	if len(w.queue) >= maxQueue {
		w.queue = append(w.queue[:0], store.Event{Type: store.Resync})
	} else {
		w.queue = append(w.queue, e)
	}
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *watcher) run(ctx context.Context, done <-chan struct{}) {
	defer close(w.out)
	for {
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		w.mu.Unlock()
		for _, e := range batch {
			select {
			case w.out <- e:
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
		select {
		case <-w.notify:
		case <-ctx.Done():
			return
		case <-done:
			return
		}
	}
}

// watchNamespaces returns the namespaces to watch: Options.Namespace when
// set, else Gloo's Settings watchNamespaces (read once, at start) plus the
// Settings' own namespace, as Gloo always watches its discovery namespace,
// else every namespace ("").
func (s *Store) watchNamespaces(ctx context.Context) []string {
	if s.opts.Namespace != "" {
		return []string{s.opts.Namespace}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.SyncTimeout)
	defer cancel()
	o, err := s.Get(ctx, resource.KindSettings, settingsNamespace, settingsName)
	if err != nil {
		if !store.IsNotFound(err) {
			s.log.Warn("reading Settings for watchNamespaces failed; watching every namespace", "error", err.Error())
		}
		return []string{""}
	}
	set := o.(*resource.Settings)
	if len(set.Spec.WatchNamespaces) == 0 {
		return []string{""}
	}
	seen := map[string]bool{settingsNamespace: true}
	nss := []string{settingsNamespace}
	for _, ns := range set.Spec.WatchNamespaces {
		if ns != "" && !seen[ns] {
			seen[ns] = true
			nss = append(nss, ns)
		}
	}
	s.watched = nss
	s.log.Info("watching the namespaces of Settings watchNamespaces; a change takes effect when the gateway restarts", "namespaces", nss)
	return nss
}

// checkWatchNamespaces warns when the Settings' watchNamespaces differ from
// the namespaces watched since the start.
func (s *Store) checkWatchNamespaces(set *resource.Settings) {
	if s.opts.Namespace != "" || set.Metadata.Namespace != settingsNamespace || set.Metadata.Name != settingsName {
		return
	}
	want := map[string]bool{}
	for _, ns := range set.Spec.WatchNamespaces {
		want[ns] = true
	}
	if len(want) > 0 {
		want[settingsNamespace] = true
	}
	same := len(want) == len(s.watched)
	for _, ns := range s.watched {
		same = same && want[ns]
	}
	if !same {
		s.log.Warn("Settings watchNamespaces changed; restart the gateway to watch the new namespaces", "watching", s.watched, "settings", set.Spec.WatchNamespaces)
	}
}

// The Settings lambdagate reads, as the translator does.
const (
	settingsNamespace = "gloo-system"
	settingsName      = "default"
)

// addedKinds are the kinds added after lambdagate's first CRDs. Helm
// installs a chart's crds/ on install only, so an installation upgraded
// with helm may lack their CRDs: their resources are then not read (with
// a warning) instead of the whole store failing to sync.
var addedKinds = []resource.Kind{resource.KindUpstreamGroup, resource.KindRouteTable, resource.KindAuthConfig}

// absentKinds returns the added kinds whose CRD the API server does not
// serve. A discovery failure counts as served, so that the informers'
// sync reports it.
func (s *Store) absentKinds(ctx context.Context) map[resource.Kind]bool {
	absent := map[resource.Kind]bool{}
	for _, k := range addedKinds {
		gvr := GVR(k)
		list, err := s.kc.Discovery().ServerResourcesForGroupVersion(gvr.GroupVersion().String())
		if err != nil && !apierrors.IsNotFound(err) {
			continue
		}
		served := false
		if list != nil {
			for _, r := range list.APIResources {
				served = served || r.Name == gvr.Resource
			}
		}
		if !served {
			absent[k] = true
			s.log.Warn("a CRD of deploy/crds is not installed: lambdagate reads no "+string(k)+" until it is installed (kubectl apply -f deploy/crds/) and lambdagate restarted",
				"crd", gvr.Resource+"."+gvr.Group)
		}
	}
	return absent
}
