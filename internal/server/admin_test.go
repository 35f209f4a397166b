package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/admin"
)

func TestAdminEndpoints(t *testing.T) {
	o, _ := startObserved(t)
	o.sendKnownTraffic()

	t.Run("healthz and readyz", func(t *testing.T) {
		if got := get(t, o.admin+"/healthz"); got != "ok\n" {
			t.Errorf("/healthz %q", got)
		}
		if got := get(t, o.admin+"/readyz"); got != "ok\n" {
			t.Errorf("/readyz %q", got)
		}
	})
	t.Run("pprof", func(t *testing.T) {
		if got := get(t, o.admin+"/debug/pprof/"); !strings.Contains(got, "goroutine") {
			t.Errorf("/debug/pprof/ does not list profiles: %.200s", got)
		}
		if got := get(t, o.admin+"/debug/pprof/goroutine?debug=1"); !strings.Contains(got, "goroutine profile") {
			t.Errorf("goroutine profile: %.200s", got)
		}
	})
	t.Run("config_dump redacts secrets", func(t *testing.T) {
		body := get(t, o.admin+"/config_dump")
		for _, secret := range []string{"topsecretvalue", "AKIDEXAMPLE", "dG9wc2VjcmV0dmFsdWU"} { // the last is base64
			if strings.Contains(body, secret) {
				t.Errorf("/config_dump contains %q", secret)
			}
		}
		var d admin.ConfigDump
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		if d.Version == 0 || len(d.VirtualServices) != 1 || len(d.VirtualServices[0].Routes) != 3 {
			t.Fatalf("dump: version %d, virtual services %+v", d.Version, d.VirtualServices)
		}
		rt := d.VirtualServices[0].Routes[2]
		if rt.Name != "busy" || rt.Match != "exact /busy" || rt.Target.FunctionName != "throttle" || rt.Target.Qualifier != "live" ||
			!strings.Contains(rt.Target.InvokeURL, "/2015-03-31/functions/throttle/invocations?Qualifier=live") ||
			rt.Target.Credentials != "credentials.StaticCredentialsProvider" {
			t.Errorf("route %+v", rt)
		}
		var secret map[string]any
		for _, r := range d.Resources {
			if r["kind"] == "Secret" {
				secret = r
			}
		}
		data, _ := secret["data"].(map[string]any)
		if data["aws_secret_access_key"] != admin.Redacted || data["aws_access_key_id"] != admin.Redacted {
			t.Errorf("secret in dump: %v", secret)
		}
	})
	t.Run("overview", func(t *testing.T) {
		var ov admin.Overview
		if err := json.Unmarshal([]byte(get(t, o.admin+"/api/overview")), &ov); err != nil {
			t.Fatal(err)
		}
		if !ov.Ready || len(ov.VirtualServices) != 1 || len(ov.Upstreams) != 1 {
			t.Fatalf("overview %+v", ov)
		}
		vs := ov.VirtualServices[0]
		if vs.Name != "gloo-system/vs" || vs.State != "Accepted" || len(vs.Routes) != 3 {
			t.Fatalf("virtual service %+v", vs)
		}
		byName := map[string]admin.RouteView{}
		for _, r := range vs.Routes {
			byName[r.Name] = r
		}
		if r := byName["ok"]; r.Function != "echo" || r.Stats.Total != 3 || r.Stats.TotalErrors != 0 || sum(r.Stats.Requests) != 3 {
			t.Errorf("route ok %+v", r)
		}
		if r := byName["fail"]; r.Stats.Total != 2 || r.Stats.TotalErrors != 2 || sum(r.Stats.Errors) != 2 {
			t.Errorf("route fail %+v", r)
		}
		if ov.Totals.Requests != 7 || ov.Totals.Errors != 2 {
			t.Errorf("totals %+v, want 7 requests (unrouted excluded) and 2 errors", ov.Totals)
		}
		if len(ov.RecentErrors) != 3 || ov.RecentErrors[0].Code != "NoRoute" || ov.RecentErrors[1].Code != "FunctionError" {
			t.Errorf("recent errors %+v: want NoRoute then two FunctionError, newest first", ov.RecentErrors)
		}
		if fns := ov.Upstreams[0].Functions; len(fns) != 3 || fns[2].Qualifier != "live" {
			t.Errorf("upstream functions %+v", fns)
		}
	})
	t.Run("dashboard", func(t *testing.T) {
		if got := get(t, o.admin+"/"); !strings.Contains(got, "<!doctype html>") {
			t.Errorf("/ is not the dashboard: %.200s", got)
		}
	})
}

func sum(xs []int64) int64 {
	var n int64
	for _, x := range xs {
		n += x
	}
	return n
}

// TestAdminExposeAll checks that the server's admin handler serves
// profiles to clients beyond loopback only with AdminExposeAll.
func TestAdminExposeAll(t *testing.T) {
	// The admin handler applies it unless AdminExposeAll.
	for _, exposeAll := range []bool{false, true} {
		s := New(Config{DiscoveryInterval: -1, AdminExposeAll: exposeAll}, nil)
		req := httptest.NewRequest("GET", "/debug/pprof/", nil)
		req.RemoteAddr = "10.1.2.3:5000"
		req.Host = "10.0.0.5:9091" // the pod's address, as a kubelet or port-forward sends it
		rec := httptest.NewRecorder()
		s.admin.Handler().ServeHTTP(rec, req)
		if want := map[bool]int{false: 403, true: 200}[exposeAll]; rec.Code != want {
			t.Errorf("pprof from a remote client with AdminExposeAll=%v: %d, want %d", exposeAll, rec.Code, want)
		}
	}
}
