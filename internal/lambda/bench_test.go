package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// BenchmarkSign signs an Invoke request the way Invoker.once does, with the
// SDK's SigV4 signer (cached per key; the signing key is cached by the SDK
// per day).
func BenchmarkSign(b *testing.B) {
	t := &Target{FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:bench", Qualifier: "live", Region: "us-east-1",
		Endpoint: &url.URL{Scheme: "https", Host: "lambda.us-east-1.amazonaws.com"}}
	t.Prepare()
	creds := aws.Credentials{AccessKeyID: "AKIDBENCHMARK", SecretAccessKey: "benchmark-secret-key", SessionToken: "token"}
	payload := []byte(`{"hello":"world","n":42}`)
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	iv := NewInvoker(Options{})
	now := time.Now()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		u := *t.invokeURL
		req := &http.Request{Method: http.MethodPost, URL: &u, Host: t.host, Header: make(http.Header, 8), ContentLength: int64(len(payload))}
		req.Header["X-Amz-Invocation-Type"] = []string{"RequestResponse"}
		if err := iv.signer(creds).SignHTTP(ctx, creds, req, hash, "lambda", t.Region, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCredentials is the per-request credentials lookup of a static
// (secret-backed) upstream.
func BenchmarkCredentials(b *testing.B) {
	p := aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKID", "secret", ""))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
