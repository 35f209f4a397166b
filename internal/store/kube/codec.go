package kube

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// bodyKeys are the top-level fields Update replaces: everything but the
// type, metadata and status.
func bodyKeys(k resource.Kind) []string {
	if k == resource.KindSecret {
		return []string{"type", "data", "stringData", "immutable"}
	}
	return []string{"spec"}
}

// normalize returns a copy of obj with the right apiVersion and kind and
// the default namespace, and checks the name.
func normalize(obj resource.Object) (resource.Object, error) {
	if obj == nil {
		return nil, &store.Error{Code: store.Invalid, Detail: "no object given"}
	}
	c := resource.DeepCopy(obj)
	m := c.GetMetadata()
	m.Namespace = defaultNS(m.Namespace)
	if m.Name == "" {
		return nil, &store.Error{Code: store.Invalid, Kind: c.GetKind(), Namespace: m.Namespace, Detail: "metadata.name is required"}
	}
	if err := setType(c); err != nil {
		return nil, &store.Error{Code: store.Invalid, Kind: c.GetKind(), Namespace: m.Namespace, Name: m.Name, Detail: err.Error()}
	}
	return c, nil
}

// setType sets apiVersion and kind to the kind's own, whatever the object
// said (unmarshalling sets only the fields present).
func setType(o resource.Object) error {
	typ := fmt.Sprintf(`{"apiVersion":%q,"kind":%q}`, resource.APIVersion(o.GetKind()), o.GetKind())
	return json.Unmarshal([]byte(typ), o)
}

// toMap encodes v as a JSON object whose integers are int64, as
// unstructured content must be.
func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := utiljson.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// toUnstructured maps a resource to its Kubernetes form. Of the metadata,
// only what a client may set is carried: name, namespace, labels,
// annotations and resourceVersion; the API server owns the rest.
func toUnstructured(o resource.Object) (*unstructured.Unstructured, error) {
	m := o.GetMetadata()
	content, err := toMap(o)
	if err != nil {
		return nil, &store.Error{Code: store.Invalid, Kind: o.GetKind(), Namespace: m.Namespace, Name: m.Name, Detail: fmt.Sprintf("encoding: %v", err)}
	}
	u := &unstructured.Unstructured{Object: content}
	delete(content, "metadata")
	u.SetName(m.Name)
	u.SetNamespace(m.Namespace)
	u.SetLabels(m.Labels)
	u.SetAnnotations(m.Annotations)
	u.SetResourceVersion(m.ResourceVersion)
	return u, nil
}

// fromUnstructured maps a Kubernetes object to the resource of kind. The
// fields lambdagate does not model are kept at Gloo's option and extension
// points (the API types' Unimplemented fields) and ignored elsewhere. The
// status is lambdagate's own: under Gloo's CRDs, its entry of
// status.statuses (statusKey).
func fromUnstructured(kind resource.Kind, u *unstructured.Unstructured, statusKey string) (resource.Object, error) {
	meta := core.ObjectMeta{
		Name:            u.GetName(),
		Namespace:       u.GetNamespace(),
		Labels:          u.GetLabels(),
		Annotations:     u.GetAnnotations(),
		ResourceVersion: u.GetResourceVersion(),
		Generation:      u.GetGeneration(),
		UID:             string(u.GetUID()),
	}
	if ts := u.GetCreationTimestamp(); !ts.IsZero() {
		t := ts.UTC()
		meta.CreationTimestamp = &t
	}
	// A deep copy: the object may be an informer cache's, and proto
	// spellings are renamed in place.
	content := u.DeepCopy().Object
	resource.ProtoNames(kind, content)
	content["metadata"] = meta
	delete(content, "status")
	if resource.HasStatus(kind) {
		if st, ok := statusOf(u, statusKey); ok {
			content["status"] = st
		}
	}
	b, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %s/%s: %w", kind, meta.Namespace, meta.Name, err)
	}
	o, err := resource.New(kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, o); err != nil {
		return nil, fmt.Errorf("decoding %s %s/%s: %w", kind, meta.Namespace, meta.Name, err)
	}
	if err := setType(o); err != nil {
		return nil, err
	}
	return o, nil
}

// sameContent reports whether a write of next over cur would change
// nothing: for a status write, lambdagate's decoded statuses are equal;
// otherwise the whole objects encode equally.
func sameContent(cur, next *unstructured.Unstructured, status bool, statusKey string) bool {
	if status {
		a, aok := statusOf(cur, statusKey)
		b, bok := statusOf(next, statusKey)
		if aok != bok {
			return false
		}
		return !aok || a == b
	}
	x, err1 := json.Marshal(cur.Object)
	y, err2 := json.Marshal(next.Object)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
