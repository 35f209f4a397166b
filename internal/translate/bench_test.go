package translate

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/lambdagate/lambdagate/bench/manifests"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// BenchmarkTranslate measures building a snapshot (what every config
// change costs) with the real translator; heap-MB is the live heap the
// built snapshot holds.
func BenchmarkTranslate(b *testing.B) {
	for _, tc := range []struct {
		name string
		o    manifests.Options
	}{
		{"routes=10000", manifests.Options{Routes: 10000}},
		{"upstreams=1000xfunctions=10", manifests.Options{Routes: 1003, Upstreams: 1000, Functions: 10}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tc.o.Endpoint = "http://127.0.0.1:9"
			var buf bytes.Buffer
			if err := manifests.Write(&buf, tc.o); err != nil {
				b.Fatal(err)
			}
			objs, err := resource.DecodeAll(&buf, "bench")
			if err != nil {
				b.Fatal(err)
			}
			in := FromObjects(objs)
			env := Env{Getenv: func(string) string { return "" }}
			res := awscreds.NewResolver()
			var snap *snapshot.Snapshot
			b.ReportAllocs()
			for b.Loop() {
				snap = Translate(in, res, env)
			}
			b.StopTimer()
			if snap.Routes < tc.o.Routes {
				b.Fatalf("built %d routes, want %d: %v", snap.Routes, tc.o.Routes, snap.DroppedRoutes)
			}
			var before, after runtime.MemStats
			snap = nil
			runtime.GC()
			runtime.ReadMemStats(&before)
			snap = Translate(in, res, env)
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
			runtime.KeepAlive(snap)
		})
	}
}
