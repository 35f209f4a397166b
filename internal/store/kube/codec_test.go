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

// TestCodecProtoNames: a resource stored with Gloo's proto spellings
// (kubectl apply of a manifest Gloo accepts) is read as the manifest
// decoder reads it, and the informer's object is left as it was.
func TestCodecProtoNames(t *testing.T) {
	const manifest = `
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs, namespace: gloo-system}
spec:
  virtual_host:
    routes:
    - route_action: {single: {upstream: {name: up}}}
      options: {prefix_rewrite: /v2, retries: {num_retries: 4, retry_on: 5xx}}
`
	b, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := utiljson.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	before := js(u.Object)
	o, err := fromUnstructured(resource.KindVirtualService, u, "lambdagate-system")
	if err != nil {
		t.Fatal(err)
	}
	vs := o.(*resource.VirtualService)
	if vs.Spec.VirtualHost == nil || len(vs.Spec.VirtualHost.Routes) != 1 {
		t.Fatalf("spec = %s", js(vs.Spec))
	}
	r := vs.Spec.VirtualHost.Routes[0]
	if r.RouteAction == nil || r.Options == nil || r.Options.PrefixRewrite == nil || *r.Options.PrefixRewrite != "/v2" ||
		r.Options.Retries == nil || r.Options.Retries.NumRetries != 4 || r.Options.Retries.RetryOn != "5xx" {
		t.Errorf("route = %s, want prefixRewrite /v2 and retries 4 on 5xx", js(r))
	}
	if len(r.Options.Unimplemented) != 0 {
		t.Errorf("proto spellings kept as unimplemented: %v", r.Options.Unimplemented)
	}
	if after := js(u.Object); after != before {
		t.Errorf("the stored object changed:\n got %s\nwant %s", after, before)
	}
}
