package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	tu := &Tuner{minHeap: 64 << 20}
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{1, maxPercent},
		{4 << 20, 1600},
		{32 << 20, 200}, // the next cycle at 96 MiB: 64 MiB of headroom
		{40 << 20, 160},
		{64 << 20, 100},
		{1 << 30, 100},
	} {
		if got := tu.percent(tc.live); got != tc.want {
			t.Errorf("live %d: percent %d, want %d", tc.live, got, tc.want)
		}
	}
}

func currentPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestTunesAfterEachCollection: with a small live heap the percentage is
// raised after collections, and Stop restores the default.
func TestTunesAfterEachCollection(t *testing.T) {
	t.Setenv("GOGC", "")
	tu := Start(256 << 20)
	if tu == nil {
		t.Fatal("Start returned nil")
	}
	defer tu.Stop()
	start := tu.cycles.Load()
	for deadline := time.Now().Add(10 * time.Second); tu.cycles.Load() < start+2; {
		if time.Now().After(deadline) {
			t.Fatalf("no adjustment after collections (cycles %d)", tu.cycles.Load())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if p := currentPercent(); p <= 100 {
		t.Fatalf("percent %d with a live heap far below 256 MiB, want more than 100", p)
	}
	tu.Stop()
	if p := currentPercent(); p != 100 {
		t.Fatalf("percent %d after Stop, want 100", p)
	}
}

func TestExplicitGOGCWins(t *testing.T) {
	t.Setenv("GOGC", "50")
	if tu := Start(64 << 20); tu != nil {
		tu.Stop()
		t.Fatal("the tuner started although GOGC is set")
	}
	if Start(0) != nil {
		t.Fatal("the tuner started with no floor")
	}
}
