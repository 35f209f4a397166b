package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// TestGetVirtualServiceRoutes: ROUTES counts the routes served, as the
// status the gateway wrote for the current generation says; dropped ones
// are shown apart.
func TestGetVirtualServiceRoutes(t *testing.T) {
	objs, err := resource.DecodeAll(strings.NewReader(`
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {aws_access_key_id: a, aws_secret_access_key: b}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up}
spec: {aws: {region: us-east-1, secretRef: {name: creds}, lambdaFunctions: [{logicalName: echo, lambdaFunctionName: echo}]}}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: partly, generation: 1}
spec:
  virtualHost:
    domains: [a.example.com]
    routes:
    - routeAction: {single: {upstream: {name: missing}, destinationSpec: {aws: {logicalName: echo}}}}
    - routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: echo}}}}
    - routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: nope}}}}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: whole, generation: 1}
spec:
  virtualHost:
    domains: [b.example.com]
    routes:
    - routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: echo}}}}
    - routeAction: {single: {upstream: {name: up}, destinationSpec: {aws: {logicalName: echo}}}}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	snap := translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), translate.Env{})
	var vss []resource.Object
	for _, o := range objs {
		if o.GetKind() != resource.KindVirtualService {
			continue
		}
		o.GetMetadata().Generation = 1
		st := snap.Statuses[resource.Ref(o)]
		st.ObservedGeneration = 1
		o.SetStatus(&st)
		vss = append(vss, o)
	}
	// A status of an older generation says nothing about this one.
	stale := resource.DeepCopy(vss[0])
	stale.GetMetadata().Name, stale.GetMetadata().Generation = "stale", 2
	vss = append(vss, stale)

	var out bytes.Buffer
	g := &globals{stdout: &out}
	if err := printTable(g, resource.KindVirtualService, vss, false, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`(?m)^partly\s+Warning\s+a\.example\.com\s+1 \(2 dropped\)\s`,
		`(?m)^whole\s+Accepted\s+b\.example\.com\s+2\s`,
		`(?m)^stale\s+Warning\s+a\.example\.com\s+3\s`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("no line matching %s in:\n%s", want, out.String())
		}
	}
}
