package transform

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata golden files")

// reqFixture is the JSON form of a Request in testdata. Header is a list of
// [name, value] pairs so that arrival order is explicit.
type reqFixture struct {
	Method         string            `json:"method"`
	Path           string            `json:"path"`
	RawQuery       string            `json:"rawQuery"`
	Host           string            `json:"host"`
	Proto          string            `json:"proto"`
	Scheme         string            `json:"scheme"`
	Header         [][2]string       `json:"header"`
	Body           string            `json:"body"`
	BodyBase64     string            `json:"bodyBase64"`
	RemoteAddr     string            `json:"remoteAddr"`
	Time           string            `json:"time"`
	RequestID      string            `json:"requestId"`
	Resource       string            `json:"resource"`
	RouteKey       string            `json:"routeKey"`
	PathParameters map[string]string `json:"pathParameters"`
	Stage          string            `json:"stage"`
	AccountID      string            `json:"accountId"`
	APIID          string            `json:"apiId"`
	DomainName     string            `json:"domainName"`
	TargetGroupARN string            `json:"targetGroupArn"`
	Authorizer     *authFixture      `json:"authorizer"`
}

// authFixture is the JSON form of an Authorizer in testdata.
type authFixture struct {
	Claims      map[string]any `json:"claims"`
	Scopes      []string       `json:"scopes"`
	PrincipalID string         `json:"principalId"`
	Context     map[string]any `json:"context"`
	APIKey      string         `json:"apiKey"`
	ClientCert  *struct {
		PEM, SubjectDN, IssuerDN, SerialNumber string
		NotBefore, NotAfter                    time.Time
	} `json:"clientCert"`
}

func (f *reqFixture) request(t testing.TB) *Request {
	r := &Request{
		Method: f.Method, Path: f.Path, RawQuery: f.RawQuery, Host: f.Host,
		Proto: f.Proto, Scheme: f.Scheme, Header: http.Header{}, Body: []byte(f.Body),
		RemoteAddr: f.RemoteAddr, RequestID: f.RequestID, Resource: f.Resource,
		RouteKey: f.RouteKey, PathParameters: f.PathParameters, Stage: f.Stage,
		AccountID: f.AccountID, APIID: f.APIID, DomainName: f.DomainName,
	}
	for _, kv := range f.Header {
		r.Header.Add(kv[0], kv[1])
	}
	if a := f.Authorizer; a != nil {
		r.Authorizer = &Authorizer{Claims: a.Claims, Scopes: a.Scopes, PrincipalID: a.PrincipalID, Context: a.Context, APIKey: a.APIKey}
		if c := a.ClientCert; c != nil {
			r.Authorizer.ClientCert = &ClientCert{PEM: c.PEM, SubjectDN: c.SubjectDN, IssuerDN: c.IssuerDN, SerialNumber: c.SerialNumber, NotBefore: c.NotBefore, NotAfter: c.NotAfter}
		}
	}
	if f.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(f.BodyBase64)
		if err != nil {
			t.Fatalf("bodyBase64: %v", err)
		}
		r.Body = b
	}
	if f.Time != "" {
		tm, err := time.Parse(time.RFC3339Nano, f.Time)
		if err != nil {
			t.Fatalf("time: %v", err)
		}
		r.Time = tm
	} else {
		r.Time = time.Date(2020, 3, 4, 19, 15, 17, 135e6, time.UTC)
	}
	return r
}

// builders maps the "builder:" line of testdata/events files to the builder.
var builders = map[string]func(r *Request, arn string) ([]byte, error){
	"gloo":      func(r *Request, _ string) ([]byte, error) { return GlooRequestTransform(r) },
	"apigw-v1":  func(r *Request, _ string) ([]byte, error) { return APIGatewayV1Event(r) },
	"apigw-v2":  func(r *Request, _ string) ([]byte, error) { return APIGatewayV2Event(r) },
	"alb":       func(r *Request, arn string) ([]byte, error) { return ALBEvent(r, false, arn) },
	"alb-multi": func(r *Request, arn string) ([]byte, error) { return ALBEvent(r, true, arn) },
}

// unwrappers maps the "format:" line of testdata/unwrap files to the unwrapper.
var unwrappers = map[string]func([]byte) (*Response, error){
	"alb":       func(p []byte) (*Response, error) { return UnwrapALB(p, false) },
	"alb-multi": func(p []byte) (*Response, error) { return UnwrapALB(p, true) },
	"apigw-v1":  UnwrapAPIGatewayV1,
	"apigw-v2":  UnwrapAPIGatewayV2,
}

