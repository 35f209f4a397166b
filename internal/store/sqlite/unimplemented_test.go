package sqlite

import (
	"context"
	"strings"
	"testing"

	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// Gloo fields lambdagate does not implement survive the store, an update
// of the object read back and discovery's patch.
func TestUnimplementedFieldsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openT(t, dbPath(t))
	o, err := resource.DecodeOne([]byte(`
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up}
spec:
  connectionConfig: {maxRequestsPerConnection: 10}
  aws:
    region: us-east-1
    lambdaFunctions:
    - {logicalName: old, lambdaFunctionName: old}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, o); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, resource.KindUpstream, "gloo-system", "up")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	fns := []gloo.LambdaFunctionSpec{{LogicalName: "new", LambdaFunctionName: "new"}}
	if _, err := s.PatchLambdaFunctions(ctx, "gloo-system", "up", "", fns, map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, resource.KindUpstream, "gloo-system", "up")
	if err != nil {
		t.Fatal(err)
	}
	js := jsonOf(t, got)
	for _, want := range []string{`"connectionConfig":{"maxRequestsPerConnection":10}`, `"logicalName":"new"`, `"a":"b"`} {
		if !strings.Contains(js, want) {
			t.Errorf("stored upstream lacks %s: %s", want, js)
		}
	}
	if strings.Contains(js, `"old"`) {
		t.Errorf("the old functions are still there: %s", js)
	}
	// A stale version is a conflict.
	_, err = s.PatchLambdaFunctions(ctx, "gloo-system", "up", "1", fns, nil)
	wantCode(t, err, store.Conflict)
}
