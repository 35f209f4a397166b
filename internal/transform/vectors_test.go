package transform

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// glooE2ERequest is the request of Gloo's e2e testLambdaTransformations
// (test/e2e/aws_test.go) as our server sees it: Go's client sends
// User-Agent, Accept-Encoding and Content-Length; request ids are off.
func glooE2ERequest() *Request {
	return &Request{
		Method: "POST", Path: "/transforms-req-test", RawQuery: "foo=bar", Host: "test",
		Proto: "HTTP/1.1", Scheme: "http",
		Header: http.Header{
			"Content-Type":    {"application/octet-stream"},
			"User-Agent":      {"Go-http-client/1.1"},
			"Accept-Encoding": {"gzip"},
			"Content-Length":  {"6"},
		},
		Body:       []byte(`"test"`),
		RemoteAddr: "127.0.0.1:50000",
		Time:       time.Date(2020, 3, 4, 19, 15, 17, 0, time.UTC),
	}
}

// TestGlooExactVector compares with the literal JSON Gloo's e2e test
// matches (MatchJSON in testLambdaTransformations). It is kept out of the
// golden files so that -update can never rewrite it.
func TestGlooExactVector(t *testing.T) {
	const want = `{"body":"\"test\"","headers":{":authority":"test",":method":"POST",":path":"/transforms-req-test?foo=bar",":scheme":"http","accept-encoding":"gzip","content-length":"6","content-type":"application/octet-stream","user-agent":"Go-http-client/1.1","x-forwarded-proto":"http"},"httpMethod":"POST","multiValueHeaders":{},"multiValueQueryStringParameters":{},"path":"/transforms-req-test","queryString":"foo=bar","queryStringParameters":{"foo":"bar"}}`
	got, err := GlooRequestTransform(glooE2ERequest())
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, got, []byte(want)) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestWalkthrough is the Gloo documentation's echo example
// (gloo-aws-lambda-walkthrough.md step 3.4): the function returns the
// request body, and the client must get 201, the header and the 32-byte body.
func TestWalkthrough(t *testing.T) {
	payload := []byte(`{"body": "gloo edge is inserting this body", "headers": {"test-header-key": "test-header-value"}, "statusCode": 201}`)
	tests := []struct {
		name   string
		unwrap func([]byte) (*Response, error)
	}{
		{"alb", func(p []byte) (*Response, error) { return UnwrapALB(p, false) }},
		{"apigateway-v1", UnwrapAPIGatewayV1},
		{"apigateway-v2", UnwrapAPIGatewayV2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.unwrap(payload)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 201 {
				t.Errorf("status = %d, want 201", resp.StatusCode)
			}
			if got := resp.Header.Get("test-header-key"); got != "test-header-value" {
				t.Errorf("test-header-key = %q, want test-header-value", got)
			}
			if len(resp.Header) != 1 {
				t.Errorf("headers = %v, want only test-header-key", resp.Header)
			}
			if string(resp.Body) != "gloo edge is inserting this body" || len(resp.Body) != 32 {
				t.Errorf("body = %q (%d bytes)", resp.Body, len(resp.Body))
			}
		})
	}
}

// TestMalformedErrorNamesTheProblem checks the problem the 502 names (the
// gateway's body is asserted in test/dataplane).
func TestMalformedErrorNamesTheProblem(t *testing.T) {
	_, err := UnwrapAPIGatewayV1([]byte(`{"headers":{"X-Foo":"a\nb"}}`))
	me, ok := err.(*MalformedError)
	if !ok {
		t.Fatalf("err = %v, want *MalformedError", err)
	}
	if want := `header "X-Foo" value contains a line break`; me.Problem != want {
		t.Errorf("Problem = %q, want %q", me.Problem, want)
	}
}

