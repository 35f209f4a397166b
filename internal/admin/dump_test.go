package admin

import (
	"context"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// The config dump lists every destination of a weighted route with its
// weight, not only the first.
func TestConfigDumpWeighted(t *testing.T) {
	const y = `
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: gloo-system}
stringData: {aws_access_key_id: AKID, aws_secret_access_key: secret}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: orders, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    secretRef: {name: creds}
    lambdaFunctions:
    - {logicalName: live, lambdaFunctionName: orders, qualifier: live}
    - {logicalName: canary, lambdaFunctionName: orders, qualifier: canary}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - name: split
      routeAction:
        multi:
          destinations:
          - {weight: 9, destination: {upstream: {name: orders}, destinationSpec: {aws: {logicalName: live}}}}
          - {weight: 1, destination: {upstream: {name: orders}, destinationSpec: {aws: {logicalName: canary}}}}
`
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	env := translate.Env{Getenv: func(string) string { return "" }}
	h := &snapshot.Holder{}
	h.Store(translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), env))
	s := New(Config{StoreProblem: func() string { return "" }, Stored: func(context.Context) ([]resource.Object, error) { return nil, nil }}, h)
	d, err := s.ConfigDump(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.VirtualServices) != 1 || len(d.VirtualServices[0].Routes) != 1 {
		t.Fatalf("dump: %+v (statuses %v)", d.VirtualServices, d.Statuses)
	}
	w := d.VirtualServices[0].Routes[0].Weighted
	if len(w) != 2 || w[0].Weight != 9 || w[0].Target.Qualifier != "live" || w[1].Weight != 1 || w[1].Target.Qualifier != "canary" {
		t.Errorf("weighted = %+v, want live 9 and canary 1", w)
	}
}
