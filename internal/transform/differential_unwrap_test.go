package transform

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// refUnwrappers are the encoding/json unwrappers (unwrap.go's slow path,
// the code that served before the fast path existed), under the names of
// unwrappers.
var refUnwrappers = map[string]func([]byte) (*Response, error){
	"alb":       func(p []byte) (*Response, error) { return slowUnwrapALB(p, false) },
	"alb-multi": func(p []byte) (*Response, error) { return slowUnwrapALB(p, true) },
	"apigw-v1":  slowUnwrapAPIGatewayV1,
	"apigw-v2":  slowUnwrapAPIGatewayV2,
}

// sameResult reports how two unwrap results differ, or "" when they are the
// same: the same error text, or responses with the same status, headers
// and body (nil-ness included).
func sameResult(got *Response, gotErr error, want *Response, wantErr error) string {
	switch {
	case (gotErr == nil) != (wantErr == nil):
		return "error " + errString(gotErr) + ", want error " + errString(wantErr)
	case gotErr != nil:
		var me *MalformedError
		if !errors.As(gotErr, &me) {
			return "error is not a *MalformedError: " + gotErr.Error()
		}
		if gotErr.Error() != wantErr.Error() {
			return "error " + gotErr.Error() + ", want " + wantErr.Error()
		}
		return ""
	case got.StatusCode != want.StatusCode:
		return "status differs"
	case !reflect.DeepEqual(got.Header, want.Header):
		return "headers differ"
	case !bytes.Equal(got.Body, want.Body) || (got.Body == nil) != (want.Body == nil):
		return "body differs"
	case !slices.Equal(got.ContentLength, want.ContentLength):
		return "declared Content-Length differs"
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// compareUnwrap fails unless every unwrapper gives the reference's result.
func compareUnwrap(t *testing.T, payload []byte) {
	t.Helper()
	for name, unwrap := range unwrappers {
		got, gotErr := unwrap(payload)
		want, wantErr := refUnwrappers[name](payload)
		if diff := sameResult(got, gotErr, want, wantErr); diff != "" {
			t.Fatalf("%s: %s\npayload: %q\n got: %+v\nwant: %+v", name, diff, payload, got, want)
		}
	}
}

// unwrapSeeds are payloads that take the fast path's branches and its
// ways out to the fallback.
var unwrapSeeds = []string{
	benchPayload,
	`{"statusCode":200,"body":"\ud83d\ude00 \ud83d \ude00 \ud83dx \u00e9\u2028 \"\\\/\b\f\n\r\t","headers":{"A":"\u0041\ud800"}}`,
	"{\"statusCode\":200,\"body\":\"\xff\xfe caf\xc3\xa9 \xed\xa0\x80 \xef\xbf\xbd\",\"headers\":{\"A\":\"\xff\"}}",
	`{"statusCode":200,"statusCode":201,"headers":{"a":"1","a":"2","A":"3","b":null}}`,
	`{"status\u0043ode":500,"statusCode":200}`,
	`{"statusCode":200,"headers":{"x-\u0041":"v"}}`,
	`{"statusCode":"201","headers":{"n":1.5e3,"b":true,"f":false,"z":null,"neg":-0}}`,
	`{"statusCode":201.0}`, `{"statusCode":2e2}`, `{"statusCode":099}`, `{"statusCode":600}`, `{"statusCode":"abc"}`,
	`{"statusCode":200,"multiValueHeaders":{"Set-Cookie":["a=1",null,"b=2"],"set-cookie":["c=3"],"X":"bare","Y":[],"Z":null},"headers":{"set-cookie":"hidden","x":"hidden","y":"hidden","z":"shown"}}`,
	`{"statusCode":200,"multiValueHeaders":{"bad name":[]},"headers":{"bad name":"v"}}`,
	`{"statusCode":200,"multiValueHeaders":{"X":[{"a":1}]}}`,
	`{"statusCode":200,"multiValueHeaders":{"X":[1,true]}}`,
	`{"statusCode":200,"headers":{"Connection":"close","Content-Length":"5","Proxy-Foo":"x","Keep-Alive":"\n"}}`,
	`{"statusCode":200,"headers":{"X":" \t padded \t "}}`,
	`{"statusCode":200,"headers":{"X":"a\u0000b"}}`,
	`{"statusCode":200,"headers":{"X":{"nested":[1,2,{"deep":null}]}}}`,
	`{"statusCode":200,"cookies":["a=1","b=2"],"headers":{"set-cookie":"c=3"}}`,
	`{"statusCode":200,"cookies":["a=1",2]}`, `{"statusCode":200,"cookies":"a=1"}`, `{"statusCode":200,"cookies":null}`,
	`{"statusCode":200,"isBase64Encoded":true,"body":"aGVsbG8="}`,
	`{"statusCode":200,"isBase64Encoded":true,"body":"aGVsbG8"}`,
	`{"statusCode":200,"isBase64Encoded":true,"body":"aGVs\nbG8="}`,
	`{"statusCode":200,"isBase64Encoded":true,"body":"aGVs\/bG8="}`,
	`{"statusCode":200,"isBase64Encoded":true,"body":"aGVsbG8==="}`,
	`{"statusCode":200,"isBase64Encoded":true,"body":""}`,
	`{"statusCode":200,"isBase64Encoded":null,"body":""}`,
	`{"statusCode":200,"isBase64Encoded":1,"body":"x"}`,
	`{"statusCode":200,"body":null}`, `{"statusCode":200,"body":123}`, `{"statusCode":200,"body":""}`,
	"\v\f {\"statusCode\":200} \u0085", " \"just a string\" ", `"\ud800"`, `[1,2]`, `{}`, `{"a":1}`, `null`, `1e5`, `-`, `01`,
	`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"statusCode":200}`,
	`{"statusCode":200,"body":"x"} x`, `{"statusCode":200,}`, `{"statusCode" 200}`, `{"statusCode":200,"body":"\x"}`,
	`{"statusCode":200,"body":"\u12"}`, `{"statusCode":200,"body":"\'"}`, `{"statusCode":200,"body":"a` + "\x01" + `"}`, `{"statusCode":tru}`,
	`{"statusCode":200,"body":1.}`, `{"statusCode":200,"body":1e}`, `{"statusCode":200,"body":-01}`, `{"statusCode":200,"body":.5}`,
}

// manyMultiNames has more multiValueHeaders names than the fast path
// tracks, so it must fall back and still agree.
func manyMultiNames() string {
	var b strings.Builder
	b.WriteString(`{"statusCode":200,"multiValueHeaders":{`)
	for i := range 40 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"X-M%02d":["%d"]`, i, i)
	}
	b.WriteString(`},"headers":{"x-m05":"hidden","X-Single":"s"}}`)
	return b.String()
}

// TestUnwrapHeaderSlicesIndependent checks that the values sharing one
// backing array cannot overwrite each other when a caller appends.
func TestUnwrapHeaderSlicesIndependent(t *testing.T) {
	resp, err := UnwrapAPIGatewayV1([]byte(`{"multiValueHeaders":{"A":["1","2"],"B":["3"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Header["A"] = append(resp.Header["A"], "x")
	resp.Header.Add("A", "y")
	if got := strings.Join(resp.Header["B"], ","); got != "3" {
		t.Errorf("B = %q after appending to A, want 3", got)
	}
	if got := strings.Join(resp.Header["A"], ","); got != "1,2,x,y" {
		t.Errorf("A = %q, want 1,2,x,y", got)
	}
}

// TestUnwrapMatchesJSON runs the golden payloads and unwrapSeeds through
// the unwrappers and the encoding/json reference and requires the same
// response or error.
func TestUnwrapMatchesJSON(t *testing.T) {
	eachArchive(t, "testdata/unwrap", func(t *testing.T, file string, a *txtar.Archive) {
		compareUnwrap(t, section(t, a, "payload").Data)
	})
	t.Run("many multi names", func(t *testing.T) { compareUnwrap(t, []byte(manyMultiNames())) })
	for i, p := range unwrapSeeds {
		t.Run(fmt.Sprintf("seed%02d", i), func(t *testing.T) {
			compareUnwrap(t, []byte(p))
		})
	}
}

// TestFastPathTakesCommonOutputs guards the speed-up itself: the outputs
// functions usually return must not fall back to encoding/json.
func TestFastPathTakesCommonOutputs(t *testing.T) {
	tests := []struct {
		name, format string
		multi        bool
		payload      string
	}{
		{"apigw-v1 bench", FormatAPIGatewayV1, false, benchPayload},
		{"apigw-v2 bench", FormatAPIGatewayV2, false, benchPayload},
		{"alb bench", FormatALB, false, benchPayload},
		{"alb multi bench", FormatALB, true, benchPayload},
		{"escapes", FormatAPIGatewayV1, false, `{"statusCode":200,"headers":{"content-type":"text/html"},"body":"<p>caf\u00e9 \ud83d\ude00\n</p>"}`},
		{"base64", FormatAPIGatewayV1, false, `{"statusCode":200,"isBase64Encoded":true,"body":"aGVsbG8="}`},
		{"no status", FormatAPIGatewayV1, false, `{"body":"x"}`},
		{"v2 string", FormatAPIGatewayV2, false, `"hello"`},
		{"v2 object without status", FormatAPIGatewayV2, false, `{"message":"hi"}`},
		{"numbers as header values", FormatAPIGatewayV1, false, `{"statusCode":200,"headers":{"X-Count":3,"X-Ok":true}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if fastUnwrap([]byte(tc.payload), tc.format, tc.multi) == nil {
				t.Errorf("fast path fell back on %s", tc.payload)
			}
		})
	}
}

// FuzzUnwrapMatchesJSON feeds arbitrary bytes to every unwrapper and
// requires exactly the result of the encoding/json reference: the same
// error text, or the same status, headers and body.
func FuzzUnwrapMatchesJSON(f *testing.F) {
	for _, p := range unwrapSeeds {
		f.Add([]byte(p))
	}
	files, _ := filepath.Glob("testdata/unwrap/*.txtar")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, sec := range txtar.Parse(data).Files {
			if sec.Name == "payload" {
				f.Add(sec.Data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		compareUnwrap(t, payload)
	})
}
