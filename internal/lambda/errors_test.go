package lambda

import (
	"encoding/json"
	"testing"
)

func TestUnflaggedError(t *testing.T) {
	for _, tc := range []struct {
		name        string
		body        string
		errorObject bool
		want        Kind // 0: not an error
	}{
		{"RIE timeout text", "Task timed out after 3.00 seconds", false, KindFunctionTimeout},
		{"RIE timeout text, newline", "Task timed out after 15.00 seconds\n", false, KindFunctionTimeout},
		{"Lambda timeout text with time and id", "2024-05-01T10:00:00.000Z 1f2e3d4c Task timed out after 3.00 seconds", false, KindFunctionTimeout},
		{"timeout text inside other text", "the log says Task timed out after 3.00 seconds, then more", false, 0},
		{"JSON string of the timeout text", `"Task timed out after 3.00 seconds"`, true, 0},
		{"RIE error object", `{"errorMessage":"boom","errorType":"Error","stackTrace":["at x"]}`, true, KindFunction},
		{"Node error object", `{"errorType":"TypeError","errorMessage":"x is undefined","trace":["TypeError: x"]}`, true, KindFunction},
		{"Python error object", `{"errorMessage":"boom","errorType":"ValueError","requestId":"1","stackTrace":[]}`, true, KindFunction},
		{"error object, unflagged timeout", `{"errorMessage":"2024-05-01T10:00:00Z 1f Task timed out after 3.00 seconds"}`, true, KindFunctionTimeout},
		{"error object, Sandbox.Timedout", `{"errorType":"Sandbox.Timedout","errorMessage":"timed out"}`, true, KindFunctionTimeout},
		{"error object where a result may be one", `{"errorMessage":"boom","errorType":"Error"}`, false, 0},
		{"another member", `{"errorMessage":"boom","errorType":"Error","statusCode":200}`, true, 0},
		{"no errorMessage", `{"errorType":"Error","stackTrace":[]}`, true, 0},
		{"errorMessage not a string", `{"errorMessage":42}`, true, 0},
		{"errorType not a string", `{"errorMessage":"x","errorType":["a"]}`, true, 0},
		{"invalid JSON", `{"errorMessage":"x",}`, true, 0},
		{"proxy response", `{"statusCode":200,"body":"ok"}`, true, 0},
		{"empty", ``, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := UnflaggedError([]byte(tc.body), tc.errorObject)
			switch {
			case tc.want == 0 && e != nil:
				t.Fatalf("got %v, want no error", e)
			case tc.want != 0 && (e == nil || e.Kind != tc.want):
				t.Fatalf("got %v, want %v", e, tc.want)
			case e != nil && (e.FunctionError != "Unhandled" || string(e.Body) != tc.body):
				t.Fatalf("FunctionError %q, body %q", e.FunctionError, e.Body)
			}
		})
	}
}

// FuzzUnflaggedError: any output is either not an error or an error whose
// shape the rules allow; it never panics.
func FuzzUnflaggedError(f *testing.F) {
	for _, s := range []string{"Task timed out after 3.00 seconds", `{"errorMessage":"boom","errorType":"Error","stackTrace":[]}`,
		`{"statusCode":200}`, `{"errorMessage":"a","x":1}`, `"s"`, "", "a b Task timed out after 1 seconds"} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, errorObject bool) {
		e := UnflaggedError(body, errorObject)
		if e == nil {
			return
		}
		if e.Kind != KindFunction && e.Kind != KindFunctionTimeout {
			t.Fatalf("kind %v", e.Kind)
		}
		if json.Valid(body) {
			var obj map[string]json.RawMessage
			if !errorObject || json.Unmarshal(body, &obj) != nil {
				t.Fatalf("JSON %q recognised without the error object rule", body)
			}
			if _, ok := obj["errorMessage"]; !ok {
				t.Fatalf("%q recognised without errorMessage", body)
			}
			for k := range obj {
				if !errorObjectKeys[k] {
					t.Fatalf("%q recognised with member %q", body, k)
				}
			}
		} else if e.Kind != KindFunctionTimeout {
			t.Fatalf("non-JSON %q recognised as %v", body, e.Kind)
		}
	})
}
