package kube_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store/kube"
)

// TestWatchNamespaces: with Gloo's Settings watchNamespaces, the gateway
// watches those namespaces and gloo-system only.
func TestWatchNamespaces(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := newStore(t, kube.Options{})
	if _, err := admin.Clientset().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gloo-system"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	watched, ignored := newNamespace(t, admin), newNamespace(t, admin)
	o, _ := resource.New(resource.KindSettings)
	set := o.(*resource.Settings)
	set.Metadata.Name, set.Metadata.Namespace = "default", "gloo-system"
	set.Spec.WatchNamespaces = []string{watched}
	set.Spec.Discovery = &gloo.DiscoveryOptions{FdsMode: "WHITELIST"}
	if _, err := admin.Create(ctx, set); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), resource.KindSettings, "gloo-system", "default") })
	for _, ns := range []string{watched, ignored} {
		if _, err := admin.Create(ctx, upstream(ns, "up", "us-east-1")); err != nil {
			t.Fatal(err)
		}
	}
	st := newStore(t, kube.Options{})
	if _, err := st.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	ups, err := st.List(ctx, resource.KindUpstream, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range ups {
		seen[u.GetMetadata().Namespace] = true
	}
	if !seen[watched] || seen[ignored] {
		t.Errorf("upstreams listed from namespaces %v; want %s and not %s", seen, watched, ignored)
	}
	if l, err := st.List(ctx, resource.KindSettings, "gloo-system"); err != nil || len(l) != 1 {
		t.Errorf("the Settings' own namespace is watched: %v, %d settings", err, len(l))
	}
}
