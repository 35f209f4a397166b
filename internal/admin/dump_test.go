package admin

import (
	"context"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/metrics"
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

// Routes the gateway answers itself (a direct response, a redirect) are
// listed in the overview and the config dump beside the function routes.
func TestAnsweredRoutesListed(t *testing.T) {
	const y = `
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - name: maintenance
      matchers: [{prefix: /maintenance}]
      directResponseAction: {status: 503, body: down}
    - name: to-https
      matchers: [{prefix: /}]
      redirectAction: {httpsRedirect: true}
`
	objs, err := resource.DecodeAll(strings.NewReader(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	env := translate.Env{Getenv: func(string) string { return "" }}
	h := &snapshot.Holder{}
	h.Store(translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), env))
	s := New(Config{StoreProblem: func() string { return "" }, Stored: func(context.Context) ([]resource.Object, error) { return nil, nil },
		Ready: func() (bool, string) { return true, "" }, Metrics: metrics.New(), RouteWarning: func(string, string) string { return "" }}, h)
	d, err := s.ConfigDump(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.VirtualServices) != 1 || len(d.VirtualServices[0].Routes) != 2 {
		t.Fatalf("dump: %+v (statuses %v)", d.VirtualServices, d.Statuses)
	}
	if a, b := d.VirtualServices[0].Routes[0].Answer, d.VirtualServices[0].Routes[1].Answer; a != "directResponse 503" || b != "redirect 301 https" {
		t.Errorf("dump answers = %q, %q", a, b)
	}
	ov, err := s.Overview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.VirtualServices) != 1 || len(ov.VirtualServices[0].Routes) != 2 || ov.VirtualServices[0].Routes[1].Answer != "redirect 301 https" {
		t.Errorf("overview: %+v", ov.VirtualServices)
	}
}
