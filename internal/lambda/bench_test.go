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
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// BenchmarkSign signs an Invoke request the way Invoker.once does: "sdk"
// with the SDK's v4.Signer (one per key, its signing key cached per day),
// "lambdagate" with the invoker's own signer (sigv4.go), which must pay for
// itself here to be used.
func BenchmarkSign(b *testing.B) {
	t := &Target{FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:bench", Qualifier: "live", Region: "us-east-1",
		Endpoint: &url.URL{Scheme: "https", Host: "lambda.us-east-1.amazonaws.com"}}
	t.Prepare()
	creds := aws.Credentials{AccessKeyID: "AKIDBENCHMARK", SecretAccessKey: "benchmark-secret-key", SessionToken: "token"}
	payload := []byte(`{"hello":"world","n":42}`)
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	now := time.Now()
	ctx := context.Background()
	newReq := func() *http.Request {
		u := *t.invokeURL
		req := &http.Request{Method: http.MethodPost, URL: &u, Host: t.host, Header: make(http.Header, 8), ContentLength: int64(len(payload))}
		req.Header["X-Amz-Invocation-Type"] = []string{"RequestResponse"}
		return req
	}
	b.Run("sdk", func(b *testing.B) {
		s := v4.NewSigner()
		b.ReportAllocs()
		for b.Loop() {
			if err := s.SignHTTP(ctx, creds, newReq(), hash, "lambda", t.Region, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lambdagate", func(b *testing.B) {
		var s sigv4
		b.ReportAllocs()
		for b.Loop() {
			s.sign(newReq(), t, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, hash, now)
		}
	})
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
