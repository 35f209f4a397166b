// Package storetest is the conformance suite of the store.Store contract:
// every implementation runs the same cases, through the interface only, so
// the SQLite store and the Kubernetes store cannot drift apart. What only
// one implementation can check (SQLite's file handling, the kube store's
// leader election) stays in that implementation's own tests.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// EventTimeout bounds "eventually" for Watch unless EventsWithin says
// otherwise. The contract says one second; the margin is for a loaded test
// machine.
const EventTimeout = 10 * time.Second

// Option adapts the suite to an implementation.
type Option func(*suite)

// Namespaces gives the suite a hook that makes a namespace usable before a
// case writes into it, for stores where namespaces must exist (a
// kube-apiserver). It must accept a namespace that already exists.
func Namespaces(prepare func(t *testing.T, namespace string)) Option {
	return func(s *suite) { s.prepare = prepare }
}

// Peer gives the suite a second handle on the data of st, as another
// process would open it (the contract lets several processes share one
// store): the cases about racing writers, the counter and Watch then run
// across the two handles too. Without it those variants are skipped.
func Peer(open func(t *testing.T, st store.Store) store.Store) Option {
	return func(s *suite) { s.peer = open }
}

// EventsWithin sets the bound for "eventually" in the Watch cases, for an
// implementation that promises less than EventTimeout.
func EventsWithin(d time.Duration) Option {
	return func(s *suite) { s.eventTimeout = d }
}

// Skip skips the case or subtest named name, relative to the test that
// calls Run ("Closed", "CRUD/Secret"), giving why. It records a known
// difference from the contract instead of hiding it: the reason shows in
// every verbose run.
func Skip(name, why string) Option {
	return func(s *suite) { s.skip[name] = why }
}

type suite struct {
	newStore     func(t *testing.T) store.Store
	prepare      func(t *testing.T, namespace string)
	peer         func(t *testing.T, st store.Store) store.Store
	eventTimeout time.Duration
	skip         map[string]string
}

// runID keeps the namespaces of two Run calls in one process apart.
var runID atomic.Int64

// Run runs the conformance cases against stores made by newStore, which is
// called once per case and must return an empty store (or one whose other
// contents live in namespaces the suite does not use) that the test's
// cleanup closes.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, opts ...Option) {
	s := &suite{newStore: newStore, eventTimeout: EventTimeout, skip: map[string]string{}}
	for _, o := range opts {
		o(s)
	}
	id := runID.Add(1)
	cases := []struct {
		name string
		run  func(t *testing.T, st store.Store, ns func(string) string)
	}{
		{"CRUD", s.testCRUD},
		{"DefaultNamespace", s.testDefaultNamespace},
		{"CreateInvalid", testCreateInvalid},
		{"CreateInvalidName", testCreateInvalidName},
		{"ErrorsNameTheResource", testErrorsNameTheResource},
		{"ListOrderAndNamespaces", testListOrderAndNamespaces},
		{"Status", testStatus},
		{"UnchangedWriteIsNoop", testUnchangedWriteIsNoop},
		{"Conflict", testConflict},
		{"SecretData", testSecretData},
		{"SecretGeneration", testSecretGeneration},
		{"RacingWriters", s.testRacingWriters},
		{"Counter", s.testCounter},
		{"Watch", s.testWatch},
		{"WatchCloses", s.testWatchCloses},
		{"Closed", s.testClosed},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.skipKnown(t, c.name)
			st := s.newStore(t)
			// ns names a namespace of this case only: a store shared
			// with other tests (one kube-apiserver) must not mix them up.
			prepared := map[string]string{}
			ns := func(suffix string) string {
				if n, ok := prepared[suffix]; ok {
					return n
				}
				n := fmt.Sprintf("conf%d-%d-%s", id, i, suffix)
				if s.prepare != nil {
					s.prepare(t, n)
				}
				prepared[suffix] = n
				return n
			}
			c.run(t, st, ns)
		})
	}
}

// handles returns st and a second handle on its data: the other store a
// case's writers use. Without a Peer option it skips t.
func (s *suite) handles(t *testing.T, st store.Store) (store.Store, store.Store) {
	t.Helper()
	if s.peer == nil {
		t.Skip("no Peer option: the implementation gave no second handle on one store's data")
	}
	return st, s.peer(t, st)
}

// skipKnown skips t when Skip named it.
func (s *suite) skipKnown(t *testing.T, name string) {
	t.Helper()
	if why, ok := s.skip[name]; ok {
		t.Skip("known difference from the contract: " + why)
	}
}

var ctx = context.Background()

