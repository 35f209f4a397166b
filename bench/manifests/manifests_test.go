package manifests

import (
	"bytes"
	"testing"

	"github.com/lambdagate/lambdagate/internal/resource"
)

// The benchmark's manifests decode strictly and validate, with and
// without the rate-limited routes.
func TestManifestsValid(t *testing.T) {
	for _, o := range []Options{
		{Endpoint: "http://127.0.0.1:1", Routes: 10},
		{Endpoint: "http://127.0.0.1:1", RateLimits: true, Redis: "127.0.0.1:6379"},
	} {
		var b bytes.Buffer
		if err := Write(&b, o); err != nil {
			t.Fatal(err)
		}
		objs, err := resource.DecodeAll(&b, "bench")
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		for _, obj := range objs {
			if ps := resource.Validate(obj); len(ps) > 0 {
				t.Errorf("%+v: %s: %s", o, resource.Ref(obj), ps.Join())
			}
		}
	}
}
