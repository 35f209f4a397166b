package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/store"
)

// eventTimeout is the generous bound for "eventually", here and in the
// conformance suite's Watch cases on this store: the contract is one
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
