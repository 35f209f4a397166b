package kube

import (
	"encoding/json"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// TestCodecRoundTrip: an object read from the API server and written back
// keeps Gloo's fields lambdagate does not implement, and lambdagate's
// status is read from either shape.
func TestCodecRoundTrip(t *testing.T) {
	const manifest = `
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system, generation: 4}
spec:
  virtualHost:
    options: {retries: {numRetries: 2}}
    routes:
    - routeAction: {single: {upstream: {name: up}}}
      options: {timeout: 5s, retries: {numRetries: 3}, extauth: {disable: true}, headerManipulation: {requestHeadersToAdd: [{header: {key: x-a, value: b}, append: false}], responseHeadersToRemove: [server]}}
    - redirectAction: {httpsRedirect: true, portRedirect: 8443, responseCode: PERMANENT_REDIRECT, regexRewrite: {pattern: {regex: '^/a(.*)'}, substitution: '/b\1'}}
    - directResponseAction: {status: 503, body: down}
      options: {ratelimit: {localRatelimit: {maxTokens: 3, fillInterval: 1s}, rateLimits: [{actions: [{remoteAddress: {}}]}]}, ratelimitBasic: {anonymousLimits: {unit: MINUTE, requestsPerUnit: 5}, anonymousKey: {remoteAddress: {}}}}
status:
  statuses:
    gloo-system: {state: 1, reportedBy: gateway}
    lambdagate-system: {state: Warning, reason: why, reportedBy: lambdagate}
`
	// As client-go decodes: integers are int64.
	b, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := utiljson.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	o, err := fromUnstructured(resource.KindVirtualService, u, "lambdagate-system")
	if err != nil {
		t.Fatal(err)
	}
	want := core.Status{State: core.StateWarning, Reason: "why", ReportedBy: "lambdagate", ObservedGeneration: 4}
	if got := o.GetStatus(); got == nil || *got != want {
		t.Errorf("status = %+v, want %+v", got, want)
	}
	if st, ok := statusOf(u, "gloo-system"); !ok || st.State != core.StateAccepted {
		t.Errorf("Gloo's numeric state read as %+v", st)
	}
	back, err := toUnstructured(o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := js(back.Object["spec"]), js(u.Object["spec"]); got != want {
		t.Errorf("spec after a round trip:\n got %s\nwant %s", got, want)
	}

	setNestedStatus(u, "lambdagate-system", map[string]any{"state": "Accepted", "reportedBy": "lambdagate", "observedGeneration": int64(4)})
	got, _, _ := unstructured.NestedMap(u.Object, "status", "statuses")
	if !reflect.DeepEqual(got["lambdagate-system"], map[string]any{"state": "Accepted", "reportedBy": "lambdagate"}) {
		t.Errorf("lambdagate's entry = %v", got["lambdagate-system"])
	}
	if got["gloo-system"] == nil {
		t.Errorf("Gloo's entry was dropped: %v", got)
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