// header returns the value of "key: value" in a txtar comment.
func header(t *testing.T, comment []byte, key string) string {
	for line := range strings.Lines(string(comment)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("missing %q line in the file comment", key)
	return ""
}

func section(t *testing.T, a *txtar.Archive, name string) *txtar.File {
	for i := range a.Files {
		if a.Files[i].Name == name {
			return &a.Files[i]
		}
	}
	t.Fatalf("missing section %q", name)
	return nil
}

func TestEventsGolden(t *testing.T) {
	eachArchive(t, "testdata/events", func(t *testing.T, file string, a *txtar.Archive) {
		build, ok := builders[header(t, a.Comment, "builder")]
		if !ok {
			t.Fatalf("unknown builder")
		}
		var fx reqFixture
		dec := json.NewDecoder(bytes.NewReader(section(t, a, "request.json").Data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fx); err != nil {
			t.Fatalf("request.json: %v", err)
		}
		got, err := build(fx.request(t), fx.TargetGroupARN)
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		if !json.Valid(got) {
			t.Fatalf("invalid JSON: %s", got)
		}
		want := section(t, a, "event.json")
		if *update {
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "  "); err != nil {
				t.Fatal(err)
			}
			want.Data = append(pretty.Bytes(), '\n')
			if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if !jsonEqual(t, got, want.Data) {
			t.Errorf("event mismatch\n got: %s\nwant: %s", got, want.Data)
		}
	})
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal got: %v", err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal want: %v", err)
	}
	return reflect.DeepEqual(va, vb)
}

func TestUnwrapGolden(t *testing.T) {
	eachArchive(t, "testdata/unwrap", func(t *testing.T, file string, a *txtar.Archive) {
		unwrap, ok := unwrappers[header(t, a.Comment, "format")]
		if !ok {
			t.Fatalf("unknown format")
		}
		resp, err := unwrap(section(t, a, "payload").Data)
		got := renderResponse(t, resp, err)
		want := section(t, a, "response")
		if *update {
			want.Data = []byte(got)
			if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if got != string(want.Data) {
			t.Errorf("response mismatch\n--- got\n%s--- want\n%s", got, want.Data)
		}
	})
}

// renderResponse prints a response (or error) in the golden format: the
// status, one "Name: value" line per header value sorted by name, then the
// body Go-quoted with its length.
func renderResponse(t *testing.T, resp *Response, err error) string {
	t.Helper()
	if err != nil {
		var me *MalformedError
		if !errors.As(err, &me) {
			t.Fatalf("error is not a *MalformedError: %v", err)
		}
		return "error: " + me.Problem + "\n"
	}
	checkResponse(t, resp)
	var b strings.Builder
	fmt.Fprintf(&b, "status: %d\n", resp.StatusCode)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range resp.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintf(&b, "body (%d bytes): %s\n", len(resp.Body), strconv.Quote(string(resp.Body)))
	return b.String()
}

// eachArchive runs fn as a subtest for every txtar file in dir, which must
// hold some.
func eachArchive(t *testing.T, dir string, fn func(t *testing.T, file string, a *txtar.Archive)) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if len(files) == 0 {
		t.Fatalf("no %s files", dir)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, file, a)
		})
	}
}

// The function's Content-Length never reaches Header but is kept for a
// HEAD answer, by the fast path and by the encoding/json fallback (an
// escaped key sends the output there).
func TestUnwrapKeepsDeclaredContentLength(t *testing.T) {
	for name, unwrap := range unwrappers {
		for _, payload := range []string{
			`{"statusCode":200,"headers":{"content-length":"1234"},"multiValueHeaders":{"Content-Length":["1234"]},"body":""}`,
			`{"statusCode":200,"headers":{"content-length":"1234"},"multiValueHeaders":{"Content-Length":["1234"]},"b\u006fdy":""}`,
		} {
			resp, err := unwrap([]byte(payload))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, ok := resp.Header["Content-Length"]; ok {
				t.Errorf("%s %s: Content-Length in Header", name, payload)
			}
			if len(resp.ContentLength) == 0 || resp.ContentLength[0] != "1234" {
				t.Errorf("%s %s: ContentLength %q, want [1234]", name, payload, resp.ContentLength)
			}
		}
	}
}
