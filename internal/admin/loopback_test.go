package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAdminRemoteClients checks that clients beyond loopback get the
// probes and metrics but not the configuration dump, profiles or the
// dashboard, unless the whole admin API is exposed on purpose.
func TestAdminRemoteClients(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, tc := range []struct {
		path, remote string
		want         int
	}{
		{"/healthz", "10.1.2.3:5000", 200},
		{"/readyz", "10.1.2.3:5000", 200},
		{"/metrics", "[fd00::1]:5000", 200},
		{"/config_dump", "10.1.2.3:5000", 403},
		{"/debug/pprof/", "10.1.2.3:5000", 403},
		{"/", "10.1.2.3:5000", 403},
		{"/api/overview", "10.1.2.3:5000", 403},
		{"/config_dump", "127.0.0.1:5000", 200},
		{"/", "[::1]:5000", 200},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.RemoteAddr = tc.remote
		rec := httptest.NewRecorder()
		loopbackOnly(ok).ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s from %s: %d, want %d", tc.path, tc.remote, rec.Code, tc.want)
		}
	}
}