// TestBuildersDoNotMutateRequest guards against the merge of same-named
// header keys writing into the caller's slices.
func TestBuildersDoNotMutateRequest(t *testing.T) {
	r := glooE2ERequest()
	r.Header["x-dup"] = []string{"1"}
	r.Header["X-Dup"] = []string{"2"}
	orig := r.Header.Clone()
	for name, build := range builders {
		if _, err := build(r, ""); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, vs := range orig {
			if strings.Join(r.Header[k], "|") != strings.Join(vs, "|") || len(r.Header) != len(orig) {
				t.Fatalf("%s changed the request headers: %v", name, r.Header)
			}
		}
	}
}

func TestFormDecode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a+b", "a b"},
		{"-+createdAt", "- createdAt"},
		{"c%2Bd", "c+d"},
		{"a%20b+c", "a b c"},
		{"%2B+%2b", "+ +"},
		{"++", "  "},
		{"%zz+", "%zz "},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := formDecode(tc.in); got != tc.want {
				t.Errorf("formDecode(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPercentDecode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a%20b", "a b"},
		{"a+b", "a+b"},
		{"%zz", "%zz"},
		{"%4", "%4"},
		{"%", "%"},
		{"%41%42", "AB"},
		{"100%", "100%"},
		{"%e2%82%ac", "€"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := percentDecode(tc.in); got != tc.want {
				t.Errorf("percentDecode(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func benchRequest() *Request {
	r := glooE2ERequest()
	r.Header.Add("Accept", "*/*")
	r.Header.Add("Cookie", "a=1; b=2")
	r.Header.Add("X-Multi", "1")
	r.Header.Add("X-Multi", "2")
	r.RawQuery = "foo=bar&foo=baz&q=hello%20world"
	r.RequestID = "6f1a0e2c-1234-4d2b-9f57-0123456789ab"
	r.Resource = "/transforms-req-test"
	return r
}

func BenchmarkGlooRequestTransform(b *testing.B) { benchBuild(b, builders["gloo"]) }
func BenchmarkAPIGatewayV1Event(b *testing.B)    { benchBuild(b, builders["apigw-v1"]) }
func BenchmarkAPIGatewayV2Event(b *testing.B)    { benchBuild(b, builders["apigw-v2"]) }
func BenchmarkALBEvent(b *testing.B)             { benchBuild(b, builders["alb"]) }
func BenchmarkALBEventMultiValue(b *testing.B)   { benchBuild(b, builders["alb-multi"]) }

func benchBuild(b *testing.B, build func(*Request, string) ([]byte, error)) {
	r := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := build(r, ""); err != nil {
			b.Fatal(err)
		}
	}
}

const benchPayload = `{"statusCode":201,"headers":{"Content-Type":"application/json","X-Request-Id":"abc"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"cookies":["c=3"],"body":"{\"message\":\"hello from lambda\"}","isBase64Encoded":false}`

func BenchmarkUnwrapALB(b *testing.B) { benchUnwrap(b, unwrappers["alb"]) }
func BenchmarkUnwrapALBMultiValue(b *testing.B) {
	benchUnwrap(b, unwrappers["alb-multi"])
}
func BenchmarkUnwrapAPIGatewayV1(b *testing.B) { benchUnwrap(b, UnwrapAPIGatewayV1) }
func BenchmarkUnwrapAPIGatewayV2(b *testing.B) { benchUnwrap(b, UnwrapAPIGatewayV2) }

func benchUnwrap(b *testing.B, unwrap func([]byte) (*Response, error)) {
	p := []byte(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unwrap(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestZeroRequest checks that a request with nothing set (nil Header, no
// body, zero time) still builds valid events with the documented defaults.
func TestZeroRequest(t *testing.T) {
	for name, build := range builders {
		t.Run(name, func(t *testing.T) {
			out, err := build(&Request{}, "")
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON: %s", out)
			}
		})
	}
	out, _ := APIGatewayV1Event(&Request{})
	var ev struct {
		RequestContext struct{ Stage, AccountID, APIID string } `json:"requestContext"`
	}
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.RequestContext.Stage != DefaultStage {
		t.Errorf("stage = %q, want %q", ev.RequestContext.Stage, DefaultStage)
	}
}
