package pipeline

import (
	"net/http"
	"reflect"
	"testing"
)

// TestHeaderFilters: removals before additions; append keeps the values
// present, append false replaces them; a response removal leaves a nil
// value so that net/http does not sniff a Content-Type back in.
func TestHeaderFilters(t *testing.T) {
	edit := Headers{
		Remove: []string{"Cookie", "Content-Type"},
		Add: []HeaderAdd{
			{Key: "X-Multi", Value: "added", Append: true},
			{Key: "X-One", Value: "only", Append: false},
			{Key: "Content-Type", Value: "text/html", Append: true},
		},
	}
	in := func() http.Header {
		return http.Header{"Cookie": {"a=b"}, "Content-Type": {"application/json"}, "X-Multi": {"client"}, "X-One": {"1", "2"}}
	}

	r := &http.Request{Header: in()}
	rf := RequestHeaders(edit)
	if err := rf.FilterRequest(nil, r, &Exchange{}); err != nil {
		t.Fatal(err)
	}
	want := http.Header{"Content-Type": {"text/html"}, "X-Multi": {"client", "added"}, "X-One": {"only"}}
	if !reflect.DeepEqual(r.Header, want) {
		t.Errorf("request headers %v, want %v", r.Header, want)
	}

	h := in()
	resp := ResponseHeaders(Headers{Remove: []string{"Cookie", "Content-Type"}})
	status, err := resp.FilterResponse(nil, &Exchange{}, 200, h)
	if err != nil || status != 200 {
		t.Fatalf("FilterResponse: %d, %v", status, err)
	}
	if v, ok := h["Content-Type"]; !ok || v != nil {
		t.Errorf("removed response Content-Type: %q (present %v), want a nil value", v, ok)
	}
}
