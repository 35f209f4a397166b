package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
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

// TestResourceVersionIsRevision checks what the contract leaves open and
// this store promises: a resourceVersion is the file's global revision, so
// each write, through any handle on the file, gets a larger one than the
// write before, and watch events (a watch resumes from a revision) carry
// them in increasing order.
func TestResourceVersionIsRevision(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := dbPath(t)
	watcher, writer := openT(t, path), openT(t, path)
	ch, err := watcher.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	check := func(what string, o resource.Object, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if rv := rvOf(o); rv <= last {
			t.Errorf("%s: resourceVersion %d, want more than the previous write's %d", what, rv, last)
		}
		last = rvOf(o)
	}
	writes := 0
	for _, kind := range resource.Kinds {
		o, err := resource.New(kind)
		if err != nil {
			t.Fatal(err)
		}
		o.GetMetadata().Name = "r"
		c, err := writer.Create(ctx, o)
		check(string(kind)+" create", c, err)
		c.GetMetadata().Labels = map[string]string{"team": "a"}
		l, err := writer.Update(ctx, c)
		check(string(kind)+" label change", l, err)
		writes += 2
		if kind != resource.KindSecret {
			l.SetStatus(&core.Status{State: core.StateAccepted})
			st, err := writer.UpdateStatus(ctx, l)
			check(string(kind)+" status change", st, err)
			writes++
		}
		if err := writer.Delete(ctx, kind, "", "r"); err != nil {
			t.Fatal(err)
		}
		writes++
	}
	var prev int64
	for range writes {
		ev := nextEvent(t, ch)
		if ev.Object == nil {
			t.Fatalf("%s event after resourceVersion %d", ev.Type, prev)
		}
		if rv := rvOf(ev.Object); rv <= prev {
			t.Errorf("%s event resourceVersion %d not after %d", ev.Type, rv, prev)
		}
		prev = rvOf(ev.Object)
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
