package cors

import (
	"net/http"
	"net/http/httptest"
	"testing"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
)

func request(method, origin string, preflight bool) *http.Request {
	r := httptest.NewRequest(method, "/api", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if preflight {
		r.Header.Set("Access-Control-Request-Method", "PUT")
	}
	return r
}

func TestFilterRequest(t *testing.T) {
	full := &gateway.CorsPolicy{
		AllowOrigin: []string{"https://app.example.com"}, AllowOriginRegex: []string{`https://.*\.dev\.example\.com`},
		AllowMethods: []string{"GET", "PUT"}, AllowHeaders: []string{"authorization", "content-type"},
		ExposeHeaders: []string{"x-request-id"}, MaxAge: "600", AllowCredentials: true,
	}
	anyOrigin := &gateway.CorsPolicy{AllowOrigin: []string{"*"}, AllowMethods: []string{"GET"}}
	tests := []struct {
		name     string
		policy   *gateway.CorsPolicy
		req      *http.Request
		answered bool
		want     map[string]string // headers; "" must be absent
	}{
		{"preflight allowed", full, request("OPTIONS", "https://app.example.com", true), true, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Methods": "GET,PUT",
			"Access-Control-Allow-Headers": "authorization,content-type", "Access-Control-Max-Age": "600",
			"Access-Control-Allow-Credentials": "true", "Vary": "Origin", "Access-Control-Expose-Headers": ""}},
		{"preflight by regex", full, request("OPTIONS", "https://x.dev.example.com", true), true, map[string]string{
			"Access-Control-Allow-Origin": "https://x.dev.example.com"}},
		{"regex matches the whole origin", full, request("OPTIONS", "https://x.dev.example.com.evil.test", true), true, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Vary": "Origin"}},
		{"preflight refused origin", full, request("OPTIONS", "https://evil.test", true), true, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}},
		{"OPTIONS without Access-Control-Request-Method", full, request("OPTIONS", "https://app.example.com", false), false, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Methods": ""}},
		{"actual request", full, request("GET", "https://app.example.com", false), false, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers": "x-request-id", "Access-Control-Max-Age": "", "Vary": "Origin"}},
		{"no Origin", full, request("GET", "", false), false, map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"}},
		{"any origin without credentials", anyOrigin, request("GET", "https://any.test", false), false, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			var x pipeline.Exchange
			err = p.FilterRequest(w, tc.req, &x)
			if tc.answered {
				if err != pipeline.ErrAnswered || w.Code != http.StatusNoContent || x.Status != http.StatusNoContent {
					t.Fatalf("preflight: error %v, status %d/%d; want ErrAnswered and 204", err, w.Code, x.Status)
				}
			} else if err != nil || x.Status != 0 {
				t.Fatalf("error %v, status %d: want the request to go on", err, x.Status)
			}
			for k, v := range tc.want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestFilterResponse: the function's CORS headers are replaced by the
// policy's (API Gateway ignores those of its integration), and Vary keeps
// the function's values.
func TestFilterResponse(t *testing.T) {
	p, err := New(&gateway.CorsPolicy{AllowOrigin: []string{"https://app.example.com"}, ExposeHeaders: []string{"x-a"}})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{
		"Access-Control-Allow-Origin":  {"*"},
		"Access-Control-Allow-Methods": {"DELETE"},
		"Access-Control-Max-Age":       {"99999"},
		"Vary":                         {"Accept-Encoding"},
		"X-Kept":                       {"1"},
	}
	status, err := p.FilterResponse(request("GET", "https://app.example.com", false), nil, 200, h)
	if err != nil || status != 200 {
		t.Fatal(status, err)
	}
	want := http.Header{
		"Access-Control-Allow-Origin":   {"https://app.example.com"},
		"Access-Control-Expose-Headers": {"x-a"},
		"Vary":                          {"Accept-Encoding", "Origin"},
		"X-Kept":                        {"1"},
	}
	if len(h) != len(want) {
		t.Fatalf("headers %v, want %v", h, want)
	}
	for k, v := range want {
		if h.Get(k) != v[0] || len(h[k]) != len(v) {
			t.Errorf("%s = %q, want %q", k, h[k], v)
		}
	}
	// A refused origin: the function's CORS headers are dropped, none
	// are added.
	h = http.Header{"Access-Control-Allow-Origin": {"*"}}
	_, _ = p.FilterResponse(request("GET", "https://evil.test", false), nil, 200, h)
	if _, ok := h["Access-Control-Allow-Origin"]; ok {
		t.Errorf("a refused origin kept the function's Access-Control-Allow-Origin: %v", h)
	}
}
