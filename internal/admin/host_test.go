package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The host --admin-addr names is answered without --admin-hosts.
func TestAdminAnswersTheNameItBinds(t *testing.T) {
	s := &Server{cfg: Config{AdminAddr: "Admin.Example:9091"}}
	h := s.adminHostCheck(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for host, want := range map[string]int{"admin.example:9091": 200, "admin.example": 200, "other.example": 403} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/config_dump", nil)
		req.Host = host
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %q: %d, want %d", host, rec.Code, want)
		}
	}
}
