package transform

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/txtar"
)

// refBuilders are the frozen encoding/json builders of ref_events_test.go,
// under the names of builders.
var refBuilders = map[string]func(r *Request, arn string) ([]byte, error){
	"gloo":      func(r *Request, _ string) ([]byte, error) { return refGlooRequestTransform(r) },
	"apigw-v1":  func(r *Request, _ string) ([]byte, error) { return refAPIGatewayV1Event(r) },
	"apigw-v2":  func(r *Request, _ string) ([]byte, error) { return refAPIGatewayV2Event(r) },
	"alb":       func(r *Request, arn string) ([]byte, error) { return refALBEvent(r, false, arn) },
	"alb-multi": func(r *Request, arn string) ([]byte, error) { return refALBEvent(r, true, arn) },
}

// appendBuilders are the Append* variants, checked to append after
// existing content.
var appendBuilders = map[string]func(dst []byte, r *Request, arn string) ([]byte, error){
	"gloo":      func(dst []byte, r *Request, _ string) ([]byte, error) { return AppendGlooRequestTransform(dst, r) },
	"apigw-v1":  func(dst []byte, r *Request, _ string) ([]byte, error) { return AppendAPIGatewayV1Event(dst, r) },
	"apigw-v2":  func(dst []byte, r *Request, _ string) ([]byte, error) { return AppendAPIGatewayV2Event(dst, r) },
	"alb":       func(dst []byte, r *Request, arn string) ([]byte, error) { return AppendALBEvent(dst, r, false, arn) },
	"alb-multi": func(dst []byte, r *Request, arn string) ([]byte, error) { return AppendALBEvent(dst, r, true, arn) },
}

// compareEvents fails unless every builder writes valid JSON in valid
// UTF-8 that decodes to the same value as its encoding/json reference's
// output, and each Append* variant appends exactly the builder's bytes.
// Values, not bytes, are compared: encoding/json's spelling of equal
// strings changes between toolchains (GOEXPERIMENT=jsonv2 writes invalid
// UTF-8 as a raw U+FFFD where the classic encoder wrote \ufffd), while what a
// function receives does not. The golden files pin our own bytes.
func compareEvents(t *testing.T, r *Request, arn string) {
	t.Helper()
	for name, build := range builders {
		want, err := refBuilders[name](r, arn)
		if err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		got, err := build(r, arn)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !json.Valid(got) || !utf8.Valid(got) {
			t.Fatalf("%s: output is not valid JSON in UTF-8: %q", name, got)
		}
		if diff := jsonDiff(got, want); diff != "" {
			t.Fatalf("%s: output differs from encoding/json: %s\n got: %q\nwant: %q", name, diff, got, want)
		}
		prefix := []byte("prefix{")
		appended, err := appendBuilders[name](prefix, r, arn)
		if err != nil {
			t.Fatalf("%s: append: %v", name, err)
		}
		if !bytes.HasPrefix(appended, prefix) || !bytes.Equal(appended[len(prefix):], got) {
			t.Fatalf("%s: appended output differs\n got: %q\nwant: prefix{%q", name, appended, got)
		}
	}
}

// jsonDiff decodes two JSON documents, numbers kept as their text, and
// returns where their values first differ, or "" when they are equal.
func jsonDiff(got, want []byte) string {
	decode := func(p []byte) (any, error) {
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		var v any
		err := dec.Decode(&v)
		return v, err
	}
	g, err := decode(got)
	if err != nil {
		return "decoding got: " + err.Error()
	}
	w, err := decode(want)
	if err != nil {
		return "decoding want: " + err.Error()
	}
	return valueDiff("$", g, w)
}

// valueDiff walks two decoded JSON values and names the first path where
// they differ.
func valueDiff(path string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %T, want an object", path, got)
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s: missing key %q", path, k)
			}
			if d := valueDiff(path+"["+strconv.Quote(k)+"]", gv, w[k]); d != "" {
				return d
			}
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				return fmt.Sprintf("%s: extra key %q", path, k)
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: got %T, want an array", path, got)
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: %d elements, want %d", path, len(g), len(w))
		}
		for i := range w {
			if d := valueDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if got != want {
		return fmt.Sprintf("%s: got %#v, want %#v", path, got, want)
	}
	return ""
}

