package kube

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// Two status shapes exist. lambdagate's CRDs (deploy/crds) have a status
// subresource and a flat Gloo-style status (state, reason, reportedBy,
// observedGeneration). Gloo's own CRDs, which a cluster migrating from
// Gloo already has and which helm leaves in place, have no status
// subresource and keep one status per controller under
// status.statuses.<namespace of the controller> (solo-kit's
// NamespacedStatuses; install/helm/gloo/crds in solo-io/gloo). On those,
// lambdagate writes its own entry, beside Gloo's, with an update of the
// whole object.

// statusShape is what the installed CRD of a kind supports.
type statusShape struct {
	// subresource: the CRD has a status subresource (lambdagate's CRD).
	subresource bool
}

// shapeOf returns the status shape of a kind's installed CRD, asking the
// API server's discovery once (no extra RBAC is needed for it).
func (s *Store) shapeOf(ctx context.Context, kind resource.Kind) (statusShape, error) {
	s.shapeMu.Lock()
	defer s.shapeMu.Unlock()
	if sh, ok := s.shapes[kind]; ok {
		return sh, nil
	}
	gvr := GVR(kind)
	list, err := s.kc.Discovery().ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if err != nil {
		return statusShape{}, mapErr(err, kind, "", "")
	}
	found := false
	var sh statusShape
	for _, r := range list.APIResources {
		switch r.Name {
		case gvr.Resource:
			found = true
		case gvr.Resource + "/status":
			sh.subresource = true
		}
	}
	if !found {
		return statusShape{}, mapErr(fmt.Errorf("the API server does not serve %s", gvr.String()), kind, "", "")
	}
	s.shapes[kind] = sh
	crd := gvr.Resource + "." + gvr.Group
	if sh.subresource {
		s.log.Debug("the installed CRD has a status subresource; statuses are written through it", "crd", crd)
	} else {
		s.log.Warn("the installed CRD has no status subresource, as Gloo's own CRDs: lambdagate writes its status under status.statuses."+s.opts.StatusKey+
			", beside Gloo's, with an update of the whole object (which also increases metadata.generation); install lambdagate's CRDs (deploy/crds) once Gloo is gone, see docs/kubernetes.md",
			"crd", crd, "statusKey", s.opts.StatusKey)
	}
	return sh, nil
}

// detectShapes logs the status shape of every kind with a status, so that
// the operator reads at start which CRDs are installed.
func (s *Store) detectShapes(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.SyncTimeout)
	defer cancel()
	for _, k := range resource.Kinds {
		if resource.HasStatus(k) {
			if _, err := s.shapeOf(ctx, k); err != nil {
				s.log.Warn("cannot tell which CRD is installed", "kind", string(k), "error", err.Error())
			}
		}
	}
}

// setNestedStatus sets (st != nil) or removes lambdagate's entry of Gloo's
// status.statuses map. Gloo's Status has no observedGeneration, and on a
// CRD without a status subresource every status write increases the
// generation: the entry leaves it out (statusOf fills it in).
func setNestedStatus(u *unstructured.Unstructured, key string, st map[string]any) {
	statuses, _, _ := unstructured.NestedMap(u.Object, "status", "statuses")
	if st == nil {
		if _, ok := statuses[key]; !ok {
			return
		}
		delete(statuses, key)
	} else {
		if statuses == nil {
			statuses = map[string]any{}
		}
		entry := make(map[string]any, len(st))
		for k, v := range st {
			if k != "observedGeneration" {
				entry[k] = v
			}
		}
		statuses[key] = entry
	}
	status, _, _ := unstructured.NestedMap(u.Object, "status")
	if status == nil {
		status = map[string]any{}
	}
	status["statuses"] = statuses
	u.Object["status"] = status
}

// glooStates are the names of solo-kit's Status.State enum, which older
// Gloo releases wrote as numbers.
var glooStates = map[int64]core.State{0: core.StatePending, 1: core.StateAccepted, 2: core.StateRejected, 3: core.StateWarning}

// statusOf returns lambdagate's status as stored on u: the flat status of
// lambdagate's CRDs, or its entry under Gloo's status.statuses, whose
// observedGeneration is the object's generation (see setNestedStatus).
func statusOf(u *unstructured.Unstructured, key string) (core.Status, bool) {
	v, ok := u.Object["status"].(map[string]any)
	if !ok {
		return core.Status{}, false
	}
	nested, isNested := v["statuses"].(map[string]any)
	if isNested {
		v, ok = nested[key].(map[string]any)
		if !ok {
			return core.Status{}, false
		}
		v = withStateName(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return core.Status{}, true
	}
	var st core.Status
	_ = json.Unmarshal(b, &st)
	if isNested {
		st.ObservedGeneration = u.GetGeneration()
	}
	return st, true
}

func withStateName(v map[string]any) map[string]any {
	n, ok := v["state"].(int64)
	if !ok {
		return v
	}
	c := make(map[string]any, len(v))
	for k, x := range v {
		c[k] = x
	}
	c["state"] = string(glooStates[n])
	return c
}
