package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// eventTimeout is the generous bound for "eventually": the contract is one
// second, this leaves room for a loaded CI machine.
const eventTimeout = 2 * time.Second

func nextEvent(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed early")
		}
		return ev
	case <-time.After(eventTimeout):
		t.Fatalf("no event within %s", eventTimeout)
	}
	panic("unreachable")
}

// TestWatchAcrossStores watches on one store while another (as another
// process would) writes, and checks every change arrives, in order.
func TestWatchAcrossStores(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := dbPath(t)
	watcher, writer := openT(t, path), openT(t, path)
	if _, err := writer.Create(ctx, upstream("", "before-watch", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	ch, err := watcher.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		typ   store.EventType
		name  string
		write func() (resource.Object, error)
	}
	var steps []step
	for i := range 5 {
		name := fmt.Sprintf("u%d", i)
		steps = append(steps,
			step{store.Added, name, func() (resource.Object, error) {
				return writer.Create(ctx, upstream("", name, "us-east-1"))
			}},
			step{store.Modified, name, func() (resource.Object, error) {
				return writer.Update(ctx, upstream("", name, "eu-west-1"))
			}},
			step{store.Deleted, name, func() (resource.Object, error) {
				return nil, writer.Delete(ctx, resource.KindUpstream, "", name)
			}},
		)
	}
	var latencies []time.Duration
	lastRV := int64(0)
	for _, st := range steps {
		start := time.Now()
		if _, err := st.write(); err != nil {
			t.Fatalf("%s %s: %v", st.typ, st.name, err)
		}
		ev := nextEvent(t, ch)
		latencies = append(latencies, time.Since(start))
		if ev.Type != st.typ || ev.Object == nil || ev.Object.GetMetadata().Name != st.name {
			t.Fatalf("event = %s %v, want %s %s", ev.Type, ev.Object, st.typ, st.name)
		}
		rv := rvOf(ev.Object)
		if rv <= lastRV {
			t.Errorf("event resourceVersion %d not after %d", rv, lastRV)
		}
		lastRV = rv
		if st.typ == store.Modified && ev.Object.(*resource.Upstream).Spec.AWS.Region != "eu-west-1" {
			t.Errorf("Modified event carries %s, want the object after the change", jsonOf(t, ev.Object))
		}
		if st.typ == store.Deleted && ev.Object.(*resource.Upstream).Spec.AWS.Region != "eu-west-1" {
			t.Errorf("Deleted event carries %s, want the object before the deletion", jsonOf(t, ev.Object))
		}
	}
	slices.Sort(latencies)
	t.Logf("watch latency across stores over %d events: p50 %s, max %s (poll interval %s)",
		len(latencies), latencies[len(latencies)/2], latencies[len(latencies)-1], DefaultPollInterval)

	// Writes in a burst come in commit order.
	for i := range 20 {
		if _, err := writer.Create(ctx, upstream("burst", fmt.Sprintf("b%02d", i), "us-east-1")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		ev := nextEvent(t, ch)
		if want := fmt.Sprintf("b%02d", i); ev.Type != store.Added || ev.Object.GetMetadata().Name != want {
			t.Fatalf("burst event %d = %s %s, want ADDED %s", i, ev.Type, ev.Object.GetMetadata().Name, want)
		}
	}
}

func TestWatchCloses(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		s := openT(t, dbPath(t))
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := s.Watch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		waitClosed(t, ch)
	})
	t.Run("store", func(t *testing.T) {
		s := openT(t, dbPath(t))
		ch, err := s.Watch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// A pending write whose event nobody reads must not block Close.
		if _, err := s.Create(context.Background(), upstream("", "u", "us-east-1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, ch)
	})
}

func waitClosed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	deadline := time.After(eventTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("watch channel not closed within %s", eventTimeout)
		}
	}
}

// TestWatchResync trims the changelog past a watcher's position: the watcher
// gets one Resync, then the changes after it.
func TestWatchResync(t *testing.T) {
	tests := []struct {
		name string
		from int64
		want []string // event types and names, in order
	}{
		// Twelve creates are revisions 1..12 (u00..u11); the changelog keeps
		// 8..12. From 0 the watcher missed 1..7.
		{"behind the trim point", 0, []string{"RESYNC", "ADDED after"}},
		{"one behind the trim point", 6, []string{"RESYNC", "ADDED after"}},
		// From 7 nothing was missed.
		{"at the trim point", 7, []string{"ADDED u07", "ADDED u08", "ADDED u09", "ADDED u10", "ADDED u11", "ADDED after"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := openT(t, dbPath(t), WithChangelogLimit(5))
			for i := range 12 {
				if _, err := s.Create(ctx, upstream("", fmt.Sprintf("u%02d", i), "us-east-1")); err != nil {
					t.Fatal(err)
				}
			}
			var rows int
			if err := s.rdb.QueryRow(`SELECT count(*) FROM changelog`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != 5 {
				t.Errorf("changelog has %d rows, want the limit 5", rows)
			}
			ch, err := s.watchFrom(ctx, tt.from)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for len(got) < len(tt.want)-1 {
				got = append(got, evString(nextEvent(t, ch)))
			}
			// A write after the watcher caught up.
			if _, err := s.Create(ctx, upstream("", "after", "us-east-1")); err != nil {
				t.Fatal(err)
			}
			got = append(got, evString(nextEvent(t, ch)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

func evString(ev store.Event) string {
	if ev.Object == nil {
		return string(ev.Type)
	}
	return string(ev.Type) + " " + ev.Object.GetMetadata().Name
}
