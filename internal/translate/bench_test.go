package translate

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/lambdagate/lambdagate/bench/manifests"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
)

// BenchmarkTranslate measures building a snapshot (what every config
// change costs) with the real translator; heap-MB is the live heap the
// built snapshot holds. Compiled regular expressions are shared between
// snapshots: "cold" forgets them before each build (the first build, at
// start), the others measure a rebuild.
func BenchmarkTranslate(b *testing.B) {
	for _, tc := range []struct {
		name string
		o    manifests.Options
		cold bool
	}{
		{"routes=10000", manifests.Options{Routes: 10000}, false},
		{"routes=10000/cold", manifests.Options{Routes: 10000}, true},
		{"upstreams=1000xfunctions=10", manifests.Options{Routes: 1003, Upstreams: 1000, Functions: 10}, false},
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
				if tc.cold {
					b.StopTimer()
					router.ForgetCompiled()
					b.StartTimer()
				}
				snap = Translate(in, res, env)
			}
			b.StopTimer()
			if snap.Routes < tc.o.Routes {
				b.Fatalf("built %d routes, want %d: %v", snap.Routes, tc.o.Routes, snap.DroppedRoutes)
			}
			var before, after runtime.MemStats
			snap = nil
			router.ForgetCompiled()
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