// TestEventEncodingMatchesJSON runs the golden requests and a set of
// awkward ones through the hand-written encoder and the encoding/json
// reference and requires the same decoded values.
func TestEventEncodingMatchesJSON(t *testing.T) {
	eachArchive(t, "testdata/events", func(t *testing.T, file string, a *txtar.Archive) {
		var fx reqFixture
		if err := unmarshalStrict(section(t, a, "request.json").Data, &fx); err != nil {
			t.Fatalf("request.json: %v", err)
		}
		compareEvents(t, fx.request(t), fx.TargetGroupARN)
	})
	tests := []struct {
		name string
		req  *Request
	}{
		{"zero", &Request{}},
		{"bench", benchRequest()},
		{"odd bytes", &Request{
			Method: "G\x00T", Path: "/\u2028/\u2029/\xff/\xe2\x82/<a>&", RawQuery: "a=%e2%80%a8&a=%ff&%zz=1&&b&c=1+2&\xe2\x82=\xac",
			Host: "[::1]:8443", Scheme: "https", Proto: "HTTP/2.0",
			Header: http.Header{
				"X-\xff":          {"\x00\x1f\x7f", "\"\\"},
				"x-dup":           {"1"},
				"X-Dup":           {"2", "3"},
				"X-Forwarded-For": {"", "203.0.113.1"},
				"Cookie":          {"a=1; b=2", ";;", " c=3 "},
				"Content-Type":    {"TEXT/Plain; charset=utf-8"},
				"User-Agent":      {"\u2028ua"},
				":path":           {"/override"},
				"Host":            {"client-host"},
				"X-Request-Id":    {"client-id"},
				"Empty":           {},
				"K\u212Aelvin":    {"k"},
			},
			Body:       []byte("caf\xc3\xa9 \u2029 \b\f\n\r\t"),
			RemoteAddr: "192.0.2.1", RequestID: "id\xff", Time: time.Date(12345, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600)),
			Resource: "/{proxy+}", RouteKey: "ANY /{proxy+}", PathParameters: map[string]string{"proxy": "a/b", "\xff": "\u2028", "b": ""},
			Stage: "\xe2\x82", AccountID: "acct\"", APIID: "api\\", DomainName: "a.b.c",
		}},
		{"stage joins path", &Request{Path: "\xac/x", Stage: "\xe2\x82", Header: http.Header{}}},
		{"binary body", &Request{Method: "POST", Path: "/", Header: http.Header{"Content-Type": {"image/png"}}, Body: []byte{0, 1, 2, 0xff}}},
		{"invalid utf8 text body", &Request{Method: "POST", Path: "/", Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte{'a', 0xff}}},
		{"xff without remote", &Request{Header: http.Header{"X-Forwarded-For": {"a", "b"}}}},
		{"empty xff without remote", &Request{Header: http.Header{"X-Forwarded-For": {""}}}},
		{"many headers", manyHeaders(100)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			compareEvents(t, tc.req, "arn:\u2028")
			compareEvents(t, tc.req, "")
		})
	}
}

func manyHeaders(n int) *Request {
	r := &Request{Method: "GET", Path: "/", RawQuery: strings.Repeat("k=v&z=1&", n), Header: http.Header{}}
	for i := range n {
		r.Header.Add("X-H-"+string(rune('a'+i%26))+strings.Repeat("Q", i/26), "v")
		r.Header.Add("x-h-"+string(rune('a'+i%26)), "w")
	}
	return r
}

// fuzzWords are the names and values that change the builders' paths:
// headers the gateway sets or moves, case variants that merge, content
// types on both sides of the text/binary rule, and bytes that encoding/json
// escapes specially.
var fuzzWords = []string{
	"", "Host", "host", "X-Forwarded-For", "x-forwarded-for", "X-Forwarded-Port", "X-Forwarded-Proto",
	"x-forwarded-proto", "Cookie", "cookie", "Content-Type", "content-type", "User-Agent", "X-Request-Id",
	"x-request-id", ":path", ":authority", ":method", ":scheme", "application/json", "TEXT/Plain; charset=utf-8",
	"application/octet-stream", "application/vnd.api+json", "\u2028", "\u2029", "\xff", "\xe2\x82", "\xac",
	"a=1; b=2", ";", " ", "%zz", "%e2%82%ac", "%E2%80%A8", "%ff", "\x00", "\x7f", "<>&", "\"\\", "\u212A", "\u0130",
	"\b\f\n\r\t", "127.0.0.1:80", "[::1]:443", "example.com", "a=1&a=2&b", "=", "&", "%", "+",
}

