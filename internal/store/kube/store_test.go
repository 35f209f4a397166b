package kube_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/store/kube"
)

var nsCounter atomic.Int64

// newNamespace creates a fresh namespace so tests do not see each other's
// objects.
func newNamespace(t *testing.T, st *kube.Store) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%100000, nsCounter.Add(1))
	ctx := context.Background()
	_, err := st.Clientset().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

func newStore(t *testing.T, o kube.Options) *kube.Store {
	t.Helper()
	if o.HealthInterval == 0 {
		o.HealthInterval = 200 * time.Millisecond
	}
	st, err := kube.New(testCfg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func upstream(ns, name, region string) *resource.Upstream {
	o, _ := resource.New(resource.KindUpstream)
	u := o.(*resource.Upstream)
	u.Metadata = core.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "x"}}
	u.Spec.AWS = &gloo.AWSUpstreamSpec{Region: region, SecretRef: &core.ResourceRef{Name: "aws-creds", Namespace: ns}}
	return u
}

func code(err error) store.Code {
	if se, ok := err.(*store.Error); ok {
		return se.Code
	}
	if err == nil {
		return ""
	}
	return "other: " + store.Code(err.Error())
}

func TestCRUDContract(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, kube.Options{})
	ns := newNamespace(t, st)

	created, err := st.Create(ctx, upstream(ns, "aws-upstream", "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	m := created.GetMetadata()
	if m.UID == "" || m.ResourceVersion == "" || m.Generation != 1 || m.CreationTimestamp == nil {
		t.Fatalf("create did not set the server-owned metadata: %+v", m)
	}
	if created.GetStatus() != nil {
		t.Fatalf("a new object has no status, got %+v", created.GetStatus())
	}

	t.Run("get", func(t *testing.T) {
		got, err := st.Get(ctx, resource.KindUpstream, ns, "aws-upstream")
		if err != nil {
			t.Fatal(err)
		}
		u := got.(*resource.Upstream)
		if u.APIVersion != "gloo.solo.io/v1" || u.Kind != "Upstream" || u.Spec.AWS.Region != "us-east-1" || u.Metadata.Labels["app"] != "x" {
			t.Fatalf("got %+v", u)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			err  error
			want store.Code
		}{
			{"get missing", func() error { _, err := st.Get(ctx, resource.KindUpstream, ns, "nope"); return err }(), store.NotFound},
			{"delete missing", st.Delete(ctx, resource.KindVirtualService, ns, "nope"), store.NotFound},
			{"create taken", func() error { _, err := st.Create(ctx, upstream(ns, "aws-upstream", "us-east-1")); return err }(), store.AlreadyExists},
			{"create bad name", func() error { _, err := st.Create(ctx, upstream(ns, "Bad_Name", "us-east-1")); return err }(), store.Invalid},
			{"update stale", func() error {
				c := resource.DeepCopy(created)
				c.GetMetadata().ResourceVersion = "1"
				_, err := st.Update(ctx, c)
				return err
			}(), store.Conflict},
			{"update missing", func() error { _, err := st.Update(ctx, upstream(ns, "nope", "us-east-1")); return err }(), store.NotFound},
			{"status of secret", func() error {
				o, _ := resource.New(resource.KindSecret)
				o.GetMetadata().Name, o.GetMetadata().Namespace = "s", ns
				_, err := st.UpdateStatus(ctx, o)
				return err
			}(), store.Invalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := code(tc.err); got != tc.want {
					t.Fatalf("code %q, want %q (error: %v)", got, tc.want, tc.err)
				}
			})
		}
	})

	t.Run("update", func(t *testing.T) {
		cur, _ := st.Get(ctx, resource.KindUpstream, ns, "aws-upstream")
		// Same content: nothing written.
		same, err := st.Update(ctx, cur)
		if err != nil {
			t.Fatal(err)
		}
		if same.GetMetadata().ResourceVersion != cur.GetMetadata().ResourceVersion {
			t.Fatalf("an update that changes nothing wrote: rv %s -> %s", cur.GetMetadata().ResourceVersion, same.GetMetadata().ResourceVersion)
		}
		// Labels only: generation unchanged.
		c := resource.DeepCopy(cur)
		c.GetMetadata().Labels = map[string]string{"app": "y"}
		lab, err := st.Update(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if lab.GetMetadata().Generation != 1 || lab.GetMetadata().Labels["app"] != "y" {
			t.Fatalf("label update: %+v", lab.GetMetadata())
		}
		// Spec with an empty resourceVersion: unconditional, generation 2.
		c = upstream(ns, "aws-upstream", "eu-west-1")
		spec, err := st.Update(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if spec.GetMetadata().Generation != 2 || spec.(*resource.Upstream).Spec.AWS.Region != "eu-west-1" {
			t.Fatalf("spec update: gen %d %+v", spec.GetMetadata().Generation, spec.(*resource.Upstream).Spec.AWS)
		}
	})

	t.Run("status", func(t *testing.T) {
		cur, _ := st.Get(ctx, resource.KindUpstream, ns, "aws-upstream")
		c := resource.DeepCopy(cur)
		want := core.Status{State: core.StateRejected, Reason: "because", ReportedBy: "lambdagate", ObservedGeneration: 2}
		c.SetStatus(&want)
		got, err := st.UpdateStatus(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if *got.GetStatus() != want || got.GetMetadata().Generation != cur.GetMetadata().Generation {
			t.Fatalf("status %+v gen %d", got.GetStatus(), got.GetMetadata().Generation)
		}
		// Equal status: nothing written.
		again, err := st.UpdateStatus(ctx, got)
		if err != nil || again.GetMetadata().ResourceVersion != got.GetMetadata().ResourceVersion {
			t.Fatalf("equal status wrote: %v rv %s -> %s", err, got.GetMetadata().ResourceVersion, again.GetMetadata().ResourceVersion)
		}
		// Stale resourceVersion: conflict.
		c.GetMetadata().ResourceVersion = cur.GetMetadata().ResourceVersion
		c.SetStatus(&core.Status{State: core.StateAccepted})
		if _, err := st.UpdateStatus(ctx, c); !store.IsConflict(err) {
			t.Fatalf("stale status update: %v", err)
		}
		// Update keeps the status.
		u := upstream(ns, "aws-upstream", "eu-west-2")
		up, err := st.Update(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if up.GetStatus() == nil || *up.GetStatus() != want {
			t.Fatalf("update lost the status: %+v", up.GetStatus())
		}
	})

	t.Run("list sorted", func(t *testing.T) {
		for _, n := range []string{"c", "a", "b"} {
			if _, err := st.Create(ctx, upstream(ns, n, "us-east-1")); err != nil {
				t.Fatal(err)
			}
		}
		l, err := st.List(ctx, resource.KindUpstream, ns)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range l {
			names = append(names, o.GetMetadata().Name)
		}
		if got := strings.Join(names, ","); got != "a,aws-upstream,b,c" {
			t.Fatalf("list: %s", got)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := st.Delete(ctx, resource.KindUpstream, ns, "c"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx, resource.KindUpstream, ns, "c"); !store.IsNotFound(err) {
			t.Fatalf("after delete: %v", err)
		}
	})
}

func TestSecret(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, kube.Options{})
	ns := newNamespace(t, st)
	o, _ := resource.New(resource.KindSecret)
	sec := o.(*resource.Secret)
	sec.Metadata = core.ObjectMeta{Name: "aws-creds", Namespace: ns}
	sec.Data = map[string][]byte{core.AWSAccessKeyID: []byte("$ACCESS_KEY")}
	sec.StringData = map[string]string{core.AWSSecretAccessKey: "$SECRET_KEY"}
	got, err := st.Create(ctx, sec)
	if err != nil {
		t.Fatal(err)
	}
	g := got.(*resource.Secret)
	if string(g.Data[core.AWSAccessKeyID]) != "$ACCESS_KEY" || string(g.Data[core.AWSSecretAccessKey]) != "$SECRET_KEY" || g.Type != "Opaque" || len(g.StringData) != 0 {
		t.Fatalf("secret as stored: %+v", g.Secret)
	}
	// It is a plain core/v1 Secret.
	ks, err := st.Clientset().CoreV1().Secrets(ns).Get(ctx, "aws-creds", metav1.GetOptions{})
	if err != nil || string(ks.Data[core.AWSAccessKeyID]) != "$ACCESS_KEY" {
		t.Fatalf("core/v1 secret: %v %+v", err, ks)
	}
	// Update drops a key that is gone from data.
	g.Data = map[string][]byte{core.AWSAccessKeyID: []byte("k2")}
	g.Metadata.ResourceVersion = ""
	up, err := st.Update(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if d := up.(*resource.Secret).Data; len(d) != 1 || string(d[core.AWSAccessKeyID]) != "k2" {
		t.Fatalf("updated data: %v", d)
	}
}

func TestWatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := newStore(t, kube.Options{})
	ns := newNamespace(t, st)
	if _, err := st.Create(ctx, upstream(ns, "before", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	ch, err := st.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The cache now serves List, including what existed before Watch.
	if l, err := st.List(ctx, resource.KindUpstream, ns); err != nil || len(l) != 1 {
		t.Fatalf("cached list: %v %d", err, len(l))
	}
	u, err := st.Create(ctx, upstream(ns, "after", "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	c := resource.DeepCopy(u)
	c.SetStatus(&core.Status{State: core.StateAccepted})
	if _, err := st.UpdateStatus(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, resource.KindUpstream, ns, "after"); err != nil {
		t.Fatal(err)
	}
	var got []string
	timeout := time.After(20 * time.Second)
	for len(got) < 3 {
		select {
		case e := <-ch:
			if e.Object == nil || e.Object.GetMetadata().Namespace != ns {
				continue
			}
			got = append(got, fmt.Sprintf("%s %s", e.Type, e.Object.GetMetadata().Name))
		case <-timeout:
			t.Fatalf("events so far: %v", got)
		}
	}
	if s := strings.Join(got, ", "); s != "ADDED after, MODIFIED after, DELETED after" {
		t.Fatalf("events: %s", s)
	}
	cancel()
	for range ch { // closes when ctx is done
	}
}
