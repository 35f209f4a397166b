package discovery

import (
	"fmt"
	"testing"
	"time"
)

// TestBackoffGrowth checks the delay after n failures: 1s doubling, capped
// by max, always within ±20% jitter.
func TestBackoffGrowth(t *testing.T) {
	tests := []struct {
		failures int
		max      time.Duration
		base     time.Duration
	}{
		{1, 5 * time.Minute, time.Second},
		{2, 5 * time.Minute, 2 * time.Second},
		{5, 5 * time.Minute, 16 * time.Second},
		{9, 5 * time.Minute, 256 * time.Second},
		{10, 5 * time.Minute, 5 * time.Minute},
		{64, 5 * time.Minute, 5 * time.Minute}, // shift overflow stays capped
		{1000, 5 * time.Minute, 5 * time.Minute},
		{1, 300 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("failures=%d/max=%s", tc.failures, tc.max), func(t *testing.T) {
			lo, hi := time.Duration(float64(tc.base)*0.8), time.Duration(float64(tc.base)*1.2)
			for range 200 {
				if b := backoff(tc.failures, tc.max); b < lo || b > hi {
					t.Fatalf("backoff(%d, %s) = %s, want within [%s, %s]", tc.failures, tc.max, b, lo, hi)
				}
			}
		})
	}
}

func FuzzParsePrevious(f *testing.F) {
	f.Add("echo,echo:1,echo:prod")
	f.Add(" a , ,b,,")
	f.Fuzz(func(t *testing.T, s string) {
		m := parsePrevious(s)
		again := parsePrevious(formatPrevious(m))
		if len(again) != len(m) {
			t.Fatalf("round trip of %q: %v became %v", s, m, again)
		}
		for n := range m {
			if !again[n] {
				t.Fatalf("round trip of %q lost %q", s, n)
			}
		}
	})
}
