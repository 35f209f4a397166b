package pipeline

import (
	"testing"

	"github.com/lambdagate/lambdagate/internal/lambda"
)

func TestNewWeighted(t *testing.T) {
	a, b, c := &lambda.Target{LogicalName: "a"}, &lambda.Target{LogicalName: "b"}, &lambda.Target{LogicalName: "c"}
	for _, tc := range []struct {
		name    string
		weights []uint32
		want    []*lambda.Target
		cum     []uint64
	}{
		{"all", []uint32{1, 2, 3}, []*lambda.Target{a, b, c}, []uint64{1, 3, 6}},
		{"zero weight left out", []uint32{5, 0, 5}, []*lambda.Target{a, c}, []uint64{5, 10}},
		{"max weights do not wrap", []uint32{1<<32 - 1, 1<<32 - 1, 0}, []*lambda.Target{a, b}, []uint64{1<<32 - 1, 1<<33 - 2}},
		{"all zero", []uint32{0, 0, 0}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWeighted([]*lambda.Target{a, b, c}, tc.weights)
			if tc.want == nil {
				if w != nil {
					t.Fatalf("got %+v, want nil", w)
				}
				return
			}
			if len(w.Targets) != len(tc.want) {
				t.Fatalf("targets %d, want %d", len(w.Targets), len(tc.want))
			}
			for i := range tc.want {
				if w.Targets[i] != tc.want[i] || w.Cumulative[i] != tc.cum[i] {
					t.Errorf("[%d] = %s %d, want %s %d", i, w.Targets[i].LogicalName, w.Cumulative[i], tc.want[i].LogicalName, tc.cum[i])
				}
			}
		})
	}
}

// Pick never returns a destination of weight 0, and returns one of weight
// 1 in 1000 about once in 1000 picks.
func TestWeightedPick(t *testing.T) {
	a, b, c := &lambda.Target{LogicalName: "a"}, &lambda.Target{LogicalName: "b"}, &lambda.Target{LogicalName: "c"}
	w := NewWeighted([]*lambda.Target{a, b, c}, []uint32{1, 0, 999})
	got := map[*lambda.Target]int{}
	for range 100000 {
		got[w.Pick()]++
	}
	if got[b] != 0 || got[a] == 0 || got[a] > 500 || got[a]+got[c] != 100000 {
		t.Errorf("picks a=%d b=%d c=%d, want b=0 and a about 100", got[a], got[b], got[c])
	}
}

func BenchmarkWeightedPick(b *testing.B) {
	w := NewWeighted([]*lambda.Target{{}, {}}, []uint32{90, 10})
	for b.Loop() {
		_ = w.Pick()
	}
}
