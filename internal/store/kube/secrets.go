package kube

import (
	"context"
	"sort"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// A cluster holds many Secrets lambdagate never reads (Helm releases,
// service account tokens, other applications'): caching them all made every
// replica's memory grow with the cluster. The gateway watches Secrets'
// metadata only (name, namespace, resourceVersion; see stripSecretMeta) and
// keeps the full content of just the Secrets its upstreams and virtual
// services reference, fetched when first referenced and again when their
// resourceVersion changes.

// secretCache holds the referenced Secrets' content.
type secretCache struct {
	mu      sync.Mutex
	content map[string]*unstructured.Unstructured // "namespace/name"
}

// stripSecretMeta is the metadata informer's transform: it keeps only what
// telling Secrets and their versions apart needs, so that large
// annotations (kubectl's last-applied copy of the whole Secret) and managed
// fields are never cached.
func stripSecretMeta(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	// Labels stay: AuthConfigs select API key Secrets by label.
	return &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion, UID: m.UID, Labels: m.Labels,
	}}, nil
}

// secretRefs returns the "namespace/name" of every Secret a cached upstream
// (spec.aws.secretRef), virtual service (spec.sslConfig.secretRef) or
// AuthConfig (an apiKeyAuth's apiKeySecretRefs and labelSelector)
// references; a reference without a namespace means the referrer's.
func (s *Store) secretRefs() map[string]bool {
	refs := map[string]bool{}
	add := func(informers []cache.SharedIndexInformer, path ...string) {
		for _, o := range listAll(informers) {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			ref, ok, _ := unstructured.NestedStringMap(u.Object, path...)
			if !ok || ref["name"] == "" {
				continue
			}
			ns := ref["namespace"]
			if ns == "" {
				ns = u.GetNamespace()
			}
			refs[ns+"/"+ref["name"]] = true
		}
	}
	s.startMu.Lock()
	ups, vss := s.informer[resource.KindUpstream], s.informer[resource.KindVirtualService]
	s.startMu.Unlock()
	add(ups, "spec", "aws", "secretRef")
	add(vss, "spec", "sslConfig", "secretRef")
	s.startMu.Lock()
	acs, metas := s.informer[resource.KindAuthConfig], s.informer[resource.KindSecret]
	s.startMu.Unlock()
	addAPIKeySecrets(refs, acs, metas)
	return refs
}

// addAPIKeySecrets adds the Secrets the AuthConfigs' apiKeyAuth configs
// name or select by label (both in k8sSecretApikeyStorage and in Gloo's
// deprecated fields beside it).
func addAPIKeySecrets(refs map[string]bool, acs, metas []cache.SharedIndexInformer) {
	var selectors []map[string]string
	for _, o := range listAll(acs) {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		configs, _, _ := unstructured.NestedSlice(u.Object, "spec", "configs")
		for _, c := range configs {
			cm, _ := c.(map[string]any)
			ak, _ := cm["apiKeyAuth"].(map[string]any)
			if ak == nil {
				continue
			}
			for _, m := range []map[string]any{ak, nestedMap(ak, "k8sSecretApikeyStorage")} {
				if m == nil {
					continue
				}
				list, _, _ := unstructured.NestedSlice(m, "apiKeySecretRefs")
				for _, r := range list {
					rm, _ := r.(map[string]any)
					name, _ := rm["name"].(string)
					ns, _ := rm["namespace"].(string)
					if name == "" {
						continue
					}
					if ns == "" {
						ns = u.GetNamespace()
					}
					refs[ns+"/"+name] = true
				}
				if sel, ok, _ := unstructured.NestedStringMap(m, "labelSelector"); ok && len(sel) > 0 {
					selectors = append(selectors, sel)
				}
			}
		}
	}
	if len(selectors) == 0 {
		return
	}
	for _, o := range listAll(metas) {
		m, ok := o.(*metav1.PartialObjectMetadata)
		if !ok {
			continue
		}
		for _, sel := range selectors {
			if labelsMatch(m.Labels, sel) {
				refs[m.Namespace+"/"+m.Name] = true
				break
			}
		}
	}
}

func nestedMap(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func labelsMatch(labels, sel map[string]string) bool {
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// referenced reports whether a cached upstream or virtual service names the
// Secret.
func (s *Store) referenced(namespace, name string) bool {
	return s.secretRefs()[namespace+"/"+name]
}

// listSecrets is List for Secrets once the informers run: the referenced
// Secrets that exist, with their content fetched when the cached copy is
// older than the metadata the informer last saw.
func (s *Store) listSecrets(ctx context.Context, meta []cache.SharedIndexInformer, namespace string) ([]*unstructured.Unstructured, error) {
	refs := s.secretRefs()
	keys := make([]string, 0, len(refs))
	for k := range refs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s.secrets.mu.Lock()
	defer s.secrets.mu.Unlock()
	for k := range s.secrets.content {
		if !refs[k] {
			delete(s.secrets.content, k)
		}
	}
	var out []*unstructured.Unstructured
	for _, key := range keys {
		m := getByKey(meta, key)
		if m == nil {
			delete(s.secrets.content, key)
			continue
		}
		if namespace != "" && m.Namespace != namespace {
			continue
		}
		cur := s.secrets.content[key]
		if cur == nil || cur.GetResourceVersion() != m.ResourceVersion {
			got, err := s.client(resource.KindSecret, m.Namespace).Get(ctx, m.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				delete(s.secrets.content, key)
				continue
			}
			if err != nil {
				return nil, mapErr(err, resource.KindSecret, m.Namespace, m.Name)
			}
			s.secrets.content[key] = got
			cur = got
		}
		out = append(out, cur)
	}
	return out, nil
}

// secretHandler turns the metadata informer's events into store events for
// referenced Secrets only: a change to any other Secret triggers nothing.
func (s *Store) secretHandler() cache.ResourceEventHandler {
	emit := func(typ store.EventType, obj any) {
		if !s.synced.Load() {
			return
		}
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok || !s.referenced(m.Namespace, m.Name) {
			return
		}
		o, err := resource.New(resource.KindSecret)
		if err != nil {
			return
		}
		md := o.GetMetadata()
		md.Name, md.Namespace, md.ResourceVersion, md.UID = m.Name, m.Namespace, m.ResourceVersion, string(m.UID)
		s.broadcast(store.Event{Type: typ, Object: o})
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { emit(store.Added, obj) },
		UpdateFunc: func(old, obj any) {
			om, ok1 := old.(*metav1.PartialObjectMetadata)
			nm, ok2 := obj.(*metav1.PartialObjectMetadata)
			if ok1 && ok2 && om.ResourceVersion == nm.ResourceVersion {
				return
			}
			emit(store.Modified, obj)
		},
		DeleteFunc: func(obj any) { emit(store.Deleted, obj) },
	}
}

// listAll lists the caches of informers (one per watched namespace).
func listAll(informers []cache.SharedIndexInformer) []any {
	var out []any
	for _, inf := range informers {
		out = append(out, inf.GetStore().List()...)
	}
	return out
}

// getByKey finds a Secret's metadata in the informers' caches.
func getByKey(informers []cache.SharedIndexInformer, key string) *metav1.PartialObjectMetadata {
	for _, inf := range informers {
		if o, ok, err := inf.GetStore().GetByKey(key); err == nil && ok {
			if m, ok := o.(*metav1.PartialObjectMetadata); ok {
				return m
			}
		}
	}
	return nil
}