func newObject(t *testing.T, kind resource.Kind, ns, name string) resource.Object {
	t.Helper()
	o, err := resource.New(kind)
	if err != nil {
		t.Fatal(err)
	}
	m := o.GetMetadata()
	m.Namespace, m.Name = ns, name
	switch o := o.(type) {
	case *resource.Upstream:
		o.Spec = gloo.UpstreamSpec{AWS: &gloo.AWSUpstreamSpec{Region: "us-east-1"}}
	case *resource.VirtualService:
		o.Spec = gateway.VirtualServiceSpec{VirtualHost: &gateway.VirtualHost{
			Domains: []string{"*"},
			Routes: []gateway.Route{{
				Matchers:    []gateway.Matcher{{Prefix: "/"}},
				RouteAction: &gateway.RouteAction{Single: &gateway.Destination{Upstream: &core.ResourceRef{Name: "petstore", Namespace: ns}}},
			}},
		}}
	case *resource.Secret:
		o.Data = map[string][]byte{core.AWSAccessKeyID: []byte("AKID")}
	case *resource.Settings:
		o.Spec = gloo.SettingsSpec{Discovery: &gloo.DiscoveryOptions{FdsMode: "BLACKLIST"}}
	case *resource.RouteTable:
		o.Spec = gateway.RouteTableSpec{Routes: []gateway.Route{{
			Matchers:             []gateway.Matcher{{Prefix: "/api"}},
			DirectResponseAction: &gateway.DirectResponseAction{Status: 200, Body: "ok"},
		}}}
	case *resource.UpstreamGroup:
		w := uint32(90)
		o.Spec = gateway.UpstreamGroupSpec{Destinations: []gateway.WeightedDestination{
			{Weight: &w, Destination: &gateway.Destination{Upstream: &core.ResourceRef{Name: "petstore", Namespace: ns}}},
		}}
	case *resource.AuthConfig:
		o.Spec = enterprise.AuthConfigSpec{Configs: []enterprise.Config{{ApiKeyAuth: &enterprise.ApiKeyAuth{
			K8sSecretApikeyStorage: &enterprise.K8sSecretApiKeyStorage{LabelSelector: map[string]string{"team": "a"}}}}}}
	}
	return o
}

func upstream(t *testing.T, ns, name, region string) *resource.Upstream {
	t.Helper()
	u := newObject(t, resource.KindUpstream, ns, name).(*resource.Upstream)
	u.Spec.AWS.Region = region
	return u
}

func region(o resource.Object) string { return o.(*resource.Upstream).Spec.AWS.Region }

// changeSpec changes what is not metadata, which bumps the generation.
func changeSpec(o resource.Object) {
	switch o := o.(type) {
	case *resource.Upstream:
		o.Spec.AWS.Region = "eu-west-1"
	case *resource.VirtualService:
		o.Spec.VirtualHost.Domains = []string{"example.com"}
	case *resource.Secret:
		o.Data = map[string][]byte{core.AWSAccessKeyID: []byte("AKID2")}
	case *resource.Settings:
		o.Spec.Discovery.FdsMode = "DISABLED"
	case *resource.RouteTable:
		w := int32(5)
		o.Spec.Weight = &w
	case *resource.UpstreamGroup:
		w := uint32(10)
		o.Spec.Destinations[0].Weight = &w
	case *resource.AuthConfig:
		o.Spec.Configs[0].ApiKeyAuth.HeaderName = "x-api-key"
	}
}

