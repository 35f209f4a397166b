package locallambda

import (
	"strings"
	"testing"
)

func TestParseFunctionRef(t *testing.T) {
	cases := []struct {
		name, in, wantName, wantQual, wantErr string
	}{
		{"name", "echo", "echo", "", ""},
		{"name with qualifier", "echo:live", "echo", "live", ""},
		{"full ARN", "arn:aws:lambda:us-east-1:123456789012:function:echo", "echo", "", ""},
		{"full ARN with version", "arn:aws:lambda:us-east-1:123456789012:function:echo:7", "echo", "7", ""},
		{"china partition", "arn:aws-cn:lambda:cn-north-1:123456789012:function:echo", "echo", "", ""},
		{"partial ARN", "123456789012:function:echo", "echo", "", ""},
		{"partial ARN with alias", "123456789012:function:echo:prod", "echo", "prod", ""},
		{"empty", "", "", "", "must not be empty"},
		{"empty qualifier", "echo:", "", "", "empty qualifier"},
		{"too many parts", "a:b:c", "", "", "want name or name:qualifier"},
		{"wrong service", "arn:aws:s3:us-east-1:123456789012:function:echo", "", "", "want arn:aws:lambda"},
		{"layer ARN", "arn:aws:lambda:us-east-1:123456789012:layer:echo", "", "", "want arn:aws:lambda"},
		{"bad name", "ec ho", "", "", "must match"},
		{"long name", strings.Repeat("a", 65), "", "", "must match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFunctionRef(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.wantName || got.Qualifier != tc.wantQual {
				t.Fatalf("got %+v, want name %q qualifier %q", got, tc.wantName, tc.wantQual)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	cases := []struct {
		name, in, wantErr string
	}{
		{"valid", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig, ""},
		{"valid without spaces", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request,SignedHeaders=host,Signature=" + sig, ""},
		{"other algorithm", "AWS4-HMAC-SHA512 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=" + sig, "algorithm"},
		{"missing signature", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host", "exactly"},
		{"short scope", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/aws4_request, SignedHeaders=host, Signature=" + sig, "credential"},
		{"bad date", "AWS4-HMAC-SHA256 Credential=AKID/2024-01-01/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=" + sig, "credential"},
		{"uppercase header", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=Host, Signature=" + sig, "signed headers"},
		{"host not signed", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=x-amz-date, Signature=" + sig, "include host"},
		{"short signature", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=abc", "64 lowercase hex"},
		{"repeated component", "AWS4-HMAC-SHA256 Credential=A/20240101/r/lambda/aws4_request, Credential=A/20240101/r/lambda/aws4_request, SignedHeaders=host, Signature=" + sig, "repeated"},
		{"not key=value", "AWS4-HMAC-SHA256 Credential", "key=value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseAuthorization(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.AccessKeyID != "AKID" || a.Region != "us-east-1" || a.Service != "lambda" || a.Signature != sig {
				t.Fatalf("parsed %+v", a)
			}
		})
	}
}

func TestParseManifest(t *testing.T) {
	cases := []struct {
		name, in, wantErr string
	}{
		{"empty", "", ""},
		{"full", "runtime: nodejs\nhandler: app.main\ntimeout: 10\nmemorySize: 1024\nreservedConcurrency: 2\nenvironment: {A: b}\nversions: [{version: 1}]\naliases: {prod: \"1\"}\n", ""},
		{"json", `{"runtime":"go","timeout":1}`, ""},
		{"unknown field", "timout: 3\n", "unknown field"},
		{"bad runtime", "runtime: python3.12\n", "allowed values are nodejs, provided, go"},
		{"timeout too long", "timeout: 901\n", "between 1 and 900"},
		{"negative timeout", "timeout: -1\n", "between 1 and 900"},
		{"memory too small", "memorySize: 64\n", "between 128 and 10240"},
		{"negative concurrency", "reservedConcurrency: -1\n", "reservedConcurrency -1"},
		{"reserved env", "environment: {AWS_LAMBDA_RUNTIME_API: x}\n", "reserved"},
		{"credential env", "environment: {AWS_SECRET_ACCESS_KEY: x}\n", "reserved"},
		{"duplicate version", "versions: [{version: 1}, {version: 1}]\n", "listed twice"},
		{"zero version", "versions: [{version: 0}]\n", "positive integer"},
		{"alias to missing version", "versions: [{version: 1}]\naliases: {prod: \"2\"}\n", "aliases.prod"},
		{"numeric alias", "versions: [{version: 1}]\naliases: {\"5\": \"1\"}\n", "not be a version number"},
		{"alias to latest", "aliases: {dev: $LATEST}\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseManifest([]byte(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSplitAPIPath(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
		ok       bool
	}{
		{"list", "/2015-03-31/functions/", nil, true},
		{"list without slash", "/2015-03-31/functions", nil, true},
		{"invoke", "/2015-03-31/functions/echo/invocations", []string{"echo", "invocations"}, true},
		{"escaped ARN", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Aecho/invocations", []string{"arn:aws:lambda:us-east-1:000000000000:function:echo", "invocations"}, true},
		{"escaped slash stays in segment", "/2015-03-31/functions/a%2Fb/invocations", []string{"a/b", "invocations"}, true},
		{"other prefix", "/2015-03-31/functionsx", nil, false},
		{"bad escape", "/2015-03-31/functions/%zz", nil, false},
		{"empty segment", "/2015-03-31/functions/a//b", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := splitAPIPath(tc.in)
			if ok != tc.ok || strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseFunctionRef(f *testing.F) {
	for _, s := range []string{"echo", "echo:1", "arn:aws:lambda:us-east-1:000000000000:function:echo:live", "1:function:x", "::", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := parseFunctionRef(s)
		if err != nil {
			return
		}
		if !functionNameRE.MatchString(ref.Name) || strings.Contains(ref.Qualifier, ":") {
			t.Fatalf("accepted %q as %+v", s, ref)
		}
	})
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64))
	f.Add("AWS4-HMAC-SHA256 ,,,===")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAuthorization(s)
		if err != nil {
			return
		}
		if len(a.Signature) != 64 || a.AccessKeyID == "" || len(a.SignedHeaders) == 0 {
			t.Fatalf("accepted %q as %+v", s, a)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("runtime: nodejs\ntimeout: 3\nversions: [{version: 1}]\naliases: {a: \"1\"}\n"))
	f.Add([]byte(`{"environment":{"A":"b"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b)
		if err != nil {
			return
		}
		if m.Timeout < 0 || m.Timeout > 900 {
			t.Fatalf("accepted timeout %d", m.Timeout)
		}
	})
}

func FuzzSplitAPIPath(f *testing.F) {
	f.Add("/2015-03-31/functions/echo/invocations")
	f.Add("/2015-03-31/functions/a%3Ab/aliases/x")
	f.Fuzz(func(t *testing.T, s string) {
		segs, ok := splitAPIPath(s)
		if !ok {
			return
		}
		for _, seg := range segs {
			if seg == "" {
				t.Fatalf("empty segment from %q", s)
			}
		}
	})
}
