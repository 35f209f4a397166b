package controller

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// TestStatusWriter checks that a newer batch replaces one not yet written,
// that only the latest desired statuses reach the store, and that the
// reconcile loop can tell the change events of those writes from others.
func TestStatusWriter(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "lambdagate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	objs, err := resource.DecodeAll(strings.NewReader(`
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: a}
spec: {aws: {region: us-east-1, secretRef: {name: creds}}}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: b}
spec: {aws: {region: us-east-1, secretRef: {name: creds}}}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	var stored []resource.Object
	for _, o := range objs {
		c, err := st.Create(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, c)
	}
	events, err := st.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st, &snapshot.Holder{}, awscreds.NewResolver())
	w := srv.statusW
	status := func(state core.State, reason string) core.Status {
		return core.Status{State: state, Reason: reason, ReportedBy: "gateway", ObservedGeneration: 1}
	}
	refA, refB := resource.Ref(stored[0]), resource.Ref(stored[1])
	// The first batch is replaced before the writer runs: it never reaches
	// the store.
	w.set(stored, map[string]core.Status{refA: status(core.StateRejected, "old"), refB: status(core.StateRejected, "old")})
	w.set(stored, map[string]core.Status{refA: status(core.StateAccepted, ""), refB: status(core.StateWarning, "new")})
	w.flush(ctx)
	for _, tc := range []struct {
		name string
		want core.Status
	}{
		{"a", status(core.StateAccepted, "")},
		{"b", status(core.StateWarning, "new")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := st.Get(ctx, resource.KindUpstream, core.DefaultNamespace, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.GetStatus(); got == nil || *got != tc.want {
				t.Errorf("status = %+v, want %+v", got, tc.want)
			}
		})
	}

	// Both writes come back as events, recognised as our own exactly once.
	timeout := time.After(10 * time.Second)
	own := 0
	for own < 2 {
		select {
		case ev := <-events:
			if !w.ownWrite(ev) {
				t.Fatalf("event %s %s not recognised as our status write", ev.Type, resource.Ref(ev.Object))
			}
			if w.ownWrite(ev) {
				t.Fatalf("event %s %s recognised twice", ev.Type, resource.Ref(ev.Object))
			}
			own++
		case <-timeout:
			t.Fatalf("saw %d of 2 status-write events within 10s", own)
		}
	}
	// A change by someone else is not ours.
	upd := resource.DeepCopy(stored[0])
	upd.GetMetadata().Labels = map[string]string{"changed": "yes"}
	upd.GetMetadata().ResourceVersion = ""
	if _, err := st.Update(ctx, upd); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if w.ownWrite(ev) {
			t.Errorf("a label change was taken for our status write")
		}
	case <-timeout:
		t.Fatal("no event for the label change within 10s")
	}
	// Statuses already stored are not written again: no event follows.
	cur, err := st.List(ctx, resource.KindUpstream, "")
	if err != nil {
		t.Fatal(err)
	}
	rvs := map[string]string{}
	for _, o := range cur {
		rvs[resource.Ref(o)] = o.GetMetadata().ResourceVersion
	}
	w.set(cur, map[string]core.Status{refA: status(core.StateAccepted, ""), refB: status(core.StateWarning, "new")})
	w.flush(ctx)
	after, err := st.List(ctx, resource.KindUpstream, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range after {
		if rv := o.GetMetadata().ResourceVersion; rv != rvs[resource.Ref(o)] {
			t.Errorf("%s: unchanged status rewritten (resourceVersion %s -> %s)", resource.Ref(o), rvs[resource.Ref(o)], rv)
		}
	}
}

// failingStatusStore fails every status write with err.
type failingStatusStore struct {
	store.Store
	err error
}

func (f failingStatusStore) UpdateStatus(context.Context, resource.Object) (resource.Object, error) {
	return nil, f.err
}

// TestStatusWriterReportsFailures checks that a status that cannot be
// written is logged, a NotFound naming no object (a missing status
// endpoint) and an Invalid included, while a conflict and a resource
// deleted meanwhile are not warned about.
func TestStatusWriterReportsFailures(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "lambdagate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o, err := resource.DecodeOne([]byte(`{"apiVersion":"gloo.solo.io/v1","kind":"Upstream","metadata":{"name":"a"},"spec":{"aws":{"region":"us-east-1"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	ref := resource.Ref(o)
	for _, tc := range []struct {
		name string
		err  error
		warn bool
	}{
		{"status endpoint missing", &store.Error{Code: store.NotFound, Kind: resource.KindUpstream, Detail: "the server could not find the requested resource"}, true},
		{"invalid", &store.Error{Code: store.Invalid, Kind: resource.KindUpstream, Detail: "status.state: Unsupported value"}, true},
		{"unavailable", &store.Error{Code: store.Unavailable, Kind: resource.KindUpstream}, true},
		{"deleted", &store.Error{Code: store.NotFound, Kind: resource.KindUpstream, Name: "a"}, false},
		{"conflict", &store.Error{Code: store.Conflict, Kind: resource.KindUpstream, Name: "a"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			srv := New(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, failingStatusStore{st, tc.err}, &snapshot.Holder{}, awscreds.NewResolver())
			srv.statusW.set([]resource.Object{o}, map[string]core.Status{ref: {State: core.StateAccepted, ReportedBy: "gateway"}})
			srv.statusW.flush(ctx)
			if got := strings.Contains(logs.String(), "writing status failed"); got != tc.warn {
				t.Errorf("warned = %v, want %v; logs:\n%s", got, tc.warn, logs.String())
			}
		})
	}
}
