package transform

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

// checkResponse fails the test unless resp could be written to a client
// as is: a real status, valid header names and values, and none of the
// headers the server owns.
func checkResponse(t testing.TB, resp *Response) {
	t.Helper()
	if err := validResponse(resp); err != nil {
		t.Fatal(err)
	}
}

func validResponse(resp *Response) error {
	if resp == nil {
		return errors.New("nil response without error")
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("status %d outside 100-599", resp.StatusCode)
	}
	if resp.Header == nil {
		return errors.New("nil Header")
	}
	for k, vs := range resp.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("invalid header name %q", k)
		}
		if k != http.CanonicalHeaderKey(k) {
			return fmt.Errorf("header name %q is not canonical", k)
		}
		if droppedResponseHeader(k) {
			return fmt.Errorf("header %q should have been dropped", k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("invalid value %q for header %q", v, k)
			}
		}
	}
	return nil
}

// fuzzUnwrap checks the unwrapper contract: never panic, and return either
// a *MalformedError or a valid response.
func fuzzUnwrap(f *testing.F, unwrap func([]byte) (*Response, error)) {
	seeds := []string{
		`{"statusCode":200,"statusDescription":"200 OK","isBase64Encoded":false,"headers":{"Set-cookie":"cookies","Content-Type":"application/json"},"body":"Hello from Lambda (optional)"}`,
		`{"isBase64Encoded":true,"statusCode":201,"body":"SGVsbG8gZnJvbSBMYW1iZGEgKG9wdGlvbmFsKQ=="}`,
		`{"statusCode":200,"multiValueHeaders":{"Set-cookie":["a=b;Secure","c=d"],"Content-Type":["application/json"]}}`,
		`{"multiValueHeaders":{"foo":[null,"bar",123]},"body":"test body"}`,
		`{"headers":{"X":"a\r\nb"},"statusCode":200}`,
		`{"headers":{"bad name":"v"},"statusCode":200}`,
		`{"statusCode":"201","headers":{"n":1,"b":true,"z":null},"cookies":["a=1","b=2"]}`,
		`{"statusCode":201.6}`, `{"statusCode":-200}`, `{"statusCode":null}`, `"Hello from Lambda!"`, `[1,2]`, `42`,
		`{"body":{"test":"test-value"}}`, `not json`, ``, `{"statusCode":200,"isBase64Encoded":"notabool"}`,
		`{"statusCode":200,"isBase64Encoded":true,"body":"!!!"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		resp, err := unwrap(payload)
		if err != nil {
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("error is not a *MalformedError: %v", err)
			}
			if resp != nil {
				t.Fatal("response returned with an error")
			}
			return
		}
		checkResponse(t, resp)
	})
}

func FuzzUnwrapALB(f *testing.F) {
	fuzzUnwrap(f, func(p []byte) (*Response, error) { return UnwrapALB(p, false) })
}

func FuzzUnwrapALBMultiValue(f *testing.F) {
	fuzzUnwrap(f, func(p []byte) (*Response, error) { return UnwrapALB(p, true) })
}

func FuzzUnwrapAPIGatewayV1(f *testing.F) { fuzzUnwrap(f, UnwrapAPIGatewayV1) }

func FuzzUnwrapAPIGatewayV2(f *testing.F) { fuzzUnwrap(f, UnwrapAPIGatewayV2) }

// FuzzEvents feeds arbitrary request parts, including invalid UTF-8 and
// malformed escapes, to every builder; the result must always be valid JSON.
func FuzzEvents(f *testing.F) {
	f.Add("POST", "/transforms-req-test", "foo=bar", "test", "Content-Type", "application/octet-stream", []byte(`"test"`), "10.0.0.1:1234", "/{proxy+}")
	f.Add("GET", "/a%2Fb", "a=%zz&b&&c=1+2&c=%41", "h:8080", "Cookie", "a=1; b=2", []byte{0xff, 0xfe}, "[::1]:80", "")
	f.Add("\xff", "/\x00", "\xff=\xfe", "\xc3", "X-\xff", "\x00\r\n", []byte("\xed\xa0\x80"), "bad", "\xff")
	f.Fuzz(func(t *testing.T, method, path, query, host, hname, hvalue string, body []byte, remote, resource string) {
		r := &Request{
			Method: method, Path: path, RawQuery: query, Host: host, Scheme: "https",
			Header:     http.Header{hname: {hvalue, hvalue + "2"}, "X-Forwarded-For": {hvalue}, "Content-Type": {hvalue}},
			Body:       body,
			RemoteAddr: remote, Time: time.Unix(1583349317, 0), RequestID: hvalue,
			Resource: resource, PathParameters: map[string]string{hname: hvalue}, Stage: hname,
			DomainName: host,
		}
		for name, build := range builders {
			out, err := build(r, resource)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !json.Valid(out) {
				t.Fatalf("%s: invalid JSON: %q", name, out)
			}
		}
	})
}
