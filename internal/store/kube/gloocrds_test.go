package kube_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/lambdagate/lambdagate/internal/locallambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/server"
	"github.com/lambdagate/lambdagate/internal/store/kube"
)

// glooManifests are what a Gloo user has in the cluster: an Upstream and
// VirtualServices using fields lambdagate does not implement, with the
// status Gloo wrote.
const glooManifests = `
apiVersion: v1
kind: Secret
metadata: {name: aws-creds, namespace: gloo-system}
type: Opaque
stringData: {aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: wJalrXUtnFEMI}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: aws-upstream, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    secretRef: {name: aws-creds, namespace: gloo-system}
  connectionConfig: {connectTimeout: 2s, maxRequestsPerConnection: 10}
  circuitBreakers: {maxConnections: 5}
status:
  statuses:
    gloo-system: {reportedBy: gloo, state: Accepted}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: aws-route, namespace: gloo-system}
spec:
  virtualHost:
    domains: ['*']
    options:
      retries: {numRetries: 2}
      includeRequestAttemptCount: true
    routes:
    - matchers: [{prefix: /}]
      routeAction:
        single:
          upstream: {name: aws-upstream, namespace: gloo-system}
          destinationSpec:
            aws: {logicalName: echo, unwrapAsApiGateway: true}
      options:
        timeout: 10s
        prefixRewrite: /api
        retries: {retryOn: 5xx, numRetries: 3}
        headerManipulation: {requestHeadersToRemove: [x-debug]}
        hostRewrite: api.internal
        tracing: {routeDescriptor: api}
status:
  statuses:
    gloo-system: {reportedBy: gateway, state: Accepted}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: guarded, namespace: gloo-system}
spec:
  virtualHost:
    domains: [guarded.example.com]
    options:
      extauth: {configRef: {name: basic-auth, namespace: gloo-system}}
    routes:
    - matchers: [{prefix: /}]
      routeAction:
        single:
          upstream: {name: aws-upstream, namespace: gloo-system}
          destinationSpec:
            aws: {logicalName: echo}
---
apiVersion: enterprise.gloo.solo.io/v1
kind: AuthConfig
metadata: {name: basic-auth, namespace: gloo-system}
spec:
  configs:
  - basicAuth:
      realm: gloo
      apr: {users: {user: {salt: TYiryv0/, hashedPassword: 8BvzLUO9IfGPGGsPnAgSu1}}}
`

