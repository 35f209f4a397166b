package locallambda

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

func TestListFunctionsPagination(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 120 {
		name := fmt.Sprintf("fn-%03d", i)
		want = append(want, name)
		files := map[string]string{"index.js": "exports.handler = async (e) => e;\n"}
		if i%40 == 0 {
			files["function.yaml"] = "versions:\n  - version: 1\n  - version: 2\n"
		}
		writeFunction(t, dir, name, files)
	}
	// Not functions: ignored, or reported without hiding the others.
	writeFunction(t, dir, "notes", map[string]string{"README.md": "not a function"})
	writeFunction(t, dir, "bad", map[string]string{"index.js": "", "function.yaml": "timeout: 901\n"})
	env := startServer(t, Options{Dir: dir})

	t.Run("latest only", func(t *testing.T) {
		var got []string
		var pages []int
		p := lambda.NewListFunctionsPaginator(env.client, &lambda.ListFunctionsInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, len(out.Functions))
			for _, f := range out.Functions {
				got = append(got, aws.ToString(f.FunctionName))
				if aws.ToString(f.Version) != "$LATEST" {
					t.Errorf("%s: version %q in a $LATEST listing", aws.ToString(f.FunctionName), aws.ToString(f.Version))
				}
			}
			if len(pages) > 10 {
				t.Fatal("paginator does not end")
			}
		}
		if fmt.Sprint(pages) != "[50 50 20]" {
			t.Errorf("page sizes = %v, want [50 50 20]", pages)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("functions = %v, want %v", got, want)
		}
	})

	t.Run("all versions, small pages", func(t *testing.T) {
		var got []string
		p := lambda.NewListFunctionsPaginator(env.client, &lambda.ListFunctionsInput{FunctionVersion: types.FunctionVersionAll, MaxItems: aws.Int32(7)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Functions) > 7 {
				t.Fatalf("page of %d, want at most 7", len(out.Functions))
			}
			for _, f := range out.Functions {
				got = append(got, aws.ToString(f.FunctionArn))
			}
		}
		if len(got) != 126 {
			t.Fatalf("got %d entries, want 120 + 3*2 versions", len(got))
		}
		for _, want := range []string{"arn:aws:lambda:us-east-1:000000000000:function:fn-040:1", "arn:aws:lambda:us-east-1:000000000000:function:fn-080:2"} {
			if !contains(got, want) {
				t.Errorf("listing lacks %s", want)
			}
		}
	})

	t.Run("MaxItems over 50 is capped", func(t *testing.T) {
		out, err := env.client.ListFunctions(ctxT(t), &lambda.ListFunctionsInput{MaxItems: aws.Int32(1000)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Functions) != 50 || out.NextMarker == nil {
			t.Fatalf("got %d functions, NextMarker %v; want 50 and a marker", len(out.Functions), out.NextMarker)
		}
	})

	t.Run("bad marker", func(t *testing.T) {
		_, err := env.client.ListFunctions(ctxT(t), &lambda.ListFunctionsInput{Marker: aws.String("%%%")})
		var e *types.InvalidParameterValueException
		if !errors.As(err, &e) {
			t.Fatalf("err = %v, want InvalidParameterValueException", err)
		}
	})

	t.Run("broken folder reported", func(t *testing.T) {
		if err := env.srv.Problems()["bad"]; err == nil || !strings.Contains(err.Error(), "timeout 901") {
			t.Errorf("Problems()[bad] = %v, want the timeout error", err)
		}
		if _, ok := env.srv.Problems()["notes"]; ok {
			t.Errorf("a folder without code is reported as a problem")
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func describedFunctions(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFunction(t, dir, "desc", map[string]string{
		"index.js": "exports.handler = async (e) => e;\n",
		"function.yaml": `description: described
timeout: 30
memorySize: 512
reservedConcurrency: 4
environment:
  A: "1"
versions:
  - version: 1
    description: first release
  - version: 3
aliases:
  prod: "1"
  beta: "3"
  dev: $LATEST
`,
	})
	// Fixed mtimes make LastModified and RevisionId reproducible.
	fixed := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, f := range []string{"index.js", "function.yaml"} {
		if err := os.Chtimes(filepath.Join(dir, "desc", f), fixed, fixed); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestGetFunction(t *testing.T) {
	env := startServer(t, Options{Dir: describedFunctions(t)})
	ctx := ctxT(t)
	cases := []struct {
		name, qualifier, wantVersion, wantARN, wantDesc string
	}{
		{"latest", "", "$LATEST", "arn:aws:lambda:us-east-1:000000000000:function:desc", "described"},
		{"version", "1", "1", "arn:aws:lambda:us-east-1:000000000000:function:desc:1", "first release"},
		{"alias", "beta", "3", "arn:aws:lambda:us-east-1:000000000000:function:desc:3", "described"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &lambda.GetFunctionInput{FunctionName: aws.String("desc")}
			if tc.qualifier != "" {
				in.Qualifier = aws.String(tc.qualifier)
			}
			out, err := env.client.GetFunction(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			c := out.Configuration
			if aws.ToString(c.FunctionName) != "desc" || aws.ToString(c.Version) != tc.wantVersion || aws.ToString(c.FunctionArn) != tc.wantARN || aws.ToString(c.Description) != tc.wantDesc {
				t.Errorf("configuration name/version/arn/description = %s/%s/%s/%s", aws.ToString(c.FunctionName), aws.ToString(c.Version), aws.ToString(c.FunctionArn), aws.ToString(c.Description))
			}
			if c.Runtime != types.RuntimeNodejs20x || aws.ToString(c.Handler) != "index.handler" || aws.ToInt32(c.Timeout) != 30 || aws.ToInt32(c.MemorySize) != 512 {
				t.Errorf("runtime/handler/timeout/memory = %s/%s/%d/%d", c.Runtime, aws.ToString(c.Handler), aws.ToInt32(c.Timeout), aws.ToInt32(c.MemorySize))
			}
			if aws.ToString(c.LastModified) != "2024-05-06T07:08:09.000+0000" {
				t.Errorf("LastModified = %s", aws.ToString(c.LastModified))
			}
			if c.Environment == nil || c.Environment.Variables["A"] != "1" {
				t.Errorf("Environment = %+v", c.Environment)
			}
			if out.Concurrency == nil || aws.ToInt32(out.Concurrency.ReservedConcurrentExecutions) != 4 {
				t.Errorf("Concurrency = %+v", out.Concurrency)
			}
			if out.Code == nil || !strings.HasPrefix(aws.ToString(out.Code.Location), "file://") {
				t.Errorf("Code = %+v", out.Code)
			}
		})
	}
}

// TestGetFunctionConfigurationGolden pins the raw JSON shape.
func TestGetFunctionConfigurationGolden(t *testing.T) {
	env := startServer(t, Options{Dir: describedFunctions(t)})
	resp := signedRequest(t, env.url, http.MethodGet, "/2015-03-31/functions/desc/configuration?Qualifier=prod", nil, "k", "s", time.Now())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "golden", "get_function_configuration.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("GetFunctionConfiguration JSON differs from %s (run with -update after checking):\ngot:\n%s\nwant:\n%s", golden, pretty.Bytes(), want)
	}
}

func TestListVersionsAndAliases(t *testing.T) {
	env := startServer(t, Options{Dir: describedFunctions(t)})
	ctx := ctxT(t)

	vout, err := env.client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:desc")})
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, v := range vout.Versions {
		versions = append(versions, aws.ToString(v.Version))
	}
	if fmt.Sprint(versions) != "[$LATEST 1 3]" {
		t.Errorf("versions = %v, want [$LATEST 1 3]", versions)
	}

	cases := []struct {
		name    string
		version string
		want    string
	}{
		{"all", "", "[beta=3 dev=$LATEST prod=1]"},
		{"filtered", "1", "[prod=1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &lambda.ListAliasesInput{FunctionName: aws.String("desc")}
			if tc.version != "" {
				in.FunctionVersion = aws.String(tc.version)
			}
			out, err := env.client.ListAliases(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range out.Aliases {
				got = append(got, aws.ToString(a.Name)+"="+aws.ToString(a.FunctionVersion))
				if want := "arn:aws:lambda:us-east-1:000000000000:function:desc:" + aws.ToString(a.Name); aws.ToString(a.AliasArn) != want {
					t.Errorf("AliasArn = %s, want %s", aws.ToString(a.AliasArn), want)
				}
			}
			sort.Strings(got)
			if fmt.Sprint(got) != tc.want {
				t.Errorf("aliases = %v, want %s", got, tc.want)
			}
		})
	}

	t.Run("alias pagination", func(t *testing.T) {
		var got []string
		p := lambda.NewListAliasesPaginator(env.client, &lambda.ListAliasesInput{FunctionName: aws.String("desc"), MaxItems: aws.Int32(1)})
		for i := 0; p.HasMorePages() && i < 10; i++ {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range out.Aliases {
				got = append(got, aws.ToString(a.Name))
			}
		}
		if fmt.Sprint(got) != "[beta dev prod]" {
			t.Errorf("paged aliases = %v", got)
		}
	})

	t.Run("GetAlias", func(t *testing.T) {
		out, err := env.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("desc"), Name: aws.String("prod")})
		if err != nil || aws.ToString(out.FunctionVersion) != "1" {
			t.Fatalf("GetAlias = %+v, %v", out, err)
		}
	})
}

// signedRequest sends a request signed with the SDK signer at signTime.
func signedRequest(t *testing.T, base, method, path string, body []byte, key, secret string, signTime time.Time) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", signTime); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestUnknownRoute(t *testing.T) {
	env := startServer(t, Options{Dir: t.TempDir()})
	cases := []struct{ method, path string }{
		{http.MethodGet, "/2015-03-31/functions/x/policy"},
		{http.MethodDelete, "/2015-03-31/functions/x"},
		{http.MethodGet, "/2018-10-31/layers"},
		{http.MethodGet, "/"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp := signedRequest(t, env.url, tc.method, tc.path, nil, "k", "s", time.Now())
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
				t.Fatalf("status %d type %q body %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
			}
			var e map[string]string
			if json.Unmarshal(body, &e) != nil || e["Type"] != "User" || e["Message"] == "" {
				t.Errorf("body = %s", body)
			}
		})
	}
}

func TestSignatureVerification(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "echo", map[string]string{"index.js": "exports.handler = async (e) => e;\n"})

	t.Run("lenient by default", func(t *testing.T) {
		env := startServer(t, Options{Dir: dir})
		if _, err := newClient(env.url, "anything", "at-all").ListFunctions(ctxT(t), &lambda.ListFunctionsInput{}); err != nil {
			t.Fatalf("placeholder keys rejected: %v", err)
		}
		resp, err := http.Get(env.url + "/2015-03-31/functions/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
			t.Errorf("unsigned request: status %d type %q, want 403 MissingAuthenticationTokenException", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})

	env := startServer(t, Options{Dir: dir, Credentials: map[string]string{"AKIDGOOD": "good-secret"}})
	arn := "arn:aws:lambda:us-east-1:000000000000:function:echo"
	cases := []struct {
		name     string
		key      string
		secret   string
		function string
		wantCode string // "" = success
	}{
		{"right key", "AKIDGOOD", "good-secret", "echo", ""},
		{"right key, ARN path needs double encoding", "AKIDGOOD", "good-secret", arn, ""},
		{"right key, qualified ARN", "AKIDGOOD", "good-secret", arn + ":$LATEST", ""},
		{"wrong secret", "AKIDGOOD", "bad-secret", "echo", "InvalidSignatureException"},
		{"unknown key", "AKIDOTHER", "good-secret", "echo", "UnrecognizedClientException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(env.url, tc.key, tc.secret)
			out, err := c.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String(tc.function), Payload: []byte(`{"a":1}`)})
			if tc.wantCode == "" {
				if err != nil || string(out.Payload) != `{"a":1}` {
					t.Fatalf("err %v", err)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.wantCode {
				t.Fatalf("err = %v, want %s", err, tc.wantCode)
			}
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) && re.HTTPStatusCode() != 403 {
				t.Errorf("status = %d, want 403", re.HTTPStatusCode())
			}
		})
	}

	skew := []struct {
		name  string
		shift time.Duration
		want  int
	}{
		{"now", 0, 200},
		{"4 minutes old", -4 * time.Minute, 200},
		{"10 minutes old", -10 * time.Minute, 403},
		{"10 minutes ahead", 10 * time.Minute, 403},
	}
	for _, tc := range skew {
		t.Run("date "+tc.name, func(t *testing.T) {
			resp := signedRequest(t, env.url, http.MethodGet, "/2015-03-31/functions/", nil, "AKIDGOOD", "good-secret", time.Now().Add(tc.shift))
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.want)
			}
			if tc.want == 403 && resp.Header.Get("X-Amzn-ErrorType") != "InvalidSignatureException" {
				t.Errorf("type %q, want InvalidSignatureException", resp.Header.Get("X-Amzn-ErrorType"))
			}
		})
	}

	t.Run("tampered body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, env.url+"/2015-03-31/functions/echo/invocations", strings.NewReader(`{"a":1}`))
		sum := sha256.Sum256([]byte(`{"a":1}`))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDGOOD", SecretAccessKey: "good-secret"}, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		req.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
	})
}
