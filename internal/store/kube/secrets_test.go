package kube_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store/kube"
)

// TestUnrelatedSecretsCostNothing creates many large Secrets no upstream
// references (as Helm release Secrets are): the gateway's memory stays
// flat, no event wakes the reconcile loop, and List returns only the
// referenced Secret; a change to that one still arrives.
func TestUnrelatedSecretsCostNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := newStore(t, kube.Options{})
	ns := newNamespace(t, st)
	other := newNamespace(t, st)
	kc := st.Clientset()
	secret := func(ns, name string, size int) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Data: map[string][]byte{"aws_access_key_id": []byte("AKID"), "aws_secret_access_key": []byte("s"), "blob": bytes.Repeat([]byte("x"), size)}}
	}
	if _, err := kc.CoreV1().Secrets(ns).Create(ctx, secret(ns, "aws-creds", 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(ctx, upstream(ns, "up", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	ch, err := st.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list := func() []string {
		l, err := st.List(ctx, resource.KindSecret, "")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range l {
			names = append(names, o.GetMetadata().Key())
		}
		return names
	}
	// Other tests' upstreams reference Secrets too; this namespace's
	// unreferenced Secret is not listed.
	if _, err := kc.CoreV1().Secrets(ns).Create(ctx, secret(ns, "unreferenced", 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	listed := func() map[string]bool {
		m := map[string]bool{}
		for _, k := range list() {
			m[k] = true
		}
		return m
	}
	if got := listed(); !got[ns+"/aws-creds"] || got[ns+"/unreferenced"] {
		t.Fatalf("listed secrets %v, want %s/aws-creds and not %s/unreferenced", got, ns, ns)
	}

	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	const n, size = 100, 128 << 10 // 12.5 MiB of Secrets
	for i := 0; i < n; i++ {
		if _, err := kc.CoreV1().Secrets(other).Create(ctx, secret(other, fmt.Sprintf("sh.helm.release.v1.app.v%d", i), size), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A change to the referenced Secret, made last, arrives after the
	// informer has seen every unrelated one; none of those is an event.
	s, err := kc.CoreV1().Secrets(ns).Get(ctx, "aws-creds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data["aws_secret_access_key"] = []byte("rotated")
	if _, err := kc.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case e := <-ch:
			if e.Object == nil || e.Object.GetKind() != resource.KindSecret {
				continue
			}
			if e.Object.GetMetadata().Namespace != ns {
				t.Fatalf("event for an unrelated Secret: %s %s", e.Type, resource.Ref(e.Object))
			}
			done = true
		case <-timeout:
			t.Fatal("no event for the referenced Secret's change within 30s")
		}
	}
	after := heap()
	growth := int64(after) - int64(before)
	t.Logf("heap %d -> %d bytes (%+d) after %d unrelated Secrets of %d KiB", before, after, growth, n, size>>10)
	if growth > 3<<20 {
		t.Errorf("heap grew by %d bytes with %d unrelated Secrets of %d KiB: their content is cached", growth, n, size>>10)
	}
	for k := range listed() {
		if strings.HasPrefix(k, other+"/") {
			t.Errorf("an unrelated Secret is listed: %s", k)
		}
	}
	l, err := st.List(ctx, resource.KindSecret, ns)
	if err != nil || len(l) != 1 {
		t.Fatalf("list: %v, %d secrets", err, len(l))
	}
	if got := string(l[0].(*resource.Secret).Data["aws_secret_access_key"]); got != "rotated" {
		t.Errorf("listed secret holds %q, want the rotated value", got)
	}
}

// TestAPIKeySecrets checks that the Secrets an AuthConfig's apiKeyAuth
// selects by label or names are listed with their content, that a
// labelled Secret created afterwards arrives as an event, and that
// Secrets it does not select are not listed.
func TestAPIKeySecrets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := newStore(t, kube.Options{})
	ns := newNamespace(t, st)
	kc := st.Clientset()
	key := func(name string, labels map[string]string, k string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Type: enterprise.ApiKeySecretType, Data: map[string][]byte{enterprise.ApiKeyDataKey: []byte(k)}}
	}
	for _, s := range []*corev1.Secret{key("alice", map[string]string{"team": "pets"}, "k1"), key("named", nil, "k2"), key("other", map[string]string{"team": "cars"}, "k3")} {
		if _, err := kc.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	o, _ := resource.New(resource.KindAuthConfig)
	ac := o.(*resource.AuthConfig)
	ac.Metadata.Namespace, ac.Metadata.Name = ns, "keys"
	ac.Spec.Configs = []enterprise.Config{{ApiKeyAuth: &enterprise.ApiKeyAuth{K8sSecretApikeyStorage: &enterprise.K8sSecretApiKeyStorage{
		LabelSelector: map[string]string{"team": "pets"}, ApiKeySecretRefs: []core.ResourceRef{{Name: "named"}}}}}}
	ch, err := st.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(ctx, ac); err != nil {
		t.Fatal(err)
	}
	listed := func() map[string]string {
		l, err := st.List(ctx, resource.KindSecret, ns)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, o := range l {
			m[o.GetMetadata().Name] = string(o.(*resource.Secret).Data[enterprise.ApiKeyDataKey])
		}
		return m
	}
	deadline := time.Now().Add(30 * time.Second)
	for got := listed(); got["alice"] != "k1" || got["named"] != "k2"; got = listed() {
		if time.Now().After(deadline) {
			t.Fatalf("listed %v, want alice and named with their keys", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok := listed()["other"]; ok {
		t.Fatal("a Secret no AuthConfig selects is listed")
	}
	if _, err := kc.CoreV1().Secrets(ns).Create(ctx, key("late", map[string]string{"team": "pets"}, "k4"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-ch:
			if e.Object != nil && e.Object.GetKind() == resource.KindSecret && e.Object.GetMetadata().Key() == ns+"/late" {
				if got := listed()["late"]; got != "k4" {
					t.Fatalf("late Secret listed with %q", got)
				}
				return
			}
		case <-timeout:
			t.Fatal("no event for a new Secret matching the AuthConfig's label selector within 30s")
		}
	}
}