func wantCode(t *testing.T, err error, code store.Code) *store.Error {
	t.Helper()
	var se *store.Error
	if !errors.As(err, &se) || se.Code != code {
		t.Fatalf("error = %v, want a *store.Error with code %s", err, code)
	}
	return se
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func rv(o resource.Object) string { return o.GetMetadata().ResourceVersion }

// testCRUD runs one life cycle per kind.
func (s *suite) testCRUD(t *testing.T, st store.Store, ns func(string) string) {
	for _, kind := range []resource.Kind{resource.KindUpstream, resource.KindVirtualService, resource.KindSecret, resource.KindSettings, resource.KindUpstreamGroup, resource.KindRouteTable, resource.KindAuthConfig} {
		t.Run(string(kind), func(t *testing.T) {
			s.skipKnown(t, "CRUD/"+string(kind))
			n := ns("crud")
			in := newObject(t, kind, n, "obj")
			before := jsonOf(t, in)
			created, err := st.Create(ctx, in)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if after := jsonOf(t, in); after != before {
				t.Errorf("Create modified its argument:\nbefore %s\nafter  %s", before, after)
			}
			m := created.GetMetadata()
			if m.Namespace != n || m.Name != "obj" {
				t.Errorf("created %s, want %s/obj", m.Key(), n)
			}
			if m.UID == "" || m.ResourceVersion == "" || m.Generation != 1 || m.CreationTimestamp == nil {
				t.Errorf("metadata after Create = %+v, want uid, resourceVersion, creationTimestamp and generation 1", m)
			}
			if ts := m.CreationTimestamp; ts != nil && (ts.Location() != time.UTC || ts.Nanosecond() != 0) {
				t.Errorf("creationTimestamp = %v, want UTC with second precision", ts)
			}
			if got := created.GetKind(); got != kind {
				t.Errorf("kind = %s, want %s", got, kind)
			}
			if !strings.Contains(jsonOf(t, created), fmt.Sprintf(`"apiVersion":%q`, resource.APIVersion(kind))) {
				t.Errorf("created object lacks apiVersion %s: %s", resource.APIVersion(kind), jsonOf(t, created))
			}

			got, err := st.Get(ctx, kind, n, "obj")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if jsonOf(t, got) != jsonOf(t, created) {
				t.Errorf("Get = %s\nwant %s", jsonOf(t, got), jsonOf(t, created))
			}
			// The returned object is the caller's: changing it changes
			// nothing stored.
			got.GetMetadata().Labels = map[string]string{"mutated": "by caller"}
			if again, err := st.Get(ctx, kind, n, "obj"); err != nil || again.GetMetadata().Labels["mutated"] != "" {
				t.Errorf("changing a returned object changed the store: %v %v", err, again)
			}

			_, err = st.Create(ctx, newObject(t, kind, n, "obj"))
			wantCode(t, err, store.AlreadyExists)
			if !store.IsAlreadyExists(err) {
				t.Error("store.IsAlreadyExists is false for an AlreadyExists error")
			}

			// A label change: new resourceVersion, same generation.
			lab := resource.DeepCopy(created)
			lab.GetMetadata().Labels = map[string]string{"team": "a"}
			labeled, err := st.Update(ctx, lab)
			if err != nil {
				t.Fatalf("Update labels: %v", err)
			}
			lm := labeled.GetMetadata()
			if lm.ResourceVersion == m.ResourceVersion || lm.Generation != 1 || lm.Labels["team"] != "a" {
				t.Errorf("after a label change: %+v; want a new resourceVersion, generation 1 and the label", lm)
			}
			if lm.UID != m.UID || lm.CreationTimestamp == nil || !lm.CreationTimestamp.Equal(*m.CreationTimestamp) {
				t.Error("Update changed uid or creationTimestamp")
			}

			// A spec change bumps the generation; store-owned metadata the
			// client sends is ignored.
			sp := resource.DeepCopy(labeled)
			changeSpec(sp)
			sp.GetMetadata().UID = "forged"
			sp.GetMetadata().Generation = 99
			updated, err := st.Update(ctx, sp)
			if err != nil {
				t.Fatalf("Update spec: %v", err)
			}
			if um := updated.GetMetadata(); um.Generation != 2 || um.UID != m.UID || um.Labels["team"] != "a" {
				t.Errorf("after a spec change: %+v, want generation 2, the original uid and the label", um)
			}

			list, err := st.List(ctx, kind, n)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(list) != 1 || jsonOf(t, list[0]) != jsonOf(t, updated) {
				t.Errorf("List = %s, want [%s]", jsonOf(t, list), jsonOf(t, updated))
			}

			if err := st.Delete(ctx, kind, n, "obj"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			_, err = st.Get(ctx, kind, n, "obj")
			wantCode(t, err, store.NotFound)
			if !store.IsNotFound(err) {
				t.Error("store.IsNotFound is false for a NotFound error")
			}
			wantCode(t, st.Delete(ctx, kind, n, "obj"), store.NotFound)
			_, err = st.Update(ctx, updated)
			wantCode(t, err, store.NotFound)
		})
	}
}

// testDefaultNamespace creates each kind without a namespace: the object
// lands in core.DefaultNamespace, where Get with either spelling finds it
// and Delete without a namespace removes it.
func (s *suite) testDefaultNamespace(t *testing.T, st store.Store, ns func(string) string) {
	if s.prepare != nil {
		s.prepare(t, core.DefaultNamespace)
	}
	// The default namespace is shared with other tests of the same store:
	// a name of this run only, removed afterwards.
	name := ns("default")
	for _, kind := range resource.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			created, err := st.Create(ctx, newObject(t, kind, "", name))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Delete(ctx, kind, core.DefaultNamespace, name) })
			if got := created.GetMetadata().Namespace; got != core.DefaultNamespace {
				t.Errorf("namespace = %q, want %q", got, core.DefaultNamespace)
			}
			for _, n := range []string{"", core.DefaultNamespace} {
				if _, err := st.Get(ctx, kind, n, name); err != nil {
					t.Errorf("Get(%q): %v", n, err)
				}
			}
			if err := st.Delete(ctx, kind, "", name); err != nil {
				t.Fatalf(`Delete(""): %v`, err)
			}
			_, err = st.Get(ctx, kind, core.DefaultNamespace, name)
			wantCode(t, err, store.NotFound)
		})
	}
}

