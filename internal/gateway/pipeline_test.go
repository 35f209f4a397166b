package gateway

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/router"
)

// trail records which filters ran, in order.
type trail struct {
	mu  sync.Mutex
	ran []string
}

func (t *trail) add(s string) {
	t.mu.Lock()
	t.ran = append(t.ran, s)
	t.mu.Unlock()
}

func (t *trail) take() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(t.ran, ",")
	t.ran = nil
	return s
}

// requestFilter records its name and returns err.
type requestFilter struct {
	name string
	tr   *trail
	err  error
}

func (f requestFilter) FilterRequest(_ http.ResponseWriter, _ *http.Request, _ *pipeline.Exchange) error {
	f.tr.add(f.name)
	return f.err
}

// responseFilter records its name, sets X-Filter and the status it was
// given (when not 0), and returns err.
type responseFilter struct {
	name   string
	tr     *trail
	status int
	err    error
}

func (f responseFilter) FilterResponse(_ *http.Request, _ *pipeline.Exchange, status int, h http.Header) (int, error) {
	f.tr.add(f.name)
	h.Add("X-Filter", f.name)
	if f.status != 0 {
		status = f.status
	}
	return status, f.err
}

// withFilters gives the route named by its path the filters.
func withFilters(path string, req []pipeline.RequestFilter, resp []pipeline.ResponseFilter) func(*router.Route) {
	return func(rt *router.Route) {
		if rt.Matchers[0].Path == path {
			p := pipeline.Of(rt)
			p.Request, p.Response = req, resp
		}
	}
}

func do(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Request filters run in order before the action; the first error is the
// answer, through httperr, and neither later filters nor Lambda run.
func TestRequestFilters(t *testing.T) {
	tr := &trail{}
	denied := httperr.New(http.StatusForbidden, "Denied", "a filter refused the request")
	url, calls := handlerGateway(t,
		route("exact: /pass", "fn", "")+route("exact: /deny", "fn", ""),
		map[string]http.HandlerFunc{"fn": answer(`{"ok":true}`)},
		withFilters("/pass", []pipeline.RequestFilter{requestFilter{"a", tr, nil}, requestFilter{"b", tr, nil}}, nil),
		withFilters("/deny", []pipeline.RequestFilter{requestFilter{"deny", tr, denied}, requestFilter{"after", tr, nil}}, nil))

	resp, body := do(t, "POST", url+"/pass")
	if resp.StatusCode != 200 || body != `{"ok":true}` {
		t.Fatalf("/pass: %d %q", resp.StatusCode, body)
	}
	if got := tr.take(); got != "a,b" {
		t.Errorf("/pass ran filters %q, want a,b", got)
	}
	if n := len(calls()); n != 1 {
		t.Fatalf("/pass invoked Lambda %d times", n)
	}

	resp, body = do(t, "POST", url+"/deny")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"Denied"`) {
		t.Errorf("/deny: %d %q, want 403 Denied", resp.StatusCode, body)
	}
	if got := tr.take(); got != "deny" {
		t.Errorf("/deny ran filters %q, want deny only", got)
	}
	if n := len(calls()); n != 1 {
		t.Errorf("a refused request reached Lambda (%d calls in all)", n)
	}
}

// Response filters run in order after the action, before the head is
// written, on every kind of answer; an error replaces the answer without
// any header the function set.
func TestResponseFilters(t *testing.T) {
	tr := &trail{}
	fnResp := answer(`{"statusCode":200,"headers":{"X-Fn":"1"},"body":"hi"}`)
	failed := httperr.New(http.StatusInternalServerError, "FilterFailed", "a response filter failed")
	url, _ := handlerGateway(t,
		route("exact: /passthrough", "fn", "")+
			route("exact: /unwrap", "fn", "unwrapAsApiGateway: true")+
			route("exact: /async", "fn", "invocationStyle: ASYNC")+
			route("exact: /fail", "fn", "unwrapAsApiGateway: true"),
		map[string]http.HandlerFunc{"fn": fnResp},
		withFilters("/passthrough", nil, []pipeline.ResponseFilter{responseFilter{"a", tr, 0, nil}, responseFilter{"b", tr, 203, nil}}),
		withFilters("/unwrap", nil, []pipeline.ResponseFilter{responseFilter{"a", tr, 0, nil}}),
		withFilters("/async", nil, []pipeline.ResponseFilter{responseFilter{"a", tr, 0, nil}}),
		withFilters("/fail", nil, []pipeline.ResponseFilter{responseFilter{"a", tr, 0, failed}}))

	for _, tc := range []struct {
		path, method string
		status       int
		filters      string
		xFilter      string
		xFn          string
		bodyHas      string
	}{
		{"/passthrough", "POST", 203, "a,b", "a,b", "", `"statusCode":200`},
		{"/unwrap", "POST", 200, "a", "a", "1", "hi"},
		{"/unwrap", "HEAD", 200, "a", "a", "1", ""},
		{"/async", "POST", 202, "a", "a", "", ""},
		{"/fail", "POST", 500, "a", "", "", `"FilterFailed"`},
	} {
		resp, body := do(t, tc.method, url+tc.path)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.bodyHas) {
			t.Errorf("%s %s: %d %q, want %d with %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.bodyHas)
		}
		if got := tr.take(); got != tc.filters {
			t.Errorf("%s %s ran response filters %q, want %q", tc.method, tc.path, got, tc.filters)
		}
		if got := strings.Join(resp.Header.Values("X-Filter"), ","); got != tc.xFilter {
			t.Errorf("%s %s: X-Filter %q, want %q", tc.method, tc.path, got, tc.xFilter)
		}
		if got := resp.Header.Get("X-Fn"); got != tc.xFn {
			t.Errorf("%s %s: the function's X-Fn header %q, want %q", tc.method, tc.path, got, tc.xFn)
		}
	}
}

// The route's options.timeout, the pipeline's first filter, bounds the
// Invoke call.
func TestRouteTimeoutFilter(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		answer(`{}`)(w, r)
	}
	url, _ := handlerGateway(t,
		"    - matchers: [{exact: /slow}]\n      options: {timeout: 200ms}\n      routeAction: {single: {upstream: {name: up, namespace: gloo-system}, destinationSpec: {aws: {logicalName: slow}}}}\n",
		map[string]http.HandlerFunc{"slow": slow})
	start := time.Now()
	resp, body := do(t, "POST", url+"/slow")
	if took := time.Since(start); resp.StatusCode != http.StatusGatewayTimeout || took > 3*time.Second {
		t.Errorf("/slow: %d %q after %s, want 504 after about 200ms", resp.StatusCode, body, took)
	}
}
