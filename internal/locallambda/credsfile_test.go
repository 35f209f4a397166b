package locallambda

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

func TestParseCredentialsFile(t *testing.T) {
	cases := []struct {
		name, in, wantErr string
	}{
		{"one key", "accessKeys:\n- accessKeyId: AKIDLOCAL\n  secretAccessKey: s3cret\n", ""},
		{"region and token", "region: eu-west-1\naccessKeys:\n- {accessKeyId: A1, secretAccessKey: s, sessionToken: t}\n", ""},
		{"json", `{"accessKeys":[{"accessKeyId":"A1","secretAccessKey":"s"}]}`, ""},
		{"empty", "", "accessKeys: list at least one key"},
		{"no keys", "accessKeys: []\n", "accessKeys: list at least one key"},
		{"unknown field", "accessKeys:\n- accessKeyId: A1\n  secretKey: s\n", "unknown field"},
		{"missing id", "accessKeys:\n- secretAccessKey: s\n", "accessKeys[0].accessKeyId"},
		{"bad id", "accessKeys:\n- {accessKeyId: 'A 1', secretAccessKey: s}\n", "letters and digits"},
		{"missing secret", "accessKeys:\n- accessKeyId: A1\n", "accessKeys[0].secretAccessKey: required"},
		{"duplicate id", "accessKeys:\n- {accessKeyId: A1, secretAccessKey: s}\n- {accessKeyId: A1, secretAccessKey: t}\n", "accessKeys[1].accessKeyId \"A1\": listed twice"},
		{"bad region", "region: mars\naccessKeys:\n- {accessKeyId: A1, secretAccessKey: s}\n", "region \"mars\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseCredentialsFile([]byte(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if f.Region == "" || len(f.AccessKeys) == 0 {
					t.Fatalf("parsed %+v", f)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestParseCredentialsFileHidesSecrets checks a rejected file's error never
// repeats a secret.
func TestParseCredentialsFileHidesSecrets(t *testing.T) {
	for _, in := range []string{
		"accessKeys:\n- {accessKeyId: 'bad id', secretAccessKey: TOPSECRET}\n",
		"accessKeys:\n- {accessKeyId: A1, secretAccessKey: TOPSECRET}\n- {accessKeyId: A1, secretAccessKey: TOPSECRET}\n",
		"region: nowhere\naccessKeys:\n- {accessKeyId: A1, secretAccessKey: TOPSECRET}\n",
	} {
		_, err := parseCredentialsFile([]byte(in))
		if err == nil || strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("err = %v, want an error without the secret", err)
		}
	}
}

func FuzzParseCredentialsFile(f *testing.F) {
	f.Add([]byte("region: us-east-1\naccessKeys:\n- {accessKeyId: A1, secretAccessKey: s, sessionToken: t}\n"))
	f.Add([]byte(`{"accessKeys":[{"accessKeyId":"A1","secretAccessKey":"s"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := parseCredentialsFile(data)
		if err != nil {
			return
		}
		if !regionRE.MatchString(cf.Region) || len(cf.AccessKeys) == 0 {
			t.Fatalf("accepted %+v", cf)
		}
		for _, k := range cf.AccessKeys {
			if k.AccessKeyID == "" || k.SecretAccessKey == "" {
				t.Fatalf("accepted key %+v", k)
			}
		}
	})
}

// TestCredentialsFileChecksSignatures serves with a credentials file and
// calls with the right key, a wrong secret, an unknown key and a missing
// session token.
func TestCredentialsFileChecksSignatures(t *testing.T) {
	dir := t.TempDir()
	writeFunction(t, dir, "probe", map[string]string{"index.js": "exports.handler = async () => 'ok';\n"})
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	if err := os.WriteFile(path, []byte("region: eu-west-1\naccessKeys:\n- {accessKeyId: AKIDLOCAL, secretAccessKey: local-secret}\n- {accessKeyId: AKIDTOKEN, secretAccessKey: other-secret, sessionToken: tok}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{Dir: dir}
	if err := LoadCredentialsFile(path, &opts); err != nil {
		t.Fatal(err)
	}
	env := startServer(t, opts)
	client := func(key, secret, token string) *lambda.Client {
		cfg := aws.Config{
			Region:      "eu-west-1",
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, token),
			Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		}
		return lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(env.url) })
	}
	cases := []struct {
		name, key, secret, token, wantCode string
	}{
		{"right key", "AKIDLOCAL", "local-secret", "", ""},
		{"right key and token", "AKIDTOKEN", "other-secret", "tok", ""},
		{"wrong secret", "AKIDLOCAL", "wrong-secret", "", "InvalidSignatureException"},
		{"unknown key", "AKIDOTHER", "local-secret", "", "UnrecognizedClientException"},
		{"missing token", "AKIDTOKEN", "other-secret", "", "UnrecognizedClientException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client(tc.key, tc.secret, tc.token).GetFunction(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String("probe")})
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("GetFunction: %v", err)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.wantCode {
				t.Fatalf("err = %v, want %s", err, tc.wantCode)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		err := LoadCredentialsFile(filepath.Join(t.TempDir(), "nope.yaml"), &Options{})
		if err == nil || !strings.Contains(err.Error(), "credentials file") {
			t.Fatalf("err = %v", err)
		}
	})
}
