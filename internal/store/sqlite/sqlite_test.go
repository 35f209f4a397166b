package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func dbPath(t *testing.T) string { return filepath.Join(t.TempDir(), "lambdagate.db") }

func openT(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(path, append([]Option{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func upstream(ns, name, region string) *resource.Upstream {
	return &resource.Upstream{Upstream: gloo.Upstream{
		Metadata: core.ObjectMeta{Namespace: ns, Name: name},
		Spec:     gloo.UpstreamSpec{AWS: &gloo.AWSUpstreamSpec{Region: region}},
	}}
}

func wantCode(t *testing.T, err error, code store.Code) *store.Error {
	t.Helper()
	var se *store.Error
	if !errors.As(err, &se) || se.Code != code {
		t.Fatalf("error = %v, want a *store.Error with code %s", err, code)
	}
	return se
}

func rvOf(o resource.Object) int64 {
	n, _ := strconv.ParseInt(o.GetMetadata().ResourceVersion, 10, 64)
	return n
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCRUD runs the same life cycle for every kind.
func TestCRUD(t *testing.T) {
	tests := []struct {
		kind resource.Kind
		obj  func() resource.Object
		// changeSpec changes what is not metadata, which bumps the generation.
		changeSpec func(resource.Object)
	}{
		{
			kind: resource.KindUpstream,
			obj:  func() resource.Object { return upstream("", "petstore", "us-east-1") },
			changeSpec: func(o resource.Object) {
				o.(*resource.Upstream).Spec.AWS.Region = "eu-west-1"
			},
		},
		{
			kind: resource.KindVirtualService,
			obj: func() resource.Object {
				return &resource.VirtualService{VirtualService: gateway.VirtualService{
					Metadata: core.ObjectMeta{Name: "default"},
					Spec: gateway.VirtualServiceSpec{VirtualHost: &gateway.VirtualHost{
						Domains: []string{"*"},
						Routes: []gateway.Route{{
							Matchers:    []gateway.Matcher{{Prefix: "/"}},
							RouteAction: &gateway.RouteAction{Single: &gateway.Destination{Upstream: &core.ResourceRef{Name: "petstore"}}},
						}},
					}},
				}}
			},
			changeSpec: func(o resource.Object) {
				o.(*resource.VirtualService).Spec.VirtualHost.Domains = []string{"example.com"}
			},
		},
		{
			kind: resource.KindSecret,
			obj: func() resource.Object {
				return &resource.Secret{Secret: core.Secret{
					Metadata: core.ObjectMeta{Name: "aws-creds"},
					Data:     map[string][]byte{core.AWSAccessKeyID: []byte("AKID")},
				}}
			},
			changeSpec: func(o resource.Object) {
				o.(*resource.Secret).Data[core.AWSAccessKeyID] = []byte("AKID2")
			},
		},
		{
			kind: resource.KindSettings,
			obj: func() resource.Object {
				return &resource.Settings{Settings: gloo.Settings{
					Metadata: core.ObjectMeta{Name: "default"},
					Spec:     gloo.SettingsSpec{Discovery: &gloo.DiscoveryOptions{FdsMode: "BLACKLIST"}},
				}}
			},
			changeSpec: func(o resource.Object) {
				o.(*resource.Settings).Spec.Discovery.FdsMode = "DISABLED"
			},
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			ctx := context.Background()
			s := openT(t, dbPath(t))
			in := tt.obj()
			before := jsonOf(t, in)
			created, err := s.Create(ctx, in)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if after := jsonOf(t, in); after != before {
				t.Errorf("Create modified its argument:\nbefore %s\nafter  %s", before, after)
			}
			m := created.GetMetadata()
			if m.Namespace != core.DefaultNamespace {
				t.Errorf("namespace = %q, want %q", m.Namespace, core.DefaultNamespace)
			}
			if m.UID == "" || m.ResourceVersion == "" || m.Generation != 1 {
				t.Errorf("metadata after Create = %+v, want uid, resourceVersion and generation 1", m)
			}
			if ts := m.CreationTimestamp; ts == nil || ts.Location() != time.UTC || ts.Nanosecond() != 0 {
				t.Errorf("creationTimestamp = %v, want UTC with second precision", ts)
			}
			if got, want := created.GetKind(), tt.kind; got != want {
				t.Errorf("kind = %s, want %s", got, want)
			}
			if !strings.Contains(jsonOf(t, created), fmt.Sprintf(`"apiVersion":%q`, resource.APIVersion(tt.kind))) {
				t.Errorf("created object lacks apiVersion %s: %s", resource.APIVersion(tt.kind), jsonOf(t, created))
			}

			got, err := s.Get(ctx, tt.kind, "", m.Name)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if jsonOf(t, got) != jsonOf(t, created) {
				t.Errorf("Get = %s\nwant %s", jsonOf(t, got), jsonOf(t, created))
			}

			_, err = s.Create(ctx, tt.obj())
			wantCode(t, err, store.AlreadyExists)

			// A label change: new resourceVersion, same generation.
			lab := resource.DeepCopy(got)
			lab.GetMetadata().Labels = map[string]string{"team": "a"}
			labeled, err := s.Update(ctx, lab)
			if err != nil {
				t.Fatalf("Update labels: %v", err)
			}
			if rvOf(labeled) <= rvOf(got) || labeled.GetMetadata().Generation != 1 {
				t.Errorf("after a label change: rv %s (was %s), generation %d; want a newer rv and generation 1",
					labeled.GetMetadata().ResourceVersion, got.GetMetadata().ResourceVersion, labeled.GetMetadata().Generation)
			}
			if labeled.GetMetadata().UID != m.UID || !labeled.GetMetadata().CreationTimestamp.Equal(*m.CreationTimestamp) {
				t.Error("Update changed uid or creationTimestamp")
			}

			// A spec change bumps the generation; client-sent store-owned
			// metadata is ignored.
			sp := resource.DeepCopy(labeled)
			tt.changeSpec(sp)
			sp.GetMetadata().UID = "forged"
			sp.GetMetadata().Generation = 99
			updated, err := s.Update(ctx, sp)
			if err != nil {
				t.Fatalf("Update spec: %v", err)
			}
			if um := updated.GetMetadata(); um.Generation != 2 || um.UID != m.UID || um.Labels["team"] != "a" {
				t.Errorf("after a spec change: %+v, want generation 2, the original uid and the label", um)
			}

			list, err := s.List(ctx, tt.kind, "")
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(list) != 1 || jsonOf(t, list[0]) != jsonOf(t, updated) {
				t.Errorf("List = %s, want [%s]", jsonOf(t, list), jsonOf(t, updated))
			}

			if err := s.Delete(ctx, tt.kind, "", m.Name); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			_, err = s.Get(ctx, tt.kind, "", m.Name)
			wantCode(t, err, store.NotFound)
			wantCode(t, s.Delete(ctx, tt.kind, "", m.Name), store.NotFound)
			_, err = s.Update(ctx, updated)
			wantCode(t, err, store.NotFound)
			if !store.IsNotFound(err) {
				t.Error("store.IsNotFound is false for a NotFound error")
			}
		})
	}
}

func TestCreateInvalid(t *testing.T) {
	ctx := context.Background()
	s := openT(t, dbPath(t))
	_, err := s.Create(ctx, upstream("", "", "us-east-1"))
	se := wantCode(t, err, store.Invalid)
	if !strings.Contains(se.Detail, "metadata.name") {
		t.Errorf("detail %q does not name metadata.name", se.Detail)
	}
	_, err = s.Create(ctx, nil)
	wantCode(t, err, store.Invalid)
}

func TestListOrderAndNamespaces(t *testing.T) {
	ctx := context.Background()
	s := openT(t, dbPath(t))
	for _, k := range []string{"b/y", "a/z", "b/x", "a/a"} {
		ns, name, _ := strings.Cut(k, "/")
		if _, err := s.Create(ctx, upstream(ns, name, "us-east-1")); err != nil {
			t.Fatal(err)
		}
	}
	names := func(objs []resource.Object) string {
		var out []string
		for _, o := range objs {
			out = append(out, o.GetMetadata().Key())
		}
		return strings.Join(out, ",")
	}
	tests := []struct{ ns, want string }{
		{"", "a/a,a/z,b/x,b/y"},
		{"b", "b/x,b/y"},
		{"none", ""},
	}
	for _, tt := range tests {
		t.Run("ns="+tt.ns, func(t *testing.T) {
			got, err := s.List(ctx, resource.KindUpstream, tt.ns)
			if err != nil {
				t.Fatal(err)
			}
			if names(got) != tt.want {
				t.Errorf("List(%q) = %s, want %s", tt.ns, names(got), tt.want)
			}
		})
	}
	vs, err := s.List(ctx, resource.KindVirtualService, "")
	if err != nil || len(vs) != 0 || vs == nil {
		t.Errorf("List of an empty kind = %v, %v; want an empty non-nil slice", vs, err)
	}
}

func TestStatus(t *testing.T) {
	ctx := context.Background()
	s := openT(t, dbPath(t))
	in := upstream("", "u", "us-east-1")
	in.Status = &core.Status{State: core.StateAccepted}
	c, err := s.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.GetStatus() != nil {
		t.Errorf("Create kept the status sent with it: %+v", c.GetStatus())
	}

	st := resource.DeepCopy(c)
	st.SetStatus(&core.Status{State: core.StateRejected, Reason: "bad region", ObservedGeneration: 1})
	st.(*resource.Upstream).Spec.AWS.Region = "ignored-by-UpdateStatus"
	withStatus, err := s.UpdateStatus(ctx, st)
	if err != nil {
		t.Fatalf("UpdateStatus: %v", err)
	}
	if withStatus.GetMetadata().Generation != 1 || rvOf(withStatus) <= rvOf(c) {
		t.Errorf("UpdateStatus: generation %d rv %s; want generation 1 and a newer rv", withStatus.GetMetadata().Generation, withStatus.GetMetadata().ResourceVersion)
	}
	if r := withStatus.(*resource.Upstream).Spec.AWS.Region; r != "us-east-1" {
		t.Errorf("UpdateStatus changed the spec: region %q", r)
	}

	// Update keeps the stored status whatever the caller sends.
	up := resource.DeepCopy(withStatus)
	up.(*resource.Upstream).Spec.AWS.Region = "eu-west-1"
	up.SetStatus(nil)
	updated, err := s.Update(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	if got := updated.GetStatus(); got == nil || got.State != core.StateRejected || got.Reason != "bad region" {
		t.Errorf("status after Update = %+v, want the stored Rejected status", got)
	}
	if updated.GetMetadata().Generation != 2 {
		t.Errorf("generation = %d, want 2", updated.GetMetadata().Generation)
	}

	// A stale resourceVersion is refused.
	_, err = s.UpdateStatus(ctx, withStatus)
	wantCode(t, err, store.Conflict)

	// Secrets have no status.
	sec, err := s.Create(ctx, &resource.Secret{Secret: core.Secret{Metadata: core.ObjectMeta{Name: "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateStatus(ctx, sec)
	wantCode(t, err, store.Invalid)
}

func TestUnchangedWriteIsNoop(t *testing.T) {
	ctx := context.Background()
	s := openT(t, dbPath(t))
	c, err := s.Create(ctx, upstream("", "u", "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.Update(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if u.GetMetadata().ResourceVersion != c.GetMetadata().ResourceVersion {
		t.Errorf("an unchanged Update wrote: rv %s -> %s", c.GetMetadata().ResourceVersion, u.GetMetadata().ResourceVersion)
	}
	st := resource.DeepCopy(c)
	st.SetStatus(&core.Status{State: core.StateAccepted})
	a, err := s.UpdateStatus(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.UpdateStatus(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if a.GetMetadata().ResourceVersion != b.GetMetadata().ResourceVersion {
		t.Errorf("an unchanged UpdateStatus wrote: rv %s -> %s", a.GetMetadata().ResourceVersion, b.GetMetadata().ResourceVersion)
	}
}

func TestConflictDetail(t *testing.T) {
	ctx := context.Background()
	s := openT(t, dbPath(t))
	c, err := s.Create(ctx, upstream("", "u", "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	u1 := resource.DeepCopy(c)
	u1.(*resource.Upstream).Spec.AWS.Region = "eu-west-1"
	cur, err := s.Update(ctx, u1)
	if err != nil {
		t.Fatal(err)
	}
	stale := resource.DeepCopy(c)
	stale.(*resource.Upstream).Spec.AWS.Region = "ap-south-1"
	_, err = s.Update(ctx, stale)
	se := wantCode(t, err, store.Conflict)
	want := fmt.Sprintf("resourceVersion %q is stale, current is %q; get the resource again and retry",
		c.GetMetadata().ResourceVersion, cur.GetMetadata().ResourceVersion)
	if se.Detail != want {
		t.Errorf("detail = %q\nwant     %q", se.Detail, want)
	}
	if !store.IsConflict(err) {
		t.Error("store.IsConflict is false")
	}
	got, _ := s.Get(ctx, resource.KindUpstream, "", "u")
	if r := got.(*resource.Upstream).Spec.AWS.Region; r != "eu-west-1" {
		t.Errorf("a refused update wrote: region %q", r)
	}
	// An empty resourceVersion updates unconditionally.
	stale.GetMetadata().ResourceVersion = ""
	if _, err := s.Update(ctx, stale); err != nil {
		t.Errorf("unconditional Update: %v", err)
	}
}

func TestSecretStringData(t *testing.T) {
	ctx := context.Background()
	s := openT(t, dbPath(t))
	in := &resource.Secret{Secret: core.Secret{
		Metadata:   core.ObjectMeta{Name: "aws"},
		Data:       map[string][]byte{core.AWSAccessKeyID: []byte("old"), "keep": []byte("k")},
		StringData: map[string]string{core.AWSAccessKeyID: "AKID", core.AWSSecretAccessKey: "SECRET"},
	}}
	c, err := s.Create(ctx, in)
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
	want := map[string]string{core.AWSAccessKeyID: "AKID", core.AWSSecretAccessKey: "SECRET", "keep": "k"}
	check(t, c, want)
	got, err := s.Get(ctx, resource.KindSecret, "", "aws")
	if err != nil {
		t.Fatal(err)
	}
	check(t, got, want)
	if len(in.StringData) != 2 || string(in.Data[core.AWSAccessKeyID]) != "old" {
		t.Error("Create modified the caller's secret")
	}

	up := resource.DeepCopy(got).(*resource.Secret)
	up.StringData = map[string]string{"keep": "new"}
	u, err := s.Update(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	want["keep"] = "new"
	check(t, u, want)
	if u.GetMetadata().Generation != 2 {
		t.Errorf("generation = %d, want 2 after a data change", u.GetMetadata().Generation)
	}
}

func TestCorruptRow(t *testing.T) {
	ctx := context.Background()
	s := openT(t, dbPath(t))
	for _, n := range []string{"a", "b", "c"} {
		if _, err := s.Create(ctx, upstream("", n, "us-east-1")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.wdb.Exec(`UPDATE resources SET spec_json = '{not json' WHERE name = 'b'`); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, resource.KindUpstream, "")
	var ce *store.CorruptError
	if !errors.As(err, &ce) || len(ce.Refs) != 1 || ce.Refs[0] != "Upstream gloo-system/b" {
		t.Fatalf("List with a corrupt row: err = %v, want a CorruptError naming Upstream gloo-system/b", err)
	}
	if len(list) != 2 || list[0].GetMetadata().Name != "a" || list[1].GetMetadata().Name != "c" {
		t.Errorf("List = %s, want a and c", jsonOf(t, list))
	}
	if n := s.CorruptRows(); n != 1 {
		t.Errorf("CorruptRows = %d, want 1", n)
	}
	_, err = s.Get(ctx, resource.KindUpstream, "", "b")
	wantCode(t, err, store.Invalid)

	// An unconditional update repairs it.
	if _, err := s.Update(ctx, upstream("", "b", "eu-west-1")); err != nil {
		t.Fatalf("repairing Update: %v", err)
	}
	got, err := s.Get(ctx, resource.KindUpstream, "", "b")
	if err != nil {
		t.Fatalf("Get after repair: %v", err)
	}
	if got.(*resource.Upstream).Spec.AWS.Region != "eu-west-1" {
		t.Errorf("repaired object = %s", jsonOf(t, got))
	}
	// And Delete works on a corrupt row.
	if _, err := s.wdb.Exec(`UPDATE resources SET spec_json = 'null]' WHERE name = 'c'`); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, resource.KindUpstream, "", "c"); err != nil {
		t.Errorf("Delete of a corrupt row: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	// umask 0 would leave group/world bits if the store relied on it.
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := dbPath(t)
	s := openT(t, path)
	if _, err := s.Create(context.Background(), upstream("", "u", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", filepath.Base(p), got)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("this is not sqlite\n", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	{
		f, err := Open(foreign, WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		// Turn it into some other application's database.
		for _, q := range []string{`PRAGMA application_id = 0`, `PRAGMA user_version = 0`, `DROP TABLE resources`, `DROP TABLE changelog`, `DROP TABLE revision`, `CREATE TABLE other (x)`} {
			if _, err := f.wdb.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	newer := filepath.Join(dir, "newer.db")
	{
		f, err := Open(newer, WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.wdb.Exec(`PRAGMA user_version = 99`); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"empty file", empty, "the file is empty"},
		{"garbage", garbage, "not a SQLite database"},
		{"foreign sqlite", foreign, "not a lambdagate store"},
		{"newer schema", newer, "upgrade lambdagate"},
		{"missing directory", filepath.Join(dir, "nope", "x.db"), "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.path, WithLogger(quiet))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.path) && tt.name != "missing directory" {
				t.Errorf("error %q does not name the path", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
	// The empty file is left as it was: no schema written into it.
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file was changed: %v %v", fi.Size(), err)
	}
}

// A zero-length file another process has just created (its Open has not
// written the schema yet) is not refused: Open waits for it to be written.
func TestOpenWaitsForAStoreBeingCreated(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	s, err := Open(src, WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	full, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lambdagate.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = os.WriteFile(path, full, 0o600)
	}()
	s, err = Open(path, WithLogger(quiet))
	if err != nil {
		t.Fatalf("a store written 200ms after Open started: %v", err)
	}
	s.Close()
}

func TestBusyIsUnavailable(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	holder := openT(t, path)
	s := openT(t, path, WithBusyTimeout(100*time.Millisecond))
	tx, err := holder.wdb.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = s.Create(ctx, upstream("", "u", "us-east-1"))
	se := wantCode(t, err, store.Unavailable)
	if !strings.Contains(se.Detail, "locked") || !strings.Contains(se.Detail, path) {
		t.Errorf("detail %q should say the file %s is locked", se.Detail, path)
	}
	tx.Rollback()
	if _, err := s.Create(ctx, upstream("", "u", "us-east-1")); err != nil {
		t.Errorf("Create after the lock is released: %v", err)
	}
}

func TestClosed(t *testing.T) {
	s, err := Open(dbPath(t), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = s.Get(context.Background(), resource.KindUpstream, "", "u")
	wantCode(t, err, store.Unavailable)
	_, err = s.Watch(context.Background())
	wantCode(t, err, store.Unavailable)
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestRacingWriters opens two stores on one file, as two processes would,
// and updates the same resourceVersion from both at once.
func TestRacingWriters(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	a, b := openT(t, path), openT(t, path)
	for i := range 20 {
		name := fmt.Sprintf("race-%d", i)
		c, err := a.Create(ctx, upstream("", name, "us-east-1"))
		if err != nil {
			t.Fatal(err)
		}
		regions := []string{"region-a", "region-b"}
		stores := []*Store{a, b}
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
		var winner = -1
		for j := range 2 {
			switch {
			case errs[j] == nil:
				if winner >= 0 {
					t.Fatalf("%s: both writers succeeded on resourceVersion %s", name, c.GetMetadata().ResourceVersion)
				}
				winner = j
			case !store.IsConflict(errs[j]):
				t.Fatalf("%s: writer %d: %v, want nil or Conflict", name, j, errs[j])
			}
		}
		if winner < 0 {
			t.Fatalf("%s: both writers got Conflict: %v / %v", name, errs[0], errs[1])
		}
		got, err := b.Get(ctx, resource.KindUpstream, "", name)
		if err != nil {
			t.Fatal(err)
		}
		if r := got.(*resource.Upstream).Spec.AWS.Region; r != regions[winner] {
			t.Errorf("%s: stored region %q, want the winner's %q", name, r, regions[winner])
		}
		if got.GetMetadata().ResourceVersion != results[winner].GetMetadata().ResourceVersion || got.GetMetadata().Generation != 2 {
			t.Errorf("%s: stored %+v, want the winner's write (rv %s, generation 2)", name, got.GetMetadata(), results[winner].GetMetadata().ResourceVersion)
		}
	}
}

// TestCounter increments one counter from several goroutines on two stores
// with get-modify-update, retrying on Conflict: no increment may be lost.
func TestCounter(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	stores := []*Store{openT(t, path), openT(t, path)}
	if _, err := stores[0].Create(ctx, upstream("", "counter", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	const goroutines, increments = 4, 25 // per store
	var wg sync.WaitGroup
	errc := make(chan error, 2*goroutines)
	conflicts := make(chan int, 2*goroutines)
	for _, s := range stores {
		for range goroutines {
			wg.Go(func() {
				n := 0
				for range increments {
					for try := 0; ; try++ {
						if try == 10000 {
							errc <- errors.New("no progress after 10000 tries")
							return
						}
						o, err := s.Get(ctx, resource.KindUpstream, "", "counter")
						if err != nil {
							errc <- err
							return
						}
						m := o.GetMetadata()
						c, _ := strconv.Atoi(m.Annotations["count"])
						m.Annotations = map[string]string{"count": strconv.Itoa(c + 1)}
						_, err = s.Update(ctx, o)
						if store.IsConflict(err) {
							n++
							continue
						}
						if err != nil {
							errc <- err
							return
						}
						break
					}
				}
				conflicts <- n
			})
		}
	}
	wg.Wait()
	close(errc)
	close(conflicts)
	for err := range errc {
		t.Fatal(err)
	}
	total := 0
	for n := range conflicts {
		total += n
	}
	o, err := stores[1].Get(ctx, resource.KindUpstream, "", "counter")
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * goroutines * increments
	if got := o.GetMetadata().Annotations["count"]; got != strconv.Itoa(want) {
		t.Errorf("count = %s, want %d", got, want)
	}
	t.Logf("%d increments, %d conflicts retried", want, total)
}

// FuzzDecode checks that no row content makes decoding panic: a damaged
// file must give errors, not crashes.
func FuzzDecode(f *testing.F) {
	f.Add(`{"metadata":{"name":"u"},"spec":{"aws":{"region":"us-east-1"}}}`, `{"state":"Accepted"}`, "2024-01-02T03:04:05Z")
	f.Add(`{not json`, `null`, "yesterday")
	f.Add(`{"spec":{"aws":{"lambdaFunctions":[{"logicalName":1}]}}}`, `{"observedGeneration":"x"}`, "")
	f.Fuzz(func(t *testing.T, spec, status, created string) {
		for _, k := range resource.Kinds {
			r := &row{ref: ref{k, "ns", "n"}, rev: 1, generation: 1, created: created, spec: []byte(spec), status: []byte(status)}
			o, err := decode(r)
			if err == nil && (o.GetMetadata().Name != "n" || o.GetKind() != k) {
				t.Fatalf("decode gave %+v for kind %s", o.GetMetadata(), k)
			}
			if decodeLoose(r) == nil {
				t.Fatal("decodeLoose returned nil")
			}
		}
	})
}