// TestGlooCRDs installs lambdagate into a cluster that has Gloo's CRDs
// (structural schemas, no status subresource; testdata/gloo-crds) and
// Gloo's resources: after discovery and status writes, every field is
// still there, Gloo's statuses too, and lambdagate's own statuses, under
// status.statuses.<its namespace>, name each field it does not implement.
func TestGlooCRDs(t *testing.T) {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "internal", "store", "kube", "testdata", "gloo-crds")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assetsDir,
	}
	env.ControlPlane.GetAPIServer().StopTimeout = 5 * time.Second
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting a second envtest with Gloo's CRDs: %v", err)
	}
	defer func() { _ = env.Stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kc := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	for _, ns := range []string{"gloo-system", "lambdagate-system"} {
		if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	applied := map[string]*unstructured.Unstructured{}
	for _, doc := range strings.Split(glooManifests, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		kind, err := resource.ParseKind(u.GetKind())
		if err != nil {
			t.Fatal(err)
		}
		got, err := dyn.Resource(kube.GVR(kind)).Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		applied[u.GetName()] = got
	}
	// Gloo's schema keeps every field of these manifests.
	if _, ok, _ := unstructured.NestedFieldNoCopy(applied["aws-upstream"].Object, "spec", "connectionConfig"); !ok {
		t.Fatalf("the test CRD pruned connectionConfig: %v", applied["aws-upstream"].Object)
	}

	ll, err := locallambda.New(locallambda.Options{Dir: filepath.Join(repoRoot, "examples", "functions"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ll.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ll.Serve(ln) }()

	logs := &lockedWriter{w: &strings.Builder{}}
	log := slog.New(slog.NewTextHandler(logs, nil))
	st, err := kube.New(cfg, kube.Options{StatusKey: "lambdagate-system", HealthInterval: 200 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := server.New(server.Config{
		HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		LocalLambda:       &url.URL{Scheme: "http", Host: ln.Addr().String()},
		DiscoveryInterval: 300 * time.Millisecond,
		ShutdownGrace:     time.Second,
		Logger:            log,
	}, st)
	ls, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(rctx, ls) }()
	defer func() { rcancel(); <-done }()

	get := func(kind resource.Kind, name string) *unstructured.Unstructured {
		u, err := dyn.Resource(kube.GVR(kind)).Namespace("gloo-system").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	ours := func(u *unstructured.Unstructured) (state, reason string) {
		st, _, _ := unstructured.NestedMap(u.Object, "status", "statuses", "lambdagate-system")
		state, _ = st["state"].(string)
		reason, _ = st["reason"].(string)
		return state, reason
	}
	eventually(t, 60*time.Second, func() error {
		up := get(resource.KindUpstream, "aws-upstream")
		fns, _, _ := unstructured.NestedSlice(up.Object, "spec", "aws", "lambdaFunctions")
		if len(fns) == 0 {
			return fmt.Errorf("not discovered yet: %v", up.Object["spec"])
		}
		for _, name := range []string{"aws-upstream"} {
			if s, _ := ours(get(resource.KindUpstream, name)); s == "" {
				return fmt.Errorf("upstream %s has no lambdagate status yet", name)
			}
		}
		for _, name := range []string{"aws-route", "guarded"} {
			if s, _ := ours(get(resource.KindVirtualService, name)); s == "" {
				return fmt.Errorf("virtual service %s has no lambdagate status yet", name)
			}
		}
		return nil
	})

	t.Run("nothing is lost", func(t *testing.T) {
		up := get(resource.KindUpstream, "aws-upstream")
		spec := up.Object["spec"].(map[string]any)
		unstructured.RemoveNestedField(spec, "aws", "lambdaFunctions")
		if want := applied["aws-upstream"].Object["spec"]; !reflect.DeepEqual(spec, want) {
			t.Errorf("upstream spec changed beyond lambdaFunctions:\n got %s\nwant %s", js(spec), js(want))
		}
		for _, name := range []string{"aws-route", "guarded"} {
			vs := get(resource.KindVirtualService, name)
			if got, want := vs.Object["spec"], applied[name].Object["spec"]; !reflect.DeepEqual(got, want) {
				t.Errorf("virtual service %s spec changed:\n got %s\nwant %s", name, js(got), js(want))
			}
		}
		for name, kind := range map[string]resource.Kind{"aws-upstream": resource.KindUpstream, "aws-route": resource.KindVirtualService} {
			g, _, _ := unstructured.NestedMap(get(kind, name).Object, "status", "statuses", "gloo-system")
			if g["state"] != "Accepted" {
				t.Errorf("%s: Gloo's own status entry was lost: %v", name, get(kind, name).Object["status"])
			}
		}
	})

	t.Run("every unsupported field is named on status", func(t *testing.T) {
		for _, tc := range []struct {
			kind   resource.Kind
			name   string
			state  string
			fields []string
		}{
			{resource.KindUpstream, "aws-upstream", "Warning", []string{"spec.connectionConfig", "spec.circuitBreakers"}},
			{resource.KindVirtualService, "aws-route", "Warning", []string{
				"spec.virtualHost.options.includeRequestAttemptCount", "spec.virtualHost.routes[0].options.hostRewrite",
				"spec.virtualHost.routes[0].options.tracing"}},
			// basicAuth is not run: the AuthConfig is Rejected, and the
			// route using it is not served (never served open).
			{resource.KindAuthConfig, "basic-auth", "Rejected", []string{"spec.configs[0].basicAuth"}},
			{resource.KindVirtualService, "guarded", "Warning", []string{"spec.virtualHost.routes[0]"}},
		} {
			state, reason := ours(get(tc.kind, tc.name))
			if state != tc.state {
				t.Errorf("%s %s: state %q, want %q (reason %q)", tc.kind, tc.name, state, tc.state, reason)
			}
			for _, f := range tc.fields {
				if !strings.Contains(reason, f+":") {
					t.Errorf("%s %s: reason does not name %s: %q", tc.kind, tc.name, f, reason)
				}
			}
		}
		// Implemented, so served and not named.
		if _, reason := ours(get(resource.KindVirtualService, "aws-route")); strings.Contains(reason, "headerManipulation") {
			t.Errorf("aws-route: the implemented headerManipulation is named on status: %q", reason)
		}
	})

	t.Run("helm install says Gloo's CRDs are kept", func(t *testing.T) {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		helm := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "helm")
		user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		kc, err := user.KubeConfig()
		if err != nil {
			t.Fatal(err)
		}
		kcFile := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(kcFile, kc, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(helm, "install", "lambdagate", filepath.Join(repoRoot, "deploy", "helm", "lambdagate"),
			"--kubeconfig", kcFile, "--namespace", "lambdagate-system", "--dry-run=server").CombinedOutput()
		if err != nil {
			t.Fatalf("helm install --dry-run=server: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "Gloo's own CRDs are installed (upstreams.gloo.solo.io, virtualservices.gateway.solo.io, settings.gloo.solo.io, upstreamgroups.gloo.solo.io, routetables.gateway.solo.io)") {
			t.Errorf("helm's notes do not name Gloo's CRDs:\n%s", out)
		}
	})

	t.Run("the CRD shape is logged", func(t *testing.T) {
		if !strings.Contains(logs.String(), "no status subresource") {
			t.Errorf("no log line explains the status shape:\n%s", logs.String())
		}
	})
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// lockedWriter serialises writes from the server's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.w)
}