// fuzzInput turns fuzz bytes into choices.
type fuzzInput struct{ b []byte }

func (f *fuzzInput) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

// str returns a dictionary word or a run of raw bytes, sometimes joined.
func (f *fuzzInput) str() string {
	var s string
	for {
		c := f.byte()
		if c < 128 {
			s += fuzzWords[int(c)%len(fuzzWords)]
		} else {
			n := min(int(c-128)%24, len(f.b))
			s += string(f.b[:n])
			f.b = f.b[n:]
		}
		if len(f.b) == 0 || f.byte()%4 != 0 {
			return s
		}
	}
}

func (f *fuzzInput) request() *Request {
	r := &Request{
		Method: f.str(), Path: f.str(), RawQuery: f.str(), Host: f.str(), Proto: f.str(),
		Scheme: f.str(), RemoteAddr: f.str(), RequestID: f.str(), Resource: f.str(), RouteKey: f.str(),
		Stage: f.str(), AccountID: f.str(), APIID: f.str(), DomainName: f.str(),
	}
	var tb [8]byte
	for i := range tb {
		tb[i] = f.byte()
	}
	r.Time = time.Unix(int64(binary.LittleEndian.Uint64(tb[:]))>>20, int64(f.byte())*1e7)
	if f.byte()%8 == 0 {
		r.Time = time.Time{}
	}
	if n := int(f.byte() % 12); n > 0 || f.byte()%2 == 0 {
		r.Header = http.Header{}
		for range n {
			k := f.str()
			for range int(f.byte()%4) + 1 {
				r.Header[k] = append(r.Header[k], f.str())
			}
		}
	}
	switch f.byte() % 4 {
	case 1:
		r.Body = []byte(f.str())
	case 2:
		r.Body = f.b // the rest, binary
		f.b = nil
	}
	if n := int(f.byte() % 4); n > 0 {
		r.PathParameters = map[string]string{}
		for range n {
			r.PathParameters[f.str()] = f.str()
		}
	}
	// Claims come from tokens and contexts from authorizer functions:
	// arbitrary keys and values.
	if c := f.byte(); c%3 != 0 {
		a := &Authorizer{PrincipalID: f.str(), APIKey: f.str()}
		if c%2 == 1 {
			a.Claims = map[string]any{f.str(): f.str(), f.str(): []any{f.str(), float64(f.byte())}, f.str(): f.byte()%2 == 0}
			a.Scopes = []string{f.str()}
		}
		if c%5 != 0 {
			a.Context = map[string]any{f.str(): f.str(), "principalId": f.str(), f.str(): float64(f.byte()) / 3}
		}
		if c%7 == 0 {
			a.ClientCert = &ClientCert{PEM: f.str(), SubjectDN: f.str(), IssuerDN: f.str(), SerialNumber: f.str(), NotBefore: r.Time, NotAfter: r.Time.Add(time.Hour)}
		}
		r.Authorizer = a
	}
	return r
}

// FuzzEventEncodingMatchesJSON builds random requests and requires every
// builder to write valid JSON that decodes to what the encoding/json
// reference's output decodes to.
func FuzzEventEncodingMatchesJSON(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"), "arn")
	f.Add([]byte("\x14\x01\x30\x00\x2a\x00\x17\x02\x31\x01\x2f\x00\x05\x00\x00\x33\x00\x34\x00\x01\x00\x09\x01\x01\x01\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x06\x02\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18"), "")
	f.Add([]byte("\x90abcdefghijklmnop\x01\x99\xff\xfe\xe2\x80\xa8xyz\x00\x00\x05\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20\x21\x22\x23\x02\x00binary\xff"), "\u2028")
	f.Fuzz(func(t *testing.T, data []byte, arn string) {
		in := fuzzInput{data}
		compareEvents(t, in.request(), arn)
	})
}

// unmarshalStrict decodes a testdata request, rejecting unknown fields.
func unmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