func testCreateInvalid(t *testing.T, st store.Store, ns func(string) string) {
	n := ns("invalid")
	_, err := st.Create(ctx, upstream(t, n, "", "us-east-1"))
	se := wantCode(t, err, store.Invalid)
	if !strings.Contains(se.Detail, "metadata.name") {
		t.Errorf("detail %q does not name metadata.name", se.Detail)
	}
	_, err = st.Create(ctx, nil)
	wantCode(t, err, store.Invalid)
	if list, err := st.List(ctx, resource.KindUpstream, n); err != nil || len(list) != 0 {
		t.Errorf("after refused creates: List = %d objects, %v; want none", len(list), err)
	}
}

// testCreateInvalidName creates a name that is not a DNS-1123 subdomain
// (ObjectMeta.Name's documented rule); storing it would make the resource
// impossible to move to a kube-apiserver.
func testCreateInvalidName(t *testing.T, st store.Store, ns func(string) string) {
	n := ns("badname")
	for _, name := range []string{"Bad_Name", "UPPER", "a/b", strings.Repeat("x", 254)} {
		_, err := st.Create(ctx, upstream(t, n, name, "us-east-1"))
		wantCode(t, err, store.Invalid)
	}
}

// testErrorsNameTheResource checks that each error names what it is about,
// so that a message reaching a user says which resource failed.
func testErrorsNameTheResource(t *testing.T, st store.Store, ns func(string) string) {
	n := ns("errors")
	created, err := st.Create(ctx, upstream(t, n, "u", "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, created); err != nil { // no change: no write
		t.Fatal(err)
	}
	newer := resource.DeepCopy(created)
	changeSpec(newer)
	if _, err := st.Update(ctx, newer); err != nil {
		t.Fatal(err)
	}
	stale := resource.DeepCopy(created)
	stale.(*resource.Upstream).Spec.AWS.Region = "ap-south-1"
	tests := []struct {
		name string
		code store.Code
		kind resource.Kind
		obj  string
		err  func() error
	}{
		{"get missing", store.NotFound, resource.KindUpstream, "missing", func() error {
			_, err := st.Get(ctx, resource.KindUpstream, n, "missing")
			return err
		}},
		{"delete missing", store.NotFound, resource.KindVirtualService, "missing", func() error {
			return st.Delete(ctx, resource.KindVirtualService, n, "missing")
		}},
		{"create taken", store.AlreadyExists, resource.KindUpstream, "u", func() error {
			_, err := st.Create(ctx, upstream(t, n, "u", "us-east-1"))
			return err
		}},
		{"update stale", store.Conflict, resource.KindUpstream, "u", func() error {
			_, err := st.Update(ctx, stale)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := wantCode(t, tt.err(), tt.code)
			if se.Kind != tt.kind || se.Namespace != n || se.Name != tt.obj {
				t.Errorf("error names %s %s/%s, want %s %s/%s", se.Kind, se.Namespace, se.Name, tt.kind, n, tt.obj)
			}
		})
	}
}

func testListOrderAndNamespaces(t *testing.T, st store.Store, ns func(string) string) {
	a, b := ns("a"), ns("b")
	for _, k := range []string{b + "/y", a + "/z", b + "/x", a + "/a"} {
		n, name, _ := strings.Cut(k, "/")
		if _, err := st.Create(ctx, upstream(t, n, name, "us-east-1")); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(objs []resource.Object) string {
		var out []string
		for _, o := range objs {
			// Other tests may share the store: only this case's
			// namespaces count, in the order the store returned them.
			if n := o.GetMetadata().Namespace; n == a || n == b {
				out = append(out, o.GetMetadata().Key())
			}
		}
		return strings.Join(out, ",")
	}
	tests := []struct{ ns, want string }{
		{"", a + "/a," + a + "/z," + b + "/x," + b + "/y"},
		{b, b + "/x," + b + "/y"},
		{ns("empty"), ""},
	}
	for _, tt := range tests {
		got, err := st.List(ctx, resource.KindUpstream, tt.ns)
		if err != nil {
			t.Fatal(err)
		}
		if keys(got) != tt.want {
			t.Errorf("List(%q) = %s, want %s", tt.ns, keys(got), tt.want)
		}
		if tt.ns != "" && len(got) != len(strings.Split(tt.want, ",")) && tt.want != "" {
			t.Errorf("List(%q) returned other namespaces' objects: %d objects", tt.ns, len(got))
		}
	}
	vs, err := st.List(ctx, resource.KindVirtualService, a)
	if err != nil || len(vs) != 0 || vs == nil {
		t.Errorf("List of an empty kind = %v, %v; want an empty non-nil slice", vs, err)
	}
}

func testStatus(t *testing.T, st store.Store, ns func(string) string) {
	n := ns("status")
	in := upstream(t, n, "u", "us-east-1")
	in.Status = &core.Status{State: core.StateAccepted}
	c, err := st.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.GetStatus() != nil {
		t.Errorf("Create kept the status sent with it: %+v", c.GetStatus())
	}

	want := core.Status{State: core.StateRejected, Reason: "bad region", ReportedBy: "lambdagate", ObservedGeneration: 1}
	s := resource.DeepCopy(c)
	s.SetStatus(&want)
	s.(*resource.Upstream).Spec.AWS.Region = "ignored-by-UpdateStatus"
	withStatus, err := st.UpdateStatus(ctx, s)
	if err != nil {
		t.Fatalf("UpdateStatus: %v", err)
	}
	if got := withStatus.GetStatus(); got == nil || *got != want {
		t.Errorf("status = %+v, want %+v", got, want)
	}
	if withStatus.GetMetadata().Generation != 1 || rv(withStatus) == rv(c) {
		t.Errorf("UpdateStatus: generation %d rv %s (was %s); want generation 1 and a new rv",
			withStatus.GetMetadata().Generation, rv(withStatus), rv(c))
	}
	if r := region(withStatus); r != "us-east-1" {
		t.Errorf("UpdateStatus changed the spec: region %q", r)
	}
	if got, err := st.Get(ctx, resource.KindUpstream, n, "u"); err != nil || got.GetStatus() == nil || *got.GetStatus() != want {
		t.Errorf("Get after UpdateStatus: %v, status %+v", err, got)
	}

	// Update keeps the stored status whatever the caller sends.
	up := resource.DeepCopy(withStatus)
	up.(*resource.Upstream).Spec.AWS.Region = "eu-west-1"
	up.SetStatus(&core.Status{State: core.StateAccepted, Reason: "sent with Update"})
	updated, err := st.Update(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	if got := updated.GetStatus(); got == nil || *got != want {
		t.Errorf("status after Update = %+v, want the stored %+v", got, want)
	}
	if updated.GetMetadata().Generation != 2 {
		t.Errorf("generation = %d, want 2", updated.GetMetadata().Generation)
	}
	// Nor does an Update without a status clear it.
	nostatus := resource.DeepCopy(updated)
	nostatus.SetStatus(nil)
	nostatus.GetMetadata().Labels = map[string]string{"team": "a"}
	updated, err = st.Update(ctx, nostatus)
	if err != nil {
		t.Fatal(err)
	}
	if got := updated.GetStatus(); got == nil || *got != want {
		t.Errorf("status after an Update without one = %+v, want the stored %+v", got, want)
	}

	// A stale resourceVersion is refused; an empty one is unconditional.
	_, err = st.UpdateStatus(ctx, withStatus)
	wantCode(t, err, store.Conflict)
	force := resource.DeepCopy(updated)
	force.GetMetadata().ResourceVersion = ""
	force.SetStatus(&core.Status{State: core.StateAccepted, ObservedGeneration: 2})
	if _, err := st.UpdateStatus(ctx, force); err != nil {
		t.Errorf("unconditional UpdateStatus: %v", err)
	}
	missing := upstream(t, n, "missing", "us-east-1")
	missing.Status = &core.Status{State: core.StateAccepted}
	_, err = st.UpdateStatus(ctx, missing)
	wantCode(t, err, store.NotFound)

	// Secrets have no status.
	sec, err := st.Create(ctx, newObject(t, resource.KindSecret, n, "s"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.UpdateStatus(ctx, sec)
	wantCode(t, err, store.Invalid)
}

func testUnchangedWriteIsNoop(t *testing.T, st store.Store, ns func(string) string) {
	n := ns("noop")
	c, err := st.Create(ctx, upstream(t, n, "u", "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.Update(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if rv(u) != rv(c) {
		t.Errorf("an unchanged Update wrote: rv %s -> %s", rv(c), rv(u))
	}
	s := resource.DeepCopy(c)
	s.SetStatus(&core.Status{State: core.StateAccepted})
	a, err := st.UpdateStatus(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.UpdateStatus(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if rv(a) != rv(b) {
		t.Errorf("an unchanged UpdateStatus wrote: rv %s -> %s", rv(a), rv(b))
	}
}

func testConflict(t *testing.T, st store.Store, ns func(string) string) {
	n := ns("conflict")
	c, err := st.Create(ctx, upstream(t, n, "u", "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	u1 := resource.DeepCopy(c)
	u1.(*resource.Upstream).Spec.AWS.Region = "eu-west-1"
	cur, err := st.Update(ctx, u1)
	if err != nil {
		t.Fatal(err)
	}
	stale := resource.DeepCopy(c)
	stale.(*resource.Upstream).Spec.AWS.Region = "ap-south-1"
	_, err = st.Update(ctx, stale)
	se := wantCode(t, err, store.Conflict)
	// The detail tells the caller both versions and what to do.
	if want := fmt.Sprintf("resourceVersion %q is stale, current is %q; get the resource again and retry", rv(c), rv(cur)); se.Detail != want {
		t.Errorf("detail = %q\nwant     %q", se.Detail, want)
	}
	if !store.IsConflict(err) {
		t.Error("store.IsConflict is false for a Conflict error")
	}
	got, err := st.Get(ctx, resource.KindUpstream, n, "u")
	if err != nil {
		t.Fatal(err)
	}
	if r := region(got); r != "eu-west-1" {
		t.Errorf("a refused update wrote: region %q", r)
	}
	// An empty resourceVersion updates unconditionally.
	stale.GetMetadata().ResourceVersion = ""
	forced, err := st.Update(ctx, stale)
	if err != nil {
		t.Fatalf("unconditional Update: %v", err)
	}
	if region(forced) != "ap-south-1" || forced.GetMetadata().Generation != 3 {
		t.Errorf("unconditional Update stored region %q generation %d, want ap-south-1 and 3", region(forced), forced.GetMetadata().Generation)
	}
}

func testSecretData(t *testing.T, st store.Store, ns func(string) string) {
	n := ns("secret")
	in := newObject(t, resource.KindSecret, n, "aws").(*resource.Secret)
	in.Data = map[string][]byte{core.AWSAccessKeyID: []byte("old"), "keep": []byte("k")}
	in.StringData = map[string]string{core.AWSAccessKeyID: "AKID", core.AWSSecretAccessKey: "SECRET"}
	c, err := st.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, o resource.Object, want map[string]string) {
		t.Helper()
		sec := o.(*resource.Secret)
		if sec.StringData != nil {
			t.Errorf("stringData kept: %v", sec.StringData)
		}
		got := map[string]string{}
		for k, v := range sec.Data {
			got[k] = string(v)
		}
		if jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("data = %v, want %v", got, want)
		}
		if sec.Type != "Opaque" {
			t.Errorf("type = %q, want the default Opaque", sec.Type)
		}
	}
	// stringData is merged over data, as the Kubernetes API does.
	want := map[string]string{core.AWSAccessKeyID: "AKID", core.AWSSecretAccessKey: "SECRET", "keep": "k"}
	check(t, c, want)
	got, err := st.Get(ctx, resource.KindSecret, n, "aws")
	if err != nil {
		t.Fatal(err)
	}
	check(t, got, want)
	if len(in.StringData) != 2 || string(in.Data[core.AWSAccessKeyID]) != "old" {
		t.Error("Create modified the caller's secret")
	}

	up := resource.DeepCopy(got).(*resource.Secret)
	up.StringData = map[string]string{"keep": "new"}
	u, err := st.Update(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	want["keep"] = "new"
	check(t, u, want)

	// Update replaces data: a key left out is gone.
	drop := resource.DeepCopy(u).(*resource.Secret)
	drop.Data = map[string][]byte{core.AWSAccessKeyID: []byte("k2")}
	d, err := st.Update(ctx, drop)
	if err != nil {
		t.Fatal(err)
	}
	check(t, d, map[string]string{core.AWSAccessKeyID: "k2"})
}

// testSecretGeneration checks that a secret's generation follows the
// contract like every other kind's: 1 on Create, +1 on a data change
// (through data or stringData), not on a label change.
func testSecretGeneration(t *testing.T, st store.Store, ns func(string) string) {
	n := ns("secretgen")
	c, err := st.Create(ctx, newObject(t, resource.KindSecret, n, "s"))
	if err != nil {
		t.Fatal(err)
	}
	lab := resource.DeepCopy(c)
	lab.GetMetadata().Labels = map[string]string{"team": "a"}
	l, err := st.Update(ctx, lab)
	if err != nil {
		t.Fatal(err)
	}
	changeSpec(l)
	d, err := st.Update(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	sd := resource.DeepCopy(d).(*resource.Secret)
	sd.StringData = map[string]string{core.AWSAccessKeyID: "AKID3"}
	sd2, err := st.Update(ctx, sd)
	if err != nil {
		t.Fatal(err)
	}
	got := []int64{c.GetMetadata().Generation, l.GetMetadata().Generation, d.GetMetadata().Generation, sd2.GetMetadata().Generation}
	if !slices.Equal(got, []int64{1, 1, 2, 3}) {
		t.Errorf("generations after create, label change, data change, stringData change = %v, want [1 1 2 3]", got)
	}
}

// testRacingWriters updates the same resourceVersion from two goroutines at
// once, through one store and through two handles on it: exactly one wins,
// the other gets Conflict, and the stored object is the winner's.
func (s *suite) testRacingWriters(t *testing.T, st store.Store, ns func(string) string) {
	for p, pair := range []string{"one store", "two stores"} {
		t.Run(pair, func(t *testing.T) {
			stores := [2]store.Store{st, st}
			if p == 1 {
				stores[0], stores[1] = s.handles(t, st)
			}
			n := ns(fmt.Sprintf("race%d", p))
			for i := range 20 {
				name := fmt.Sprintf("race-%d", i)
				c, err := stores[0].Create(ctx, upstream(t, n, name, "us-east-1"))
				if err != nil {
					t.Fatal(err)
				}
				regions := []string{"region-a", "region-b"}
				var (
					wg      sync.WaitGroup
					start   = make(chan struct{})
					results = make([]resource.Object, 2)
					errs    = make([]error, 2)
				)
				for j := range 2 {
					o := resource.DeepCopy(c)
					o.(*resource.Upstream).Spec.AWS.Region = regions[j]
					wg.Go(func() {
						<-start
						results[j], errs[j] = stores[j].Update(ctx, o)
					})
				}
				close(start)
				wg.Wait()
				winner := -1
				for j := range 2 {
					switch {
					case errs[j] == nil:
						if winner >= 0 {
							t.Fatalf("%s: both writers succeeded on resourceVersion %s", name, rv(c))
						}
						winner = j
					case !store.IsConflict(errs[j]):
						t.Fatalf("%s: writer %d: %v, want nil or Conflict", name, j, errs[j])
					}
				}
				if winner < 0 {
					t.Fatalf("%s: both writers got Conflict: %v / %v", name, errs[0], errs[1])
				}
				got, err := stores[1].Get(ctx, resource.KindUpstream, n, name)
				if err != nil {
					t.Fatal(err)
				}
				if region(got) != regions[winner] || rv(got) != rv(results[winner]) || got.GetMetadata().Generation != 2 {
					t.Errorf("%s: stored region %q rv %s generation %d, want the winner's write (%q, rv %s, generation 2)",
						name, region(got), rv(got), got.GetMetadata().Generation, regions[winner], rv(results[winner]))
				}
			}
		})
	}
}

// testCounter increments one counter from several goroutines on each of
// two handles on one store, with get-modify-update, retrying on Conflict:
// no increment may be lost.
func (s *suite) testCounter(t *testing.T, st store.Store, ns func(string) string) {
	a, b := s.handles(t, st)
	stores := []store.Store{a, b}
	n := ns("counter")
	if _, err := a.Create(ctx, upstream(t, n, "counter", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	const goroutines, increments = 4, 25 // per handle, per goroutine
	var (
		wg        sync.WaitGroup
		conflicts atomic.Int64
	)
	errc := make(chan error, len(stores)*goroutines)
	for _, st := range stores {
		for range goroutines {
			wg.Go(func() {
				for range increments {
					for try := 0; ; try++ {
						if try == 10000 {
							errc <- errors.New("no progress after 10000 tries")
							return
						}
						o, err := st.Get(ctx, resource.KindUpstream, n, "counter")
						if err != nil {
							errc <- err
							return
						}
						m := o.GetMetadata()
						c, _ := strconv.Atoi(m.Annotations["count"])
						m.Annotations = map[string]string{"count": strconv.Itoa(c + 1)}
						_, err = st.Update(ctx, o)
						if store.IsConflict(err) {
							conflicts.Add(1)
							continue
						}
						if err != nil {
							errc <- err
							return
						}
						break
					}
				}
			})
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	o, err := b.Get(ctx, resource.KindUpstream, n, "counter")
	if err != nil {
		t.Fatal(err)
	}
	want := len(stores) * goroutines * increments
	if got := o.GetMetadata().Annotations["count"]; got != strconv.Itoa(want) {
		t.Errorf("count = %s, want %d: increments were lost", got, want)
	}
	t.Logf("%d increments, %d conflicts retried", want, conflicts.Load())
}

// nextEvent returns the next event about namespace n, skipping other
// namespaces' (a store shared with other tests).
func (s *suite) nextEvent(t *testing.T, ch <-chan store.Event, n string) store.Event {
	t.Helper()
	deadline := time.After(s.eventTimeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("watch channel closed early")
			}
			if ev.Type == store.Resync {
				t.Fatal("unexpected Resync")
			}
			if ev.Object == nil || ev.Object.GetMetadata().Namespace != n {
				continue
			}
			return ev
		case <-deadline:
			t.Fatalf("no event within %s", s.eventTimeout)
		}
	}
}

// testWatch watches one store while that store, then a second handle on
// it (another process), writes: every change arrives, in commit order.
func (s *suite) testWatch(t *testing.T, st store.Store, ns func(string) string) {
	for i, name := range []string{"own writes", "another handle's writes"} {
		t.Run(name, func(t *testing.T) {
			writer := st
			if i == 1 {
				_, writer = s.handles(t, st)
			}
			s.watchWrites(t, st, writer, ns(fmt.Sprintf("watch%d", i)))
		})
	}
}

// watchWrites watches st while writer writes into namespace n.
func (s *suite) watchWrites(t *testing.T, st, writer store.Store, n string) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := writer.Create(ctx, upstream(t, n, "before-watch", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	// "Before Watch" is relative to what the watching handle has seen:
	// another handle's write reaches it after a delay (the kube store's
	// informer cache, which List reads once informers run), so wait until
	// its List holds the object.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		list, err := st.List(ctx, resource.KindUpstream, n)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(list, func(o resource.Object) bool { return o.GetMetadata().Name == "before-watch" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watching handle never listed the object another handle wrote")
		}
	}
	ch, err := st.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		typ   store.EventType
		name  string
		write func() error
	}
	var steps []step
	for i := range 3 {
		name := fmt.Sprintf("u%d", i)
		steps = append(steps,
			step{store.Added, name, func() error {
				_, err := writer.Create(ctx, upstream(t, n, name, "us-east-1"))
				return err
			}},
			step{store.Modified, name, func() error {
				_, err := writer.Update(ctx, upstream(t, n, name, "eu-west-1"))
				return err
			}},
			step{store.Modified, name, func() error {
				o := upstream(t, n, name, "eu-west-1")
				o.Status = &core.Status{State: core.StateAccepted}
				_, err := writer.UpdateStatus(ctx, o)
				return err
			}},
			step{store.Deleted, name, func() error {
				return writer.Delete(ctx, resource.KindUpstream, n, name)
			}},
		)
	}
	var latencies []time.Duration
	for i, step := range steps {
		start := time.Now()
		if err := step.write(); err != nil {
			t.Fatalf("%s %s: %v", step.typ, step.name, err)
		}
		ev := s.nextEvent(t, ch, n)
		latencies = append(latencies, time.Since(start))
		if ev.Type != step.typ || ev.Object.GetMetadata().Name != step.name {
			t.Fatalf("step %d: event = %s %s, want %s %s (the object created before Watch must not be reported)",
				i, ev.Type, ev.Object.GetMetadata().Name, step.typ, step.name)
		}
		if step.typ != store.Added && region(ev.Object) != "eu-west-1" {
			t.Errorf("step %d: %s event carries %s; want the object after the change (before it, for Deleted)", i, step.typ, jsonOf(t, ev.Object))
		}
		if status := ev.Object.GetStatus(); i%4 == 2 && (status == nil || status.State != core.StateAccepted) {
			t.Errorf("step %d: the status change's event carries status %+v", i, status)
		}
	}
	slices.Sort(latencies)
	t.Logf("watch latency over %d events: p50 %s, max %s", len(latencies), latencies[len(latencies)/2], latencies[len(latencies)-1])

	// Writes in a burst come in commit order.
	const burst = 20
	for i := range burst {
		if _, err := writer.Create(ctx, upstream(t, n, fmt.Sprintf("b%02d", i), "us-east-1")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range burst {
		ev := s.nextEvent(t, ch, n)
		if want := fmt.Sprintf("b%02d", i); ev.Type != store.Added || ev.Object.GetMetadata().Name != want {
			t.Fatalf("burst event %d = %s %s, want ADDED %s", i, ev.Type, ev.Object.GetMetadata().Name, want)
		}
	}
}

func (s *suite) waitClosed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	deadline := time.After(s.eventTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("watch channel not closed within %s", s.eventTimeout)
		}
	}
}

func (s *suite) testWatchCloses(t *testing.T, st store.Store, ns func(string) string) {
	t.Run("context", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		ch, err := st.Watch(wctx)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		s.waitClosed(t, ch)
	})
	t.Run("store", func(t *testing.T) {
		st := s.newStore(t)
		ch, err := st.Watch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A pending write whose event nobody reads must not block Close.
		if _, err := st.Create(ctx, upstream(t, ns("closes"), "u", "us-east-1")); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		s.waitClosed(t, ch)
	})
}

func (s *suite) testClosed(t *testing.T, st store.Store, ns func(string) string) {
	n := ns("closed")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := st.Get(ctx, resource.KindUpstream, n, "u")
	wantCode(t, err, store.Unavailable)
	_, err = st.Create(ctx, upstream(t, n, "u", "us-east-1"))
	wantCode(t, err, store.Unavailable)
	_, err = st.Watch(ctx)
	wantCode(t, err, store.Unavailable)
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
