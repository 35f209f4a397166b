package transform

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestParseStreamPrelude(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		status  int
		header  http.Header
		problem string
	}{
		{"empty", ``, 200, http.Header{}, ""},
		{"node HttpResponseStream", `{"statusCode":201,"headers":{"content-type":"text/plain","x-a":"1"},"cookies":["a=1","b=2"]}`, 201,
			http.Header{"Content-Type": {"text/plain"}, "X-A": {"1"}, "Set-Cookie": {"a=1", "b=2"}}, ""},
		{"aws-lambda-go, no status", `{"headers":{"X-From":"go"},"cookies":null}`, 200, http.Header{"X-From": {"go"}}, ""},
		{"multiValueHeaders win", `{"statusCode":200,"headers":{"x-a":"single"},"multiValueHeaders":{"x-a":["m1","m2"]}}`, 200,
			http.Header{"X-A": {"m1", "m2"}}, ""},
		{"hop-by-hop dropped", `{"headers":{"connection":"close","transfer-encoding":"chunked","x-ok":"y"}}`, 200, http.Header{"X-Ok": {"y"}}, ""},
		{"bad status", `{"statusCode":42}`, 0, nil, "statusCode 42 is outside 100-599"},
		{"string status", `{"statusCode":"200"}`, 0, nil, "statusCode must be an integer"},
		{"not an object", `[1,2]`, 0, nil, "output is not a JSON object"},
		{"not JSON", `{"statusCode":`, 0, nil, "output is not valid JSON"},
		{"line break in a header", `{"headers":{"x":"a\r\nb"}}`, 0, nil, `header "x" value contains a line break`},
		{"cookie not a string", `{"cookies":[1]}`, 0, nil, "cookies must be a list of strings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStreamPrelude([]byte(tc.in))
			if tc.problem != "" {
				var me *MalformedError
				if !errors.As(err, &me) || me.Problem != tc.problem || me.Format != FormatHTTPIntegration {
					t.Fatalf("error %v, want problem %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.StatusCode != tc.status || !reflect.DeepEqual(got.Header, tc.header) {
				t.Errorf("got %d %v, want %d %v", got.StatusCode, got.Header, tc.status, tc.header)
			}
		})
	}
}

func FuzzParseStreamPrelude(f *testing.F) {
	f.Add([]byte(`{"statusCode":201,"headers":{"a":"b"},"multiValueHeaders":{"c":["d"]},"cookies":["e=f"]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := ParseStreamPrelude(b)
		if err != nil {
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if resp.StatusCode < 100 || resp.StatusCode > 599 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}
