package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLambdaServeCredentialsFile runs `lambda serve --credentials-file` and
// checks the right key passes while a wrong secret and an unknown key get
// AWS's 403 answers.
func TestLambdaServeCredentialsFile(t *testing.T) {
	work := t.TempDir()
	fnDir := filepath.Join(work, "functions", "echo")
	if err := os.MkdirAll(fnDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fnDir, "index.js"), []byte("exports.handler = async (e) => e;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(work, "keys.yaml")
	if err := os.WriteFile(creds, []byte("accessKeys:\n- accessKeyId: AKIDLOCAL\n  secretAccessKey: local-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--data-dir", filepath.Join(work, "data"), "lambda", "serve", "--dir", filepath.Join(work, "functions"), "--addr", "127.0.0.1:0", "--credentials-file", creds}, strings.NewReader(""), &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("lambda serve did not stop")
		}
	})
	urlRE := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("lambda serve printed no address; stdout %q stderr %q", out.String(), errOut.String())
		}
	}
	cases := []struct{ name, key, secret, wantCode string }{
		{"right key", "AKIDLOCAL", "local-secret", ""},
		{"wrong secret", "AKIDLOCAL", "wrong", "InvalidSignatureException"},
		{"unknown key", "AKIDOTHER", "local-secret", "UnrecognizedClientException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := awslambda.NewFromConfig(aws.Config{
				Region:      "us-east-1",
				Credentials: credentials.NewStaticCredentialsProvider(tc.key, tc.secret, ""),
				Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
			}, func(o *awslambda.Options) { o.BaseEndpoint = aws.String(url) })
			_, err := c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("echo")})
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
}

// TestLocalLambdaCredentialsFileErrors checks both commands refuse a bad
// credentials file with a message naming the file and the field.
func TestLocalLambdaCredentialsFileErrors(t *testing.T) {
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "functions"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(work, "keys.yaml")
	if err := os.WriteFile(bad, []byte("accessKeys:\n- accessKeyId: AKIDLOCAL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"lambda", "serve", "--dir", filepath.Join(work, "functions"), "--addr", "127.0.0.1:0", "--credentials-file", bad},
		{"serve", "--local-lambda", filepath.Join(work, "functions"), "--local-lambda-addr", "127.0.0.1:0", "--local-lambda-credentials-file", bad, "--http-addr", "127.0.0.1:0", "--https-addr", "", "--admin-addr", "127.0.0.1:0"},
	} {
		t.Run(args[0], func(t *testing.T) {
			_, errOut, code := runCLI(t, filepath.Join(work, "data-"+args[0]), args...)
			if code == 0 || !strings.Contains(errOut, bad) || !strings.Contains(errOut, "accessKeys[0].secretAccessKey: required") {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
		})
	}
}
